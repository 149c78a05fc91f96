//! Journal behaviour in-process: group commit, fencing of a second writer,
//! replay equality, checkpoints with garbage collection, and corruption
//! reports naming file and offset.

use std::sync::{Arc, RwLock};

use alluxio_master::checkpointer::checkpoint_now;
use alluxio_master::journal::reader::read_batch;
use alluxio_master::journal::{format, log_name, JournalError, JournalStore, JournalWriter};
use alluxio_master::namespace::Namespace;
use alluxio_master::recovery::recover;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{CreateInode, InodeRecord, JournalEntry, TermStart};
use alluxio_proto::FileType;

fn term_start(term: u64) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::TermStart(TermStart {
            term,
            address: "test".into(),
            time_ms: 0,
        })),
    }
}

fn dir(id: u64, parent: u64, name: &str) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::CreateInode(CreateInode {
            inode: Some(InodeRecord {
                id,
                parent_id: parent,
                name: name.into(),
                file_type: FileType::Directory as i32,
                nlink: 1,
                mode: 0o755,
                persisted: true,
                ..Default::default()
            }),
        })),
    }
}

async fn formatted() -> (tempfile::TempDir, JournalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
    format::format(&store).await.unwrap();
    (dir, store)
}

/// Applies and journals `entries` like the master does.
async fn commit(
    ns: &RwLock<Namespace>,
    w: &JournalWriter,
    entries: Vec<JournalEntry>,
) -> Result<(), JournalError> {
    let fut = {
        let mut ns = ns.write().unwrap();
        let first = ns.last_seq() + 1;
        for (i, e) in entries.iter().enumerate() {
            ns.apply(first + i as u64, w.term(), e).unwrap();
        }
        w.append(first, entries)
    };
    fut.await
}

