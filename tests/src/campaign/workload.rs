//! One client of the campaign: draws operations for its own directory,
//! runs them through the library or through a FUSE mount, and records
//! each with its outcome, keeping its model exact.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use alluxio_client::{CreateFileOptions, DeleteOptions, FileSystem, FsError, SetAttributeOptions};

use super::model::{draw, Node, Op, State};
use alluxio_common::seeded::Rng;

/// How a client reaches the cluster.
#[derive(Clone)]
pub enum Access {
    Library(FileSystem),
    /// The client's directory as seen through a FUSE mount.
    Fuse(PathBuf),
}

/// What a client was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged (for a read: the bytes it returned matched or not,
    /// checked on the spot).
    Ok,
    /// Refused with an error that says it did not happen.
    Refused(String),
    /// An error that leaves it open whether it happened.
    Unknown(String),
}

/// One operation and its outcome.
#[derive(Debug, Clone)]
pub struct Event {
    pub op: Op,
    pub outcome: Outcome,
    /// When it was sent, from the campaign's start.
    pub at: Duration,
    pub took: Duration,
}

/// Names whose state an operation with an unknown outcome left open: they
/// must end either as before it or as after it (or, for a write, as the
/// empty file its create or `O_TRUNC` left), and nothing touches them again.
#[derive(Debug, Clone)]
pub struct Uncertain {
    pub op: Op,
    pub names: Vec<String>,
    pub before: State,
    pub after: State,
}

/// A client's record of its run.
pub struct ClientRun {
    pub name: String,
    /// Its directory (an Alluxio path).
    pub root: String,
    pub keeps_inode: bool,
    /// Whether it runs through the FUSE mount (as a program would).
    pub fuse: bool,
    pub model: State,
    pub uncertain: Vec<Uncertain>,
    pub events: Vec<Event>,
    /// What went wrong while running (a valid operation refused, a read of
    /// bytes never written).
    pub anomalies: Vec<String>,
}

impl ClientRun {
    /// Names some unknown outcome left open.
    pub fn frozen(&self) -> BTreeSet<String> {
        self.uncertain
            .iter()
            .flat_map(|u| u.names.iter().cloned())
            .collect()
    }
}

/// Runs client `name` on directory `root` until `until`.
pub async fn run(
    name: String,
    access: Access,
    root: String,
    mut rng: Rng,
    start: Instant,
    until: Instant,
) -> ClientRun {
    let fuse = matches!(access, Access::Fuse(_));
    let mut run = ClientRun {
        name,
        root,
        keeps_inode: fuse,
        fuse,
        model: State::new(),
        uncertain: Vec::new(),
        events: Vec::new(),
        anomalies: Vec::new(),
    };
    while Instant::now() < until {
        let frozen = run.frozen();
        let Some(op) = draw(&mut rng, &run.model, &frozen, fuse) else {
            break;
        };
        let sent = Instant::now();
        let result = execute(&access, &run.root, &run.model, &op).await;
        let took = sent.elapsed();
        let outcome = match result {
            Ok(read) => {
                if let (Op::Read { name }, Some(data)) = (&op, read) {
                    if let Some(Node::File { data: want, .. }) = run.model.get(name) {
                        if *want != data {
                            run.anomalies.push(format!(
                                "{}: read {name} returned {} bytes that were never its \
                                 last acknowledged write ({} bytes)",
                                run.name,
                                data.len(),
                                want.len()
                            ));
                        }
                    }
                }
                run.model = op.apply(&run.model, run.keeps_inode);
                Outcome::Ok
            }
            Err(Failure::Refused(e)) => {
                run.anomalies
                    .push(format!("{}: {op:?} refused although valid: {e}", run.name));
                freeze(&mut run, &op);
                Outcome::Refused(e)
            }
            Err(Failure::Unknown(e)) => {
                // Whether a fault excuses an error that reached a program
                // through FUSE is for the campaign to judge, knowing when
                // which fault was injected.
                if !op.is_read() {
                    freeze(&mut run, &op);
                }
                Outcome::Unknown(e)
            }
        };
        run.events.push(Event {
            op,
            outcome,
            at: sent - start,
            took,
        });
    }
    run
}

