//! The checks after a campaign, faults healed: every client's directory
//! holds exactly its model (names left open by an unknown outcome in one
//! of their two allowed states), and the UFS holds exactly the persisted
//! entries of the namespace, byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use alluxio_client::FileSystem;
use alluxio_proto::FileType;

use super::model::{Node, State};
use super::workload::ClientRun;

/// An entry as the cluster holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actual {
    pub node: Node,
    pub completed: bool,
    pub persisted: bool,
}

/// What directory `root` holds, read through `fs`.
pub async fn read_dir(fs: &FileSystem, root: &str) -> Result<BTreeMap<String, Actual>, String> {
    let mut out = BTreeMap::new();
    let listing = fs
        .list_status(root, false)
        .await
        .map_err(|e| format!("listing {root}: {e}"))?;
    for info in listing {
        let mode = info.mode & 0o7777;
        let node = if info.file_type == FileType::Directory as i32 {
            Node::Dir { mode }
        } else {
            let data = if info.completed {
                let mut input = fs
                    .open_file(&info.path)
                    .await
                    .map_err(|e| format!("opening {}: {e}", info.path))?;
                input
                    .read_to_end()
                    .await
                    .map_err(|e| format!("reading {}: {e}", info.path))?
                    .to_vec()
            } else {
                Vec::new()
            };
            Node::File { data, mode }
        };
        out.insert(
            info.name.clone(),
            Actual {
                node,
                completed: info.completed,
                persisted: info.persisted,
            },
        );
    }
    Ok(out)
}

fn describe(n: Option<&Node>) -> String {
    match n {
        None => "absent".into(),
        Some(Node::Dir { mode }) => format!("directory {mode:o}"),
        Some(Node::File { data, mode }) => format!("file {mode:o} of {} bytes", data.len()),
    }
}

/// Compares what the cluster holds for `run`'s directory with its model,
/// once no file is incomplete (the master ended the versions whose writer
/// was killed or gave up: `alluxio.master.incomplete.file.timeout`).
pub fn compare(run: &ClientRun, actual: &BTreeMap<String, Actual>) -> Vec<String> {
    let mut anomalies = Vec::new();
    let frozen = run.frozen();
    let nodes: State = actual
        .iter()
        .map(|(k, v)| (k.clone(), v.node.clone()))
        .collect();
    let names: std::collections::BTreeSet<&String> =
        run.model.keys().chain(actual.keys()).collect();
    for name in names {
        if frozen.contains(name) {
            continue;
        }
        let (want, got) = (run.model.get(name), nodes.get(name));
        if want != got {
            anomalies.push(format!(
                "{}/{name}: acknowledged {}, holds {}",
                run.root,
                describe(want),
                describe(got)
            ));
        }
    }
    for (name, a) in actual {
        if !a.completed {
            anomalies.push(format!("{}/{name}: still incomplete", run.root));
        }
    }
    for u in &run.uncertain {
        let got: State = u
            .names
            .iter()
            .filter_map(|n| nodes.get(n).map(|v| (n.clone(), v.clone())))
            .collect();
        // A program's write through FUSE opens with O_CREAT|O_TRUNC first:
        // cut off after that, it leaves the file empty (as a local file
        // system would when the writer dies between open and write). A
        // library write that created the file and was cut off before
        // completing it leaves it empty once the master ends its version;
        // one that replaced a file leaves that file (its UFS object stays
        // until the new version completes).
        let truncated: State = u
            .after
            .iter()
            .map(|(k, v)| match v {
                Node::File { mode, .. } => (
                    k.clone(),
                    Node::File {
                        data: Vec::new(),
                        mode: *mode,
                    },
                ),
                other => (k.clone(), other.clone()),
            })
            .collect();
        let truncated_write = match &u.op {
            super::model::Op::Write { name, .. } => run.fuse || !u.before.contains_key(name),
            _ => false,
        };
        if got != u.before && got != u.after && !(truncated_write && got == truncated) {
            anomalies.push(format!(
                "{}: after {:?} with an unknown outcome, {:?} hold {:?}: neither the state \
                 before ({:?}) nor after",
                run.root,
                u.op,
                u.names,
                got.iter()
                    .map(|(k, v)| (k, describe(Some(v))))
                    .collect::<Vec<_>>(),
                u.before
                    .iter()
                    .map(|(k, v)| (k, describe(Some(v))))
                    .collect::<Vec<_>>(),
            ));
        }
    }
    anomalies
}

