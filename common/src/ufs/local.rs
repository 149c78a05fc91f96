//! The local (or NFS-mounted) directory UFS, on `std::fs`.
//!
//! opendal's fs service joins the root and the key into one absolute path,
//! which the kernel refuses once it passes PATH_MAX, and the namespace can
//! mirror Alluxio paths that are themselves almost PATH_MAX long. This backend
//! reaches every entry through [`long_path::resolve`] instead, and otherwise
//! keeps the fs service's behaviour: parents are created for writes and
//! renames, a rename replaces a file at the target, deleting something missing
//! succeeds. Short metadata calls run where [`ShortCalls`] says (inline
//! on a local disk); every call that may move a lot of data or walk a
//! tree runs on tokio's blocking pool.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::direct_file::StreamFile;
use super::long_path::{self, ShortPath};
use super::UfsStatus;
use crate::error::{FsError, FsResult};
use crate::short_calls::ShortCalls;

/// Largest whole-object write that counts as a short call.
const SHORT_WRITE_BYTES: usize = 64 << 10;

/// A local directory used as a UFS root.
#[derive(Debug, Clone)]
pub(crate) struct LocalFs {
    root: Arc<Path>,
    /// Where stat, open, mkdir, rename and unlink run.
    short: ShortCalls,
}

/// Maps an I/O error of UFS operation `what` on `path` to the error kinds the
/// opendal-backed stores report.
fn io_err(what: &str, path: &str, e: io::Error) -> FsError {
    if e.raw_os_error() == Some(libc::ENAMETOOLONG) {
        return FsError::NameTooLong(format!("UFS {what} {path}: {e}"));
    }
    if crate::error::is_no_space(&e) {
        return FsError::NoSpace(format!("UFS {what} {path}: {e}"));
    }
    match e.kind() {
        io::ErrorKind::NotFound => FsError::NotFound(path.to_string()),
        io::ErrorKind::AlreadyExists => FsError::AlreadyExists(path.to_string()),
        io::ErrorKind::PermissionDenied => {
            FsError::PermissionDenied(format!("UFS {what} {path}: {e}"))
        }
        io::ErrorKind::Unsupported => FsError::NotSupported(format!("UFS {what} {path}: {e}")),
        _ => FsError::Ufs(format!("{what} {path}: {e}")),
    }
}

/// `fsync` of `file`: where a UFS makes bytes and names durable, and where
/// a failing disk reports it (failpoint `ufs_fsync_eio` fails every call
/// with EIO while named).
pub(super) fn fsync(file: &File) -> io::Result<()> {
    if crate::failpoint::failing("ufs_fsync_eio") {
        return Err(io::Error::from_raw_os_error(libc::EIO));
    }
    file.sync_all()
}

/// Drops empty and `.` components; a `..` component would leave the root, so
/// such a path does not exist.
fn normalize(path: &str) -> io::Result<String> {
    let mut out = String::with_capacity(path.len());
    for c in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if c == ".." {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "path escapes the UFS root",
            ));
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(c);
    }
    Ok(out)
}

fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(parent, _)| parent)
}

fn status(name: String, meta: &fs::Metadata) -> UfsStatus {
    let is_dir = meta.is_dir();
    UfsStatus {
        name,
        is_dir,
        length: if is_dir { 0 } else { meta.len() },
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
    }
}

/// Runs a long call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> FsResult<T> + Send + 'static,
) -> FsResult<T> {
    run(ShortCalls::Pool, f).await
}

async fn run<T: Send + 'static>(
    place: ShortCalls,
    f: impl FnOnce() -> FsResult<T> + Send + 'static,
) -> FsResult<T> {
    place
        .run(f)
        .await
        .map_err(|e| FsError::Internal(format!("UFS task: {e}")))?
}

impl LocalFs {
    /// Uses directory `root`, creating it if needed.
    pub(crate) fn open(root: &str) -> FsResult<LocalFs> {
        fs::create_dir_all(root)
            .map_err(|e| FsError::Ufs(format!("cannot create UFS root directory {root}: {e}")))?;
        Ok(LocalFs {
            short: ShortCalls::for_dir(Path::new(root)),
            root: Arc::from(Path::new(root)),
        })
    }