fn snapshot(ns: &Namespace) -> Vec<(u64, u64, String)> {
    let mut v: Vec<_> = (1..10_000)
        .filter_map(|id| ns.inode(id).map(|i| (i.id, i.parent_id, i.name.clone())))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn group_commit_replays_to_the_same_state() {
    let (_d, store) = formatted().await;
    let ns = Arc::new(RwLock::new(Namespace::new()));
    let w = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let (ns, w) = (ns.clone(), w.clone());
        tasks.push(tokio::spawn(async move {
            commit(&ns, &w, vec![dir(100 + i, 1, &format!("d{i}"))]).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let batches = store.list("log").await.unwrap().len();
    assert!(batches < 201, "no grouping happened: {batches} batches");
    let replayed = recover(&store).await.unwrap();
    assert_eq!(replayed.last_seq(), 202);
    assert_eq!(snapshot(&replayed), snapshot(&ns.read().unwrap()));
}

#[tokio::test]
async fn a_fenced_writer_acknowledges_nothing() {
    let (_d, store) = formatted().await;
    let ns = RwLock::new(Namespace::new());
    let old = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &old, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    commit(&ns, &old, vec![dir(2, 1, "before")]).await.unwrap();

    // A new leader replays and takes the next slot with its TermStart.
    let mut new_ns = recover(&store).await.unwrap();
    let next = new_ns.last_seq() + 1;
    let new = JournalWriter::start(store.clone(), 2, next);
    new_ns.apply(next, 2, &term_start(2)).unwrap();
    new.append(next, vec![term_start(2)]).await.unwrap();

    // The zombie's next publish targets the same slot and must fail.
    let err = commit(&ns, &old, vec![dir(3, 1, "zombie")])
        .await
        .unwrap_err();
    assert!(matches!(err, JournalError::Fenced { .. }), "{err}");
    // ...and so must everything after it, without touching the journal.
    let next = ns.read().unwrap().last_seq() + 1;
    let err = old.append(next, vec![dir(4, 1, "z2")]).await.unwrap_err();
    assert!(matches!(err, JournalError::Fenced { .. }), "{err}");
    let replayed = recover(&store).await.unwrap();
    assert!(
        replayed.resolve(&"/zombie".parse_path()).is_err(),
        "zombie entry was published"
    );
    assert!(replayed.resolve(&"/before".parse_path()).is_ok());
    assert_eq!(replayed.term(), 2);
}

trait ParsePath {
    fn parse_path(&self) -> alluxio_common::AlluxioPath;
}
impl ParsePath for str {
    fn parse_path(&self) -> alluxio_common::AlluxioPath {
        alluxio_common::AlluxioPath::parse(self).unwrap()
    }
}

#[tokio::test]
async fn checkpoint_collects_garbage_and_replays() {
    let (_d, store) = formatted().await;
    let ns = Arc::new(RwLock::new(Namespace::new()));
    let w = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    for i in 0..50u64 {
        commit(&ns, &w, vec![dir(10 + i, 1, &format!("a{i}"))])
            .await
            .unwrap();
    }
    let cp = checkpoint_now(&ns, &w, &store).await.unwrap();
    assert_eq!(cp, 52);
    assert!(
        store.list("log").await.unwrap().is_empty(),
        "covered batches remain"
    );
    for i in 0..5u64 {
        commit(&ns, &w, vec![dir(100 + i, 1, &format!("b{i}"))])
            .await
            .unwrap();
    }
    let replayed = recover(&store).await.unwrap();
    assert_eq!(replayed.last_seq(), 57);
    assert_eq!(snapshot(&replayed), snapshot(&ns.read().unwrap()));
}

#[tokio::test]
async fn corruption_is_reported_with_file_and_offset() {
    let (d, store) = formatted().await;
    let ns = RwLock::new(Namespace::new());
    let w = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    commit(&ns, &w, vec![dir(2, 1, "x"), dir(3, 1, "y")])
        .await
        .unwrap();
    assert!(read_batch(&store, 3).await.unwrap().is_some());
    let path = d.path().join(log_name(3));
    let mut data = std::fs::read(&path).unwrap();
    let second_frame = data.len() / 2 + 4;
    data[second_frame] ^= 1;
    // Rewrite in place (link count > 1 is fine for the test).
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &data).unwrap();
    let err = recover(&store).await.unwrap_err().to_string();
    assert!(
        err.contains(&log_name(3)) && err.contains("offset"),
        "{err}"
    );
    // A truncated object is reported the same way.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &data[..data.len() - 3]).unwrap();
    let err = recover(&store).await.unwrap_err().to_string();
    assert!(
        err.contains("truncated") && err.contains(&log_name(3)),
        "{err}"
    );
}

#[tokio::test]
async fn a_gap_in_the_log_is_an_error() {
    let (d, store) = formatted().await;
    let ns = RwLock::new(Namespace::new());
    let w = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    commit(&ns, &w, vec![dir(2, 1, "x")]).await.unwrap();
    commit(&ns, &w, vec![dir(3, 1, "y")]).await.unwrap();
    std::fs::remove_file(d.path().join(log_name(3))).unwrap();
    let err = recover(&store).await.unwrap_err();
    assert!(matches!(err, JournalError::Gap { .. }), "{err}");
}

#[tokio::test]
async fn unformatted_and_future_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
    let err = recover(&store).await.unwrap_err().to_string();
    assert!(
        err.contains("not formatted") && err.contains("alluxio format"),
        "{err}"
    );
}

#[tokio::test]
async fn retry_cache_survives_replay_and_checkpoints() {
    let (_d, store) = formatted().await;
    let ns = Arc::new(RwLock::new(Namespace::new()));
    let w = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    let op = |n: u64| alluxio_proto::OperationId { high: 7, low: n };
    let with_op = |mut e: JournalEntry, n: u64| {
        e.op_id = Some(op(n));
        e.op_result = 1000 + n;
        e
    };
    commit(&ns, &w, vec![with_op(dir(2, 1, "a"), 1)])
        .await
        .unwrap();
    checkpoint_now(&ns, &w, &store).await.unwrap();
    commit(&ns, &w, vec![with_op(dir(3, 1, "b"), 2)])
        .await
        .unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(
        replayed.retried(&op(1)),
        Some(1001),
        "lost through the checkpoint"
    );
    assert_eq!(replayed.retried(&op(2)), Some(1002), "lost through replay");
    assert_eq!(replayed.retried(&op(3)), None);
}

fn file(id: u64, parent: u64, name: &str, container_id: u64) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::CreateInode(CreateInode {
            inode: Some(InodeRecord {
                id,
                parent_id: parent,
                name: name.into(),
                file_type: FileType::Regular as i32,
                nlink: 1,
                mode: 0o644,
                block_size: 1 << 20,
                container_id,
                ..Default::default()
            }),
        })),
    }
}

fn entry(e: Entry) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(e),
    }
}