/// Leaves the names of `op` open between their state before and after it.
fn freeze(run: &mut ClientRun, op: &Op) {
    let names: Vec<String> = op.names().into_iter().map(String::from).collect();
    let restrict = |s: &State| -> State {
        s.iter()
            .filter(|(k, _)| names.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let after = op.apply(&run.model, run.keeps_inode);
    run.uncertain.push(Uncertain {
        op: op.clone(),
        names: names.clone(),
        before: restrict(&run.model),
        after: restrict(&after),
    });
}

/// Why an operation did not succeed.
enum Failure {
    Refused(String),
    Unknown(String),
}

fn library_failure(e: FsError) -> Failure {
    match e {
        FsError::NotFound(_)
        | FsError::AlreadyExists(_)
        | FsError::InvalidArgument(_)
        | FsError::InvalidPath { .. }
        | FsError::NotDirectory(_)
        | FsError::IsDirectory(_)
        | FsError::DirectoryNotEmpty(_)
        | FsError::PermissionDenied(_)
        | FsError::NameTooLong(_)
        | FsError::NotSupported(_)
        | FsError::FailedPrecondition(_) => Failure::Refused(e.to_string()),
        _ => Failure::Unknown(e.to_string()),
    }
}

fn io_failure(e: std::io::Error) -> Failure {
    match e.raw_os_error() {
        Some(
            libc::ENOENT
            | libc::EEXIST
            | libc::ENOTEMPTY
            | libc::EISDIR
            | libc::ENOTDIR
            | libc::EACCES
            | libc::EPERM
            | libc::EINVAL,
        ) => Failure::Refused(e.to_string()),
        _ => Failure::Unknown(e.to_string()),
    }
}

/// Runs `op`; a read returns the bytes it read.
async fn execute(
    access: &Access,
    root: &str,
    model: &State,
    op: &Op,
) -> Result<Option<Vec<u8>>, Failure> {
    match access {
        Access::Library(fs) => library(fs, root, op).await.map_err(library_failure),
        Access::Fuse(dir) => {
            let (dir, op) = (dir.clone(), op.clone());
            let is_dir = op
                .names()
                .first()
                .is_some_and(|n| matches!(model.get(*n), Some(Node::Dir { .. })));
            tokio::task::spawn_blocking(move || posix(&dir, &op, is_dir))
                .await
                .expect("a FUSE client thread panicked")
                .map_err(io_failure)
        }
    }
}

async fn library(
    fs: &FileSystem,
    root: &str,
    op: &Op,
) -> alluxio_client::FsResult<Option<Vec<u8>>> {
    let p = |n: &str| format!("{root}/{n}");
    match op {
        Op::Write { name, seed, len } => {
            let opts = CreateFileOptions {
                overwrite: true,
                ..Default::default()
            };
            let mut out = fs.create_file(&p(name), opts).await?;
            out.write(&crate::test_bytes(*seed, *len)).await?;
            out.close().await?;
        }
        Op::Append { .. } => return Err(FsError::NotSupported("appends go through FUSE".into())),
        Op::Rename { from, to } => fs.rename(&p(from), &p(to)).await?,
        Op::Delete { name } => fs.delete(&p(name), DeleteOptions::default()).await?,
        Op::Mkdir { name } => {
            fs.create_directory(&p(name), Default::default()).await?;
        }
        Op::Chmod { name, mode } => {
            let opts = SetAttributeOptions {
                mode: Some(*mode),
                ..Default::default()
            };
            fs.set_attribute(&p(name), opts).await?;
        }
        Op::Read { name } => {
            let mut input = fs.open_file(&p(name)).await?;
            return Ok(Some(input.read_to_end().await?.to_vec()));
        }
    }
    Ok(None)
}

/// Runs `op` on the files of `dir` in a `posix-op` process (see
/// `src/bin/posix-op.rs` for why not in this one).
fn posix(dir: &std::path::Path, op: &Op, is_dir: bool) -> std::io::Result<Option<Vec<u8>>> {
    let p = |n: &str| dir.join(n).into_os_string();
    let mut cmd = std::process::Command::new(crate::process::bin_path("posix-op"));
    match op {
        Op::Write { name, seed, len } => cmd
            .arg("write")
            .arg(p(name))
            .arg(seed.to_string())
            .arg(len.to_string()),
        Op::Append { name, seed, len } => cmd
            .arg("append")
            .arg(p(name))
            .arg(seed.to_string())
            .arg(len.to_string()),
        Op::Rename { from, to } => cmd.arg("rename").arg(p(from)).arg(p(to)),
        Op::Delete { name } if is_dir => cmd.arg("rmdir").arg(p(name)),
        Op::Delete { name } => cmd.arg("unlink").arg(p(name)),
        Op::Mkdir { name } => cmd.arg("mkdir").arg(p(name)),
        Op::Chmod { name, mode } => cmd.arg("chmod").arg(p(name)).arg(format!("{mode:o}")),
        Op::Read { name } => cmd.arg("read").arg(p(name)),
    };
    let out = cmd.output()?;
    if out.status.success() {
        return Ok(op.is_read().then_some(out.stdout));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errno = stderr
        .strip_prefix("errno ")
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("posix-op failed: {stderr}")))?;
    Err(std::io::Error::from_raw_os_error(errno))
}