/// The UFS folder `ufs_root` holds, under `rel` (a client's directory),
/// exactly the persisted entries of `actual`, each file with its bytes.
/// Staging objects of writes cut short are counted, not reported.
pub fn compare_ufs(
    ufs_root: &Path,
    rel: &str,
    actual: &BTreeMap<String, Actual>,
) -> (Vec<String>, usize) {
    let mut anomalies = Vec::new();
    let mut staged = 0;
    let dir = ufs_root.join(rel.trim_start_matches('/'));
    let mut in_ufs = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains(".alluxio-tmp") {
                staged += 1;
                continue;
            }
            in_ufs.insert(name, e.path());
        }
    }
    for (name, a) in actual {
        if !a.persisted {
            continue;
        }
        match (in_ufs.remove(name), &a.node) {
            (None, _) => anomalies.push(format!("{rel}/{name}: persisted but not in the UFS")),
            (Some(p), Node::Dir { .. }) if !p.is_dir() => {
                anomalies.push(format!("{rel}/{name}: a directory, not one in the UFS"))
            }
            (Some(p), Node::File { data, .. }) if a.completed => {
                let stored = std::fs::read(&p).unwrap_or_default();
                if stored != *data {
                    anomalies.push(format!(
                        "{rel}/{name}: the UFS holds {} other bytes than the file's {}",
                        stored.len(),
                        data.len()
                    ));
                }
            }
            _ => {}
        }
    }
    for name in in_ufs.keys() {
        if !actual.contains_key(name) {
            anomalies.push(format!("{rel}/{name}: in the UFS, not in the namespace"));
        }
    }
    (anomalies, staged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::model::Op;
    use crate::campaign::workload::Uncertain;

    fn file(data: &[u8]) -> Node {
        Node::File {
            data: data.to_vec(),
            mode: 0o644,
        }
    }

    fn held(nodes: &[(&str, Node)]) -> BTreeMap<String, Actual> {
        nodes
            .iter()
            .map(|(k, n)| {
                (
                    k.to_string(),
                    Actual {
                        node: n.clone(),
                        completed: true,
                        persisted: true,
                    },
                )
            })
            .collect()
    }

    fn client(model: &[(&str, Node)], uncertain: Vec<Uncertain>) -> ClientRun {
        ClientRun {
            name: "c".into(),
            root: "/c".into(),
            keeps_inode: false,
            fuse: false,
            model: model
                .iter()
                .map(|(k, n)| (k.to_string(), n.clone()))
                .collect(),
            uncertain,
            events: Vec::new(),
            anomalies: Vec::new(),
        }
    }

    #[test]
    fn lost_changed_and_extra_entries_are_reported() {
        let run = client(&[("a", file(b"1")), ("b", file(b"2"))], Vec::new());
        assert!(compare(&run, &held(&[("a", file(b"1")), ("b", file(b"2"))])).is_empty());
        let found = compare(&run, &held(&[("a", file(b"x")), ("z", file(b"2"))]));
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn an_unknown_outcome_allows_before_or_after_only() {
        let rename = Op::Rename {
            from: "a".into(),
            to: "b".into(),
        };
        let before = client(&[("a", file(b"1"))], Vec::new());
        let u = Uncertain {
            op: rename.clone(),
            names: vec!["a".into(), "b".into()],
            before: before.model.clone(),
            after: rename.apply(&before.model, false),
        };
        let run = client(&[("a", file(b"1"))], vec![u]);
        assert!(compare(&run, &held(&[("a", file(b"1"))])).is_empty());
        assert!(compare(&run, &held(&[("b", file(b"1"))])).is_empty());
        // Both names, or neither: the rename happened half, or twice.
        assert_eq!(
            compare(&run, &held(&[("a", file(b"1")), ("b", file(b"1"))])).len(),
            1
        );
        assert_eq!(compare(&run, &held(&[])).len(), 1);
    }

    #[test]
    fn a_write_cut_off_may_leave_the_file_it_created_empty_never_one_it_replaced() {
        let write = Op::Write {
            name: "a".into(),
            seed: 1,
            len: 3,
        };
        let uncertain = |before: &ClientRun| Uncertain {
            op: write.clone(),
            names: vec!["a".into()],
            before: before.model.clone(),
            after: write.apply(&before.model, false),
        };
        let new = client(&[], Vec::new());
        let run = client(&[], vec![uncertain(&new)]);
        assert!(compare(&run, &held(&[("a", file(b""))])).is_empty());
        let old = client(&[("a", file(b"1"))], Vec::new());
        let run = client(&[("a", file(b"1"))], vec![uncertain(&old)]);
        assert!(compare(&run, &held(&[("a", file(b"1"))])).is_empty());
        assert_eq!(compare(&run, &held(&[("a", file(b""))])).len(), 1);
    }

    #[test]
    fn a_file_left_incomplete_is_reported() {
        let run = client(&[("a", file(b""))], Vec::new());
        let mut actual = held(&[("a", file(b""))]);
        actual.get_mut("a").unwrap().completed = false;
        assert_eq!(compare(&run, &actual).len(), 1);
    }

    #[test]
    fn the_ufs_must_hold_exactly_the_persisted_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("c")).unwrap();
        std::fs::write(dir.path().join("c/a"), b"1").unwrap();
        std::fs::write(dir.path().join("c/old"), b"9").unwrap();
        std::fs::write(dir.path().join("c/.x.alluxio-tmp"), b"").unwrap();
        let (found, staged) = compare_ufs(
            dir.path(),
            "/c",
            &held(&[("a", file(b"2")), ("b", file(b"3"))]),
        );
        assert_eq!(staged, 1);
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
