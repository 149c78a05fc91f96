//! Where journal objects live: a local (or NFS) directory, or any opendal
//! service. Both offer the one primitive fencing needs — publish an object
//! under a name only if no object has that name — plus reads, listing and
//! deletion.
//!
//! The local store does not use opendal's fs service for publication: that
//! service either exposes partly written files (`O_EXCL` on the target) or
//! silently replaces a concurrent winner (`atomic_write_dir`). It writes a
//! temp file, fsyncs it, `link(2)`s it to the final name (which fails if the
//! name exists) and fsyncs the directory.
//!
//! The local store can also append: a published object stays open as a
//! [`Segment`] its writer appends later batches to, each made durable with
//! one `fdatasync` (a tenth of the cost of a publication on this machine's
//! disk). Fencing an appending writer needs the term claims of `terms.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use alluxio_common::short_calls::ShortCalls;
use alluxio_common::ufs::UfsKind;
use bytes::Bytes;
use opendal::{ErrorKind, Operator};

use super::error::JournalError;

/// Outcome of a create-if-absent write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// The object is now durable under the name.
    Published,
    /// Another writer already holds the name; nothing was written.
    Taken,
}

/// A journal folder.
#[derive(Debug, Clone)]
pub enum JournalStore {
    Local(LocalStore),
    Opendal(OpendalStore),
}

impl JournalStore {
    /// Opens the journal folder named by a path or URI.
    pub fn open(
        uri: &str,
        options: &std::collections::BTreeMap<String, String>,
    ) -> Result<JournalStore, JournalError> {
        let kind = UfsKind::parse(uri).map_err(|e| JournalError::io(uri, e))?;
        match kind {
            UfsKind::Local { root } => {
                let root = PathBuf::from(root);
                super::nfs::check_folder(&root)?;
                Ok(JournalStore::Local(LocalStore::new(root)))
            }
            UfsKind::S3 { .. } => {
                let ufs = alluxio_common::ufs::Ufs::open(uri, options)
                    .map_err(|e| JournalError::io(uri, e))?;
                let op = ufs
                    .operator()
                    .cloned()
                    .ok_or_else(|| JournalError::io(uri, "the UFS has no opendal operator"))?;
                let mut store = OpendalStore::new(op, uri.to_string());
                store.timeout = ufs.request_timeout();
                Ok(JournalStore::Opendal(store))
            }
        }
    }

    /// Wraps an already opened operator (any opendal service).
    pub fn from_operator(op: Operator, description: String) -> JournalStore {
        JournalStore::Opendal(OpendalStore::new(op, description))
    }

    /// Human name of the folder for messages.
    pub fn describe(&self) -> String {
        match self {
            JournalStore::Local(s) => s.root.display().to_string(),
            JournalStore::Opendal(s) => s.description.clone(),
        }
    }

    /// Creates `name` with `data` unless it exists; durable when `Published`.
    pub async fn publish(&self, name: &str, data: Bytes) -> Result<Publish, JournalError> {
        match self {
            JournalStore::Local(s) => {
                let s = s.clone();
                let name = name.to_string();
                tokio::task::spawn_blocking(move || s.publish(&name, &data))
                    .await
                    .map_err(|e| JournalError::io("publish task", e))?
            }
            JournalStore::Opendal(s) => s.publish(name, data).await,
        }
    }

    /// Whether objects of this store can be appended to after publication
    /// (a local or NFS directory); object stores only publish.
    pub fn appends(&self) -> bool {
        matches!(self, JournalStore::Local(_))
    }

    /// Publishes `name` like [`publish`](Self::publish) and, on a store that
    /// appends, keeps it open as a segment for later batches.
    pub async fn publish_segment(
        &self,
        name: &str,
        data: Bytes,
    ) -> Result<(Publish, Option<Segment>), JournalError> {
        match self {
            JournalStore::Local(s) => {
                let s = s.clone();
                let name = name.to_string();
                tokio::task::spawn_blocking(move || s.publish_open(&name, &data))
                    .await
                    .map_err(|e| JournalError::io("publish task", e))?
            }
            JournalStore::Opendal(s) => Ok((s.publish(name, data).await?, None)),
        }
    }