    /// Runs a short call where this file system's placement says.
    async fn short<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> FsResult<T> + Send + 'static,
    ) -> FsResult<T> {
        run(self.short, f).await
    }

    fn resolve(&self, rel: &str) -> io::Result<ShortPath> {
        long_path::resolve(&self.root, rel)
    }

    /// Creates directory `rel` and its missing parents, each durably (its
    /// parent directory fsynced after it was made). One that exists already
    /// (or is made meanwhile by another call) is taken as it is.
    fn mkdir_p(&self, rel: &str) -> io::Result<()> {
        if rel.is_empty() {
            return Ok(());
        }
        let make = || self.resolve(rel).and_then(|p| fs::create_dir(p.path()));
        let made = match make() {
            // A parent is missing (or, for a long path, could not be
            // opened): make it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.mkdir_p(parent_of(rel))?;
                make()
            }
            other => other,
        };
        match made {
            Ok(()) => self.sync_dir(parent_of(rel)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let meta = self.resolve(rel).and_then(|p| fs::metadata(p.path()))?;
                if meta.is_dir() {
                    // Made by an earlier try whose fsync may have failed:
                    // its name is durable only once its parent is synced.
                    self.sync_dir(parent_of(rel))
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Makes the entries of directory `rel` durable. A created, renamed or
    /// removed name is on disk only once its directory is fsynced (the
    /// file's own fsync covers its bytes, not its name), so every change of
    /// a name that is acknowledged afterwards ends here.
    fn sync_dir(&self, rel: &str) -> io::Result<()> {
        fsync(&File::open(self.resolve(rel)?.path())?)
    }

    /// Creates or truncates file `rel` for writing, with its parents (made
    /// only when the open finds them missing: the common case costs one
    /// syscall).
    fn create_file(&self, rel: &str) -> io::Result<File> {
        let open = || {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(self.resolve(rel)?.path())
        };
        match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.mkdir_p(parent_of(rel))?;
                open()
            }
            other => other,
        }
    }

    fn stat_blocking(&self, path: &str) -> FsResult<Option<UfsStatus>> {
        let name = path.rsplit('/').next().unwrap_or("").to_string();
        let meta = normalize(path)
            .and_then(|rel| self.resolve(&rel))
            .and_then(|p| fs::metadata(p.path()));
        match meta {
            Ok(meta) => Ok(Some(status(name, &meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("stat", path, e)),
        }
    }

    fn list_blocking(&self, path: &str) -> FsResult<Vec<UfsStatus>> {
        let err = |e| io_err("list", path, e);
        let rel = normalize(path).map_err(err)?;
        let entries = match self.resolve(&rel).and_then(|p| fs::read_dir(p.path())) {
            Ok(entries) => entries,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(err(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                // The directory was removed while being listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(err(e)),
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = match entry.file_type() {
                Ok(t) => t.is_dir(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(err(e)),
            };
            if is_dir {
                out.push(UfsStatus {
                    name,
                    is_dir,
                    length: 0,
                    mtime_ns: 0,
                });
                continue;
            }
            // Files (and whatever a symlink points to) are stated by path, which
            // follows links and resolves long paths again.
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if let Some(status) = self.stat_blocking(&child)? {
                out.push(status);
            }
        }
        Ok(out)
    }

    fn read_range_blocking(&self, path: &str, offset: u64, length: u64) -> FsResult<Bytes> {
        let err = |e| io_err("read", path, e);
        let rel = normalize(path).map_err(err)?;
        let file = File::open(self.resolve(&rel).map_err(err)?.path()).map_err(err)?;
        let len = usize::try_from(length)
            .map_err(|_| FsError::InvalidArgument(format!("read of {length} bytes")))?;
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(err(e)),
            }
        }
        buf.truncate(done);
        Ok(Bytes::from(buf))
    }

    fn write_all_blocking(&self, path: &str, data: &[u8]) -> FsResult<()> {
        let err = |e| io_err("write", path, e);
        let rel = normalize(path).map_err(err)?;
        let mut file = self.create_file(&rel).map_err(err)?;
        if data.is_empty() {
            // Nothing to make durable but the name, which no fsync of the
            // file covers either (an empty file's name is recreated by its
            // next version if a crash loses it).
            return Ok(());
        }
        file.write_all(data).map_err(err)?;
        fsync(&file).map_err(err)?;
        self.sync_dir(parent_of(&rel)).map_err(err)
    }

    fn delete_blocking(&self, path: &str, recursive: bool) -> FsResult<()> {
        let delete = |rel: &str| {
            let p = self.resolve(rel)?;
            // Like opendal's fs service: the metadata follows links.
            let removed =
                fs::metadata(p.path()).and_then(|meta| match (meta.is_dir(), recursive) {
                    (true, true) => fs::remove_dir_all(p.path()),
                    (true, false) => fs::remove_dir(p.path()),
                    (false, _) => fs::remove_file(p.path()),
                });
            match removed {
                // Gone already, maybe by an earlier try whose fsync
                // failed: the removal is durable only once the parent is
                // synced (a missing parent reports NotFound below).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
            self.sync_dir(parent_of(rel))
        };
        match normalize(path).and_then(|rel| delete(&rel)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("delete", path, e)),
        }
    }

    /// Makes the entry of `path` in its parent durable (fsyncs the
    /// parent); a missing parent has nothing to make durable.
    fn sync_parent_blocking(&self, path: &str) -> FsResult<()> {
        let err = |e| io_err("sync", path, e);
        let rel = normalize(path).map_err(err)?;
        match self.sync_dir(parent_of(&rel)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other.map_err(err),
        }
    }

    /// See `sync_parent_blocking`.
    pub(crate) async fn sync_parent(&self, path: &str) -> FsResult<()> {
        let (fs, path) = (self.clone(), path.to_string());
        self.short(move || fs.sync_parent_blocking(&path)).await
    }

    fn rename_blocking(&self, from: &str, to: &str) -> FsResult<()> {
        let err = |e| io_err("rename", from, e);
        let from_rel = normalize(from).map_err(err)?;
        let to_rel = normalize(to).map_err(err)?;
        if from_rel == to_rel {
            // opendal refuses this too (and callers never rely on it succeeding).
            return Err(FsError::Ufs(format!(
                "rename {from}: source and target are the same path"
            )));
        }
        let src = self.resolve(&from_rel).map_err(err)?;
        let rename = || fs::rename(src.path(), self.resolve(&to_rel)?.path());
        match rename() {
            // Either the source is missing (reported as such) or the
            // target's parents are: make them and try once more.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::metadata(src.path()).map_err(err)?;
                self.mkdir_p(parent_of(&to_rel)).map_err(err)?;
                rename().map_err(err)?;
            }
            other => other.map_err(err)?,
        }
        // Durable in both directories: the new name, and the old one gone.
        let (from_dir, to_dir) = (parent_of(&from_rel), parent_of(&to_rel));
        self.sync_dir(to_dir).map_err(err)?;
        if from_dir != to_dir {
            self.sync_dir(from_dir).map_err(err)?;
        }
        Ok(())
    }

    /// Stats `path`; `Ok(None)` when it does not exist.
    pub(crate) async fn stat(&self, path: &str) -> FsResult<Option<UfsStatus>> {
        let (fs, path) = (self.clone(), path.to_string());
        self.short(move || fs.stat_blocking(&path)).await
    }

    /// Lists the direct children of directory `path`; a missing one is empty.
    pub(crate) async fn list(&self, path: &str) -> FsResult<Vec<UfsStatus>> {
        let (fs, path) = (self.clone(), path.to_string());
        blocking(move || fs.list_blocking(&path)).await
    }

    /// Reads up to `length` bytes at `offset` (fewer at the end of the file).
    pub(crate) async fn read_range(&self, path: &str, offset: u64, length: u64) -> FsResult<Bytes> {
        let (fs, path) = (self.clone(), path.to_string());
        blocking(move || fs.read_range_blocking(&path, offset, length)).await
    }

    /// Creates or replaces file `path` with `data`, durably.
    pub(crate) async fn write_all(&self, path: &str, data: Bytes) -> FsResult<()> {
        let (fs, path) = (self.clone(), path.to_string());
        if data.len() <= SHORT_WRITE_BYTES {
            return self
                .short(move || fs.write_all_blocking(&path, &data))
                .await;
        }
        blocking(move || fs.write_all_blocking(&path, &data)).await
    }

    /// Opens a writer that creates or replaces file `path`.
    pub(crate) async fn writer(&self, path: &str) -> FsResult<LocalWriter> {
        let (fs, path) = (self.clone(), path.to_string());
        self.short(move || {
            let err = |e| io_err("write", &path, e);
            let rel = normalize(&path).map_err(err)?;
            let file = fs.create_file(&rel).map_err(err)?;
            // Around the page cache only on a local disk: on NFS and the
            // like, O_DIRECT means synchronous round trips to the server.
            let direct = fs.short == ShortCalls::Inline;
            let at = direct.then(|| fs.resolve(&rel)).transpose().map_err(err)?;
            let file = StreamFile::new(file, at.as_ref().map(ShortPath::path));
            Ok(LocalWriter {
                fs: fs.clone(),
                path,
                file: Some(file),
            })
        })
        .await
    }

    /// Creates directory `path` and its parents.
    pub(crate) async fn create_dir(&self, path: &str) -> FsResult<()> {
        let (fs, path) = (self.clone(), path.to_string());
        self.short(move || {
            let err = |e| io_err("mkdir", &path, e);
            fs.mkdir_p(&normalize(&path).map_err(err)?).map_err(err)
        })
        .await
    }

    /// Deletes file (or empty directory) `path`; a missing one is not an error.
    pub(crate) async fn delete_file(&self, path: &str) -> FsResult<()> {
        let (fs, path) = (self.clone(), path.to_string());
        self.short(move || fs.delete_blocking(&path, false)).await
    }

    /// Deletes `path` and everything below it; a missing one is not an error.
    pub(crate) async fn delete_dir_all(&self, path: &str) -> FsResult<()> {
        let (fs, path) = (self.clone(), path.to_string());
        blocking(move || fs.delete_blocking(&path, true)).await
    }

    /// Renames `from` to `to`, creating the target's parents and replacing a
    /// file there.
    pub(crate) async fn rename(&self, from: &str, to: &str) -> FsResult<()> {
        let (fs, from, to) = (self.clone(), from.to_string(), to.to_string());
        self.short(move || fs.rename_blocking(&from, &to)).await
    }
}

/// A file being written into a local UFS (around the page cache on a local
/// disk: `direct_file`). Dropping it without `close` leaves the partial file
/// behind.
pub struct LocalWriter {
    fs: LocalFs,
    path: String,
    /// Taken while a blocking write runs; `None` after a failed write or close.
    file: Option<StreamFile>,
}

impl std::fmt::Debug for LocalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalWriter {
    fn take(&mut self) -> FsResult<StreamFile> {
        self.file
            .take()
            .ok_or_else(|| FsError::Ufs(format!("write {}: writer is closed", self.path)))
    }

    /// Appends `data`.
    pub(crate) async fn write(&mut self, data: Bytes) -> FsResult<()> {
        let mut file = self.take()?;
        let path = self.path.clone();
        let file = blocking(move || {
            file.write(&data).map_err(|e| io_err("write", &path, e))?;
            Ok(file)
        })
        .await?;
        self.file = Some(file);
        Ok(())
    }

    /// Flushes the file to stable storage and closes it.
    pub(crate) async fn close(&mut self) -> FsResult<()> {
        let mut file = self.take()?;
        let path = self.path.clone();
        blocking(move || file.finish().map_err(|e| io_err("close", &path, e))).await
    }

    /// Closes and removes the partial file.
    pub(crate) async fn abort(&mut self) -> FsResult<()> {
        self.file = None;
        let (fs, path) = (self.fs.clone(), self.path.clone());
        blocking(move || {
            let err = |e| io_err("abort", &path, e);
            let rel = normalize(&path).map_err(err)?;
            match fs.resolve(&rel).and_then(|p| fs::remove_file(p.path())) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(err(e)),
                _ => Ok(()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh root directory, removed on drop.
    struct Root(std::path::PathBuf);

    impl Root {
        fn new(tag: &str) -> (Root, LocalFs) {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("ufs-local-{tag}-{}-{n}", std::process::id()));
            let fs = LocalFs::open(dir.to_str().unwrap()).unwrap();
            (Root(dir), fs)
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// 20 nested directories of 250-byte names: over 5000 bytes, so the
    /// absolute form is longer than PATH_MAX.
    fn long_dir(tag: char) -> String {
        vec![tag.to_string().repeat(250); 20].join("/")
    }

    async fn names(fs: &LocalFs, dir: &str) -> Vec<(String, bool, u64)> {
        let mut v: Vec<_> = fs
            .list(dir)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.name, s.is_dir, s.length))
            .collect();
        v.sort();
        v
    }

    /// Runs every operation under `base` ("" or a long directory).
    async fn exercise(fs: &LocalFs, base: &str) {
        let p = |rel: &str| {
            if base.is_empty() {
                rel.to_string()
            } else {
                format!("{base}/{rel}")
            }
        };
        fs.create_dir(&p("d/e")).await.unwrap();
        fs.create_dir(&p("d/e")).await.unwrap();
        assert!(fs.stat(&p("d/e")).await.unwrap().unwrap().is_dir);

        fs.write_all(&p("d/f"), Bytes::from_static(b"hello world"))
            .await
            .unwrap();
        let st = fs.stat(&p("d/f")).await.unwrap().unwrap();
        assert_eq!((st.name.as_str(), st.is_dir, st.length), ("f", false, 11));
        assert!(st.mtime_ns > 0);
        assert_eq!(
            fs.read_range(&p("d/f"), 6, 5).await.unwrap(),
            Bytes::from_static(b"world")
        );
        assert_eq!(
            fs.read_range(&p("d/f"), 6, 100).await.unwrap(),
            Bytes::from_static(b"world")
        );

        // The writer creates its parents; bytes are there after close.
        let mut w = fs.writer(&p("w/new/tmp")).await.unwrap();
        w.write(Bytes::from_static(b"abc")).await.unwrap();
        w.write(Bytes::from_static(b"def")).await.unwrap();
        w.close().await.unwrap();
        assert!(w.write(Bytes::from_static(b"x")).await.is_err());
        assert_eq!(
            fs.read_range(&p("w/new/tmp"), 0, 6).await.unwrap(),
            Bytes::from_static(b"abcdef")
        );
        // Abort removes the partial file.
        let mut w = fs.writer(&p("w/aborted")).await.unwrap();
        w.write(Bytes::from_static(b"partial")).await.unwrap();
        w.abort().await.unwrap();
        assert_eq!(fs.stat(&p("w/aborted")).await.unwrap(), None);

        assert_eq!(
            names(fs, &p("d")).await,
            vec![("e".into(), true, 0), ("f".into(), false, 11)]
        );
        assert_eq!(names(fs, &p("missing")).await, vec![]);
        assert_eq!(names(fs, &p("d/f")).await, vec![]);

        // Rename replaces a file and creates the target's parents.
        fs.rename(&p("w/new/tmp"), &p("d/f")).await.unwrap();
        assert_eq!(fs.stat(&p("w/new/tmp")).await.unwrap(), None);
        assert_eq!(
            fs.read_range(&p("d/f"), 0, 100).await.unwrap(),
            Bytes::from_static(b"abcdef")
        );
        fs.rename(&p("d/f"), &p("x/y/g")).await.unwrap();
        assert_eq!(fs.stat(&p("x/y/g")).await.unwrap().unwrap().length, 6);
        fs.rename(&p("d"), &p("d2")).await.unwrap();
        assert!(fs.stat(&p("d2/e")).await.unwrap().unwrap().is_dir);
        assert!(matches!(
            fs.rename(&p("nope"), &p("other")).await,
            Err(FsError::NotFound(_))
        ));

        // Missing paths.
        assert_eq!(fs.stat(&p("nope")).await.unwrap(), None);
        assert_eq!(fs.stat(&p("nope/deeper")).await.unwrap(), None);
        assert!(matches!(
            fs.read_range(&p("nope"), 0, 1).await,
            Err(FsError::NotFound(_))
        ));
        fs.delete_file(&p("nope")).await.unwrap();
        fs.delete_dir_all(&p("nope")).await.unwrap();

        fs.delete_file(&p("x/y/g")).await.unwrap();
        assert_eq!(fs.stat(&p("x/y/g")).await.unwrap(), None);
        fs.delete_dir_all(&p("d2")).await.unwrap();
        assert_eq!(fs.stat(&p("d2")).await.unwrap(), None);
    }

    #[tokio::test]
    async fn operations_on_short_paths() {
        // Both placements of the short calls behave the same.
        for place in [ShortCalls::Inline, ShortCalls::Pool] {
            let (_root, mut fs) = Root::new("short");
            fs.short = place;
            exercise(&fs, "").await;
            assert!(fs.stat("").await.unwrap().unwrap().is_dir);
            assert!(matches!(
                fs.read_range("../etc/passwd", 0, 1).await,
                Err(FsError::NotFound(_))
            ));
        }
    }

    #[tokio::test]
    async fn operations_beyond_path_max() {
        let (root, fs) = Root::new("long");
        let base = long_dir('a');
        assert!(root.0.join(&base).as_os_str().len() > 4096);
        exercise(&fs, &base).await;

        // Across two long directories, both created on the way.
        let other = long_dir('b');
        fs.write_all(&format!("{base}/f"), Bytes::from_static(b"1"))
            .await
            .unwrap();
        fs.rename(&format!("{base}/f"), &format!("{other}/g"))
            .await
            .unwrap();
        assert_eq!(fs.stat(&format!("{base}/f")).await.unwrap(), None);
        assert_eq!(
            fs.read_range(&format!("{other}/g"), 0, 1).await.unwrap(),
            Bytes::from_static(b"1")
        );
        let top: Vec<_> = names(&fs, "").await.into_iter().map(|n| n.0).collect();
        assert_eq!(top, vec!["a".repeat(250), "b".repeat(250)]);

        // Removing a tree deeper than PATH_MAX from its top.
        fs.delete_dir_all(&"b".repeat(250)).await.unwrap();
        fs.delete_dir_all(&"a".repeat(250)).await.unwrap();
        assert_eq!(names(&fs, "").await, vec![]);
    }

    /// A full disk is NoSpace (ENOSPC through the mount), not a generic UFS
    /// error (EIO).
    #[test]
    fn a_full_disk_is_no_space() {
        for errno in [libc::ENOSPC, libc::EDQUOT] {
            let e = io_err("write", "/f", io::Error::from_raw_os_error(errno));
            assert!(
                matches!(e, FsError::NoSpace(ref m) if m.contains("/f")),
                "{e:?}"
            );
        }
        let e = io_err("write", "/f", io::Error::from_raw_os_error(libc::EIO));
        assert!(matches!(e, FsError::Ufs(_)), "{e:?}");
    }

    #[tokio::test]
    async fn too_long_component_names_the_path() {
        let (_root, fs) = Root::new("name");
        for base in [String::new(), long_dir('c')] {
            fs.create_dir(&base).await.unwrap();
            let path = format!("{base}/{}", "z".repeat(300));
            match fs.write_all(&path, Bytes::from_static(b"x")).await {
                Err(FsError::NameTooLong(m)) => assert!(m.contains(&path), "{m}"),
                other => panic!("{other:?}"),
            }
            match fs.create_dir(&path).await {
                Err(FsError::NameTooLong(m)) => assert!(m.contains(&path), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