/// Every inode record and directory entry, for exact state comparison.
fn full_state(ns: &Namespace) -> Vec<(InodeRecord, Vec<(String, u64)>)> {
    (1..10_000)
        .filter_map(|id| ns.inode(id))
        .map(|i| {
            let entries = ns
                .children(i.id)
                .map(|c| c.iter().map(|(n, id)| (n.clone(), *id)).collect())
                .unwrap_or_default();
            (i.clone(), entries)
        })
        .collect()
}

/// The entries added for POSIX semantics (new versions in place, hard
/// links, exchange)
/// replay from the log and from a checkpoint to the same state.
#[tokio::test]
async fn posix_entries_replay_and_checkpoint() {
    use alluxio_proto::journal::{
        AddLink, CompleteFile, ExchangeEntries, NewVersion, RemoveEntry, RenameEntry,
    };
    let (_d, store) = formatted().await;
    let ns = Arc::new(RwLock::new(Namespace::new()));
    let w = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    let complete = |length| {
        entry(Entry::CompleteFile(CompleteFile {
            id: 2,
            length,
            mtime_ns: 5,
            persisted: true,
        }))
    };
    commit(&ns, &w, vec![file(2, 1, "f", 1), complete(10)])
        .await
        .unwrap();
    let version = entry(Entry::NewVersion(NewVersion {
        id: 2,
        container_id: 7,
        block_size: 4096,
        mtime_ns: 9,
    }));
    commit(&ns, &w, vec![version]).await.unwrap();
    {
        let ns = ns.read().unwrap();
        let f = ns.inode(2).unwrap();
        assert_eq!((f.container_id, f.length, f.completed), (7, 0, false));
        assert_eq!(f.block_size, 4096);
    }
    // Hard links: a file with three names, its primary entry unlinked and
    // a secondary one renamed.
    let link = |parent_id, name: &str| {
        entry(Entry::AddLink(AddLink {
            id: 3,
            parent_id,
            name: name.into(),
            time_ns: 11,
        }))
    };
    commit(
        &ns,
        &w,
        vec![
            dir(4, 1, "sub"),
            file(3, 1, "g", 2),
            link(4, "g2"),
            link(1, "g3"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ns.read().unwrap().inode(3).unwrap().nlink, 3);
    let remove = entry(Entry::RemoveEntry(RemoveEntry {
        parent_id: 1,
        name: "g".into(),
        time_ns: 12,
    }));
    let rename = entry(Entry::Rename(RenameEntry {
        src_parent_id: 4,
        src_name: "g2".into(),
        dst_parent_id: 4,
        dst_name: "g4".into(),
        time_ns: 13,
    }));
    commit(&ns, &w, vec![remove, rename]).await.unwrap();
    {
        let ns = ns.read().unwrap();
        let g = ns.inode(3).unwrap();
        assert_eq!(g.nlink, 2);
        // The smallest remaining (parent, name) became the primary entry.
        assert_eq!((g.parent_id, g.name.as_str()), (1, "g3"));
        assert_eq!(ns.children(4).unwrap().get("g4"), Some(&3));
    }
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
    commit(&ns, &w, vec![complete(3)]).await.unwrap();
    checkpoint_now(&ns, &w, &store).await.unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
    assert_eq!(replayed.inode(2).unwrap().container_id, 7);
    assert_eq!(replayed.inode(3).unwrap().nlink, 2);
    // Links still work after the checkpoint: the last names go.
    for (parent_id, name) in [(4, "g4"), (1, "g3")] {
        let remove = entry(Entry::RemoveEntry(RemoveEntry {
            parent_id,
            name: name.into(),
            time_ns: 14,
        }));
        commit(&ns, &w, vec![remove]).await.unwrap();
    }
    assert!(ns.read().unwrap().inode(3).is_none());
    // Exchange: file 2 ("f" in /) and directory 4 ("sub") swap entries.
    let exchange = entry(Entry::Exchange(ExchangeEntries {
        a_parent_id: 1,
        a_name: "f".into(),
        b_parent_id: 1,
        b_name: "sub".into(),
        time_ns: 15,
    }));
    commit(&ns, &w, vec![exchange]).await.unwrap();
    {
        let ns = ns.read().unwrap();
        assert_eq!(ns.children(1).unwrap().get("f"), Some(&4));
        assert_eq!(ns.inode(2).unwrap().name, "sub");
        assert_eq!(ns.inode(4).unwrap().name, "f");
    }
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
}