    /// Whether `name` exists.
    pub async fn exists(&self, name: &str) -> Result<bool, JournalError> {
        match self {
            JournalStore::Local(s) => {
                let path = s.root.join(name);
                tokio::task::spawn_blocking(move || local_exists(&path))
                    .await
                    .map_err(|e| JournalError::io("stat task", e))?
            }
            JournalStore::Opendal(s) => match s.timed(name, s.op.stat(name)).await? {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(JournalError::io(name, e)),
            },
        }
    }

    /// Reads `name` from byte `offset` to its current end; `None` if absent.
    pub async fn read_from(&self, name: &str, offset: u64) -> Result<Option<Bytes>, JournalError> {
        if offset == 0 {
            return self.read(name).await;
        }
        match self {
            JournalStore::Local(s) => {
                let path = s.root.join(name);
                tokio::task::spawn_blocking(move || local_read_from(&path, offset))
                    .await
                    .map_err(|e| JournalError::io("read task", e))?
            }
            JournalStore::Opendal(s) => Ok(s.read(name).await?.map(|data| {
                let from = (offset as usize).min(data.len());
                data.slice(from..)
            })),
        }
    }

    /// Reads `name`; `None` if absent.
    pub async fn read(&self, name: &str) -> Result<Option<Bytes>, JournalError> {
        match self {
            JournalStore::Local(s) => {
                let s = s.clone();
                let name = name.to_string();
                tokio::task::spawn_blocking(move || s.read(&name))
                    .await
                    .map_err(|e| JournalError::io("read task", e))?
            }
            JournalStore::Opendal(s) => s.read(name).await,
        }
    }

    /// Lists the object names directly inside `dir` (e.g. `log`), sorted.
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, JournalError> {
        let mut names = match self {
            JournalStore::Local(s) => {
                let s = s.clone();
                let dir = dir.to_string();
                tokio::task::spawn_blocking(move || s.list(&dir))
                    .await
                    .map_err(|e| JournalError::io("list task", e))??
            }
            JournalStore::Opendal(s) => s.list(dir).await?,
        };
        names.sort();
        Ok(names)
    }

    /// The numbers named by the 20-digit objects in `dir` (sequence numbers
    /// in `log` and `checkpoints`, terms in `terms`), ascending: zero-padded
    /// names sort as their numbers do.
    pub async fn list_seqs(&self, dir: &str) -> Result<Vec<u64>, JournalError> {
        Ok(self
            .list(dir)
            .await?
            .iter()
            .filter_map(|n| super::parse_seq(n))
            .collect())
    }

    /// Makes every object in `dir` durable as it is now, and the folder's
    /// names with it. A new leader builds on what it read, and on a local
    /// folder it may have read bytes an old leader wrote but never made
    /// durable (it crashed inside `fdatasync`, or got EIO): the page cache
    /// serves them, a power loss would take them back, and the log would
    /// then have a hole below the new term. Objects of an object store are
    /// durable once they can be read; nothing to do there.
    pub async fn sync_dir(&self, dir: &str) -> Result<(), JournalError> {
        match self {
            JournalStore::Local(s) => {
                let path = s.root.join(dir);
                tokio::task::spawn_blocking(move || local_sync_dir(&path))
                    .await
                    .map_err(|e| JournalError::io("sync task", e))?
            }
            JournalStore::Opendal(_) => Ok(()),
        }
    }

    /// Deletes `name`; absent is fine.
    pub async fn delete(&self, name: &str) -> Result<(), JournalError> {
        match self {
            JournalStore::Local(s) => {
                let path = s.root.join(name);
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(JournalError::io(path.display(), e)),
                }
            }
            JournalStore::Opendal(s) => match s.timed(name, s.op.delete(name)).await? {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) => Err(JournalError::io(name, e)),
            },
        }
    }

    /// Removes every journal object (used by `alluxio format`).
    pub async fn wipe(&self) -> Result<(), JournalError> {
        for dir in ["log", "checkpoints", "terms", "tmp"] {
            for name in self.list(dir).await? {
                self.delete(&format!("{dir}/{name}")).await?;
            }
        }
        self.delete(super::format::FORMAT_FILE).await
    }
}

/// A journal in a local or NFS-mounted directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// Where a small append runs (inline on a local disk).
    short: ShortCalls,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn fsync_dir(dir: &Path) -> Result<(), JournalError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io(dir.display(), e))
}

fn local_exists(path: &Path) -> Result<bool, JournalError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(JournalError::io(path.display(), e)),
    }
}

fn local_sync_dir(dir: &Path) -> Result<(), JournalError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(JournalError::io(dir.display(), e)),
    };
    for entry in entries {
        let path = entry
            .map_err(|e| JournalError::io(dir.display(), e))?
            .path();
        match std::fs::File::open(&path) {
            Ok(f) => f
                .sync_data()
                .map_err(|e| JournalError::io(path.display(), e))?,
            // Collected meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(JournalError::io(path.display(), e)),
        }
    }
    fsync_dir(dir)
}

fn local_read_from(path: &Path, offset: u64) -> Result<Option<Bytes>, JournalError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(JournalError::io(path.display(), e)),
    };
    let mut out = Vec::new();
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_to_end(&mut out))
        .map_err(|e| JournalError::io(path.display(), e))?;
    Ok(Some(Bytes::from(out)))
}

/// A published local object its writer keeps appending batches to.
#[derive(Debug)]
pub struct Segment {
    file: std::fs::File,
    name: String,
    len: u64,
}

impl Segment {
    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// Appends `data` and makes it durable with `fdatasync`. On error the
    /// batch is cut off again where it began, so that a failed batch —
    /// whose callers hear an error — cannot be read back and replayed by
    /// the next term (a write whose `fdatasync` failed may sit whole in the
    /// page cache); if even that fails, the segment may end in a partial
    /// frame. Either way its writer must stop.
    pub fn append(&mut self, data: &[u8]) -> Result<(), JournalError> {
        use std::os::unix::fs::FileExt;
        let written = self.file.write_all_at(data, self.len).and_then(|_| {
            // A crash inside fdatasync: written, not durable.
            alluxio_common::failpoint::hit("journal_append_before_sync");
            if alluxio_common::failpoint::fails("journal_sync_eio") {
                return Err(std::io::Error::from_raw_os_error(5));
            }
            self.file.sync_data()
        });
        if let Err(e) = written {
            return Err(match self.file.set_len(self.len) {
                Ok(()) => JournalError::write(&self.name, e),
                // The batch may still be read back: its outcome is unknown,
                // not "refused for lack of space".
                Err(cut) => JournalError::io(
                    &self.name,
                    format!(
                        "{e}; cutting the failed batch off at {} failed too: {cut}",
                        self.len
                    ),
                ),
            });
        }
        self.len += data.len() as u64;
        Ok(())
    }
}

impl LocalStore {
    /// A store rooted at `root` (created on first publish).
    pub fn new(root: PathBuf) -> Self {
        LocalStore {
            short: ShortCalls::for_dir(&root),
            root,
        }
    }

    /// Where a small append and its claim check run.
    pub fn short_calls(&self) -> ShortCalls {
        self.short
    }

    /// Whether `name` exists, from a blocking context.
    pub fn exists_blocking(&self, name: &str) -> Result<bool, JournalError> {
        local_exists(&self.root.join(name))
    }

    fn publish(&self, name: &str, data: &[u8]) -> Result<Publish, JournalError> {
        self.publish_open(name, data).map(|(p, _)| p)
    }

    fn publish_open(
        &self,
        name: &str,
        data: &[u8],
    ) -> Result<(Publish, Option<Segment>), JournalError> {
        let target = self.root.join(name);
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        let tmp_dir = self.root.join("tmp");
        let tmp = tmp_dir.join(format!(
            "{}.{}.{}",
            name.replace('/', "_"),
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // The folders exist after the first publish; they are made only
        // when a create or link finds them missing.
        let mkdir =
            |d: &Path| std::fs::create_dir_all(d).map_err(|e| JournalError::io(d.display(), e));
        let result = (|| {
            let create = || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)
            };
            let mut f = match create() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    mkdir(&tmp_dir)?;
                    create()
                }
                other => other,
            }
            .map_err(|e| JournalError::write(tmp.display(), e))?;
            f.write_all(data)
                .map_err(|e| JournalError::write(tmp.display(), e))?;
            f.sync_all()
                .map_err(|e| JournalError::write(tmp.display(), e))?;
            let linked = match std::fs::hard_link(&tmp, &target) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    mkdir(&dir)?;
                    // The new folder's own name must survive a crash too.
                    fsync_dir(dir.parent().unwrap_or(&self.root))?;
                    std::fs::hard_link(&tmp, &target)
                }
                other => other,
            };
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Ok((Publish::Taken, None))
                }
                Err(e) => return Err(JournalError::io(target.display(), e)),
            }
            fsync_dir(&dir)?;
            // The open file is the published object (the temp name is a
            // second link to the same inode, removed below).
            let segment = Segment {
                file: f,
                name: name.to_string(),
                len: data.len() as u64,
            };
            Ok((Publish::Published, Some(segment)))
        })();
        let _ = std::fs::remove_file(&tmp);
        result
    }

    fn read(&self, name: &str) -> Result<Option<Bytes>, JournalError> {
        let path = self.root.join(name);
        match std::fs::read(&path) {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(JournalError::io(path.display(), e)),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, JournalError> {
        let path = self.root.join(dir);
        let rd = match std::fs::read_dir(&path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(JournalError::io(path.display(), e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| JournalError::io(path.display(), e))?;
            if let Some(name) = entry.file_name().to_str() {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }
}

/// A journal on any opendal service that honours create-if-absent writes
/// (S3 `If-None-Match: *`). Objects are immutable; nothing is appended.
#[derive(Debug, Clone)]
pub struct OpendalStore {
    op: Operator,
    description: String,
    /// Longest one request may take: a store that stops answering fails
    /// the call (the writer then stops and its master steps down) instead
    /// of stalling it forever (`alluxio.underfs.s3.request.timeout`).
    timeout: std::time::Duration,
}

impl OpendalStore {
    fn new(op: Operator, description: String) -> OpendalStore {
        OpendalStore {
            op,
            description,
            timeout: std::time::Duration::from_secs(60),
        }
    }

    /// `request`, or an I/O error naming `name` once the store has not
    /// answered within the timeout.
    async fn timed<T>(
        &self,
        name: &str,
        request: impl std::future::IntoFuture<Output = opendal::Result<T>>,
    ) -> Result<opendal::Result<T>, JournalError> {
        tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| {
                JournalError::io(
                    name,
                    format!("no answer from the object store within {:?}", self.timeout),
                )
            })
    }

    async fn publish(&self, name: &str, data: Bytes) -> Result<Publish, JournalError> {
        match self
            .timed(name, self.op.write_with(name, data).if_not_exists(true))
            .await?
        {
            Ok(_) => Ok(Publish::Published),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConditionNotMatch | ErrorKind::AlreadyExists
                ) =>
            {
                Ok(Publish::Taken)
            }
            Err(e) => Err(JournalError::io(name, e)),
        }
    }

    async fn read(&self, name: &str) -> Result<Option<Bytes>, JournalError> {
        match self.timed(name, self.op.read(name)).await? {
            Ok(buf) => Ok(Some(buf.to_bytes())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(JournalError::io(name, e)),
        }
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>, JournalError> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let entries = match self.timed(dir, self.op.list(&prefix)).await? {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(JournalError::io(dir, e)),
        };
        Ok(entries
            .into_iter()
            .filter_map(|e| {
                let name = e
                    .path()
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()?
                    .to_string();
                (!name.is_empty() && !e.path().ends_with('/')).then_some(name)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_publish_is_exclusive_and_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
        let a = store
            .publish("log/1", Bytes::from_static(b"a"))
            .await
            .unwrap();
        let b = store
            .publish("log/1", Bytes::from_static(b"b"))
            .await
            .unwrap();
        assert_eq!((a, b), (Publish::Published, Publish::Taken));
        assert_eq!(
            store.read("log/1").await.unwrap().unwrap(),
            Bytes::from_static(b"a")
        );
        assert_eq!(store.read("log/2").await.unwrap(), None);
        assert_eq!(store.list("log").await.unwrap(), vec!["1".to_string()]);
        assert!(
            store.list("tmp").await.unwrap().is_empty(),
            "temp files left behind"
        );
    }

    #[tokio::test]
    async fn concurrent_publishers_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                s.publish("log/7", Bytes::from(vec![i; 1000]))
                    .await
                    .unwrap()
            }));
        }
        let mut wins = 0;
        for t in tasks {
            if t.await.unwrap() == Publish::Published {
                wins += 1;
            }
        }
        assert_eq!(wins, 1);
        let data = store.read("log/7").await.unwrap().unwrap();
        assert_eq!(data.len(), 1000);
        assert!(
            data.iter().all(|b| *b == data[0]),
            "mixed writers in one object"
        );
    }
}
