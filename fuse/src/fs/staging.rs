//! Write staging: a file open for writing lives in a local temporary file,
//! so random writes, appends, overwrites and truncation are plain local
//! file operations; the whole file is then committed to the cluster as a new
//! version.
//!
//! A commit writes the bytes as a new version of the same master inode
//! (`create_file` with `keep_inode`), so inode numbers never change. While
//! the new version is being written the file shows as incomplete; the old
//! UFS object is replaced atomically when the version completes.
//!
//! The temporary file (`stage_file.rs`) is created at the first write and
//! unlinked at once, so a crashed daemon leaves nothing behind in the
//! staging directory.

use std::path::Path;
use std::sync::Arc;

use alluxio_client::{
    CreateFileOptions, FileInfo, FileOutStream, FileSystem, FsError, FsResult, SetAttributeOptions,
};

use super::stage_file::StageFile;
use super::write_behind::Sequence;

/// Bytes moved per read/write while loading or committing.
const CHUNK: usize = 4 << 20;

/// The directory that holds staged files.
pub struct StagingDir {
    dir: Arc<Path>,
}

/// One staged file, shared by every handle of its inode that is open.
pub struct Staged {
    pub file: StageFile,
    /// Whether the staged bytes differ from the committed version.
    pub dirty: bool,
    /// When the staged bytes were last changed, if after the last commit:
    /// what `stat` reports as the modification time until the commit.
    pub modified_ns: Option<i64>,
    /// A modification time set explicitly (utimensat, as `cp -p` does
    /// before close) after the last change: the commit keeps it.
    pub mtime_set_ns: Option<i64>,
    /// The copy left its inode (no handle needed it any more); a request
    /// that raced with that must stage afresh.
    pub retired: bool,
    /// Permission bits and ownership the committed version must keep.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// Attributes set while the copy was dirty (`chmod`, `chown`, times:
    /// what `tar` and `cp -p` do before `close`): kept here, shown by
    /// `stat` on this mount, and set with the commit, in the same master
    /// call and journal entry as its bytes (decision 0014). `owner` and
    /// `group` above hold their owner and group; `mtime_set_ns` their
    /// modification time.
    pub deferred: SetAttributeOptions,
    /// The version last staged or committed: what `stat` reports (with the
    /// staged size) once every name of the file is gone but a handle is
    /// still open.
    pub info: FileInfo,
    /// Write-behind of in-order writes (see `write_behind`).
    pub sequence: Sequence,
    /// Bytes that only a failed stream held are gone: every later
    /// operation on this copy fails with this error, and the file keeps
    /// its last committed version.
    pub lost: Option<FsError>,
    /// A commit that failed at the last release is being tried again in
    /// the background (`commit_retry`): that task owns the copy's commit
    /// until it ends, and no second one starts.
    pub retrying: bool,
}

/// A failed staging-file operation; a full disk or quota is `NoSpace`
/// (ENOSPC to the caller), anything else an internal error (EIO).
fn local(e: std::io::Error) -> FsError {
    if alluxio_common::error::is_no_space(&e) {
        FsError::NoSpace(format!("staging file: {e}"))
    } else {
        FsError::Internal(format!("staging file: {e}"))
    }
}

impl StagingDir {
    /// Creates (if needed) the staging directory: `dir`, or
    /// `$TMPDIR/alluxio-fuse-<pid>`.
    pub fn new(dir: Option<&Path>) -> std::io::Result<StagingDir> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::temp_dir().join(format!("alluxio-fuse-{}", std::process::id())),
        };
        std::fs::create_dir_all(&dir)?;
        Ok(StagingDir {
            dir: Arc::from(dir.as_path()),
        })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Stages `info`'s file: its current bytes unless `empty`. `info` may
    /// be older than the current version (another handle committed since
    /// it was fetched): the bytes and the attributes staged are those of
    /// the version read.
    pub async fn stage(&self, fs: &FileSystem, info: &FileInfo, empty: bool) -> FsResult<Staged> {
        let mut file = StageFile::new(self.dir.clone());
        let mut info = info.clone();
        if !empty && info.length == 0 {
            info = fs.get_status(&info.path).await?;
        }
        if !empty && info.length > 0 {
            let mut input = fs.open_file(&info.path).await?;
            info = input.info().clone();
            let mut off = 0u64;
            while let Some(chunk) = input.read_chunk().await? {
                file.write_all_at(&chunk, off).map_err(local)?;
                off += chunk.len() as u64;
            }
        }
        Ok(Staged {
            file,
            dirty: false,
            modified_ns: None,
            mtime_set_ns: None,
            retired: false,
            mode: info.mode & 0o7777,
            owner: info.owner.clone(),
            group: info.group.clone(),
            deferred: SetAttributeOptions::default(),
            sequence: Sequence::starting_at(if empty { 0 } else { info.length }),
            info,
            lost: None,
            retrying: false,
        })
    }

    /// Unlinks nothing (files are unlinked at creation) but removes the
    /// directory if it is ours and empty.
    pub fn cleanup(&self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

impl Staged {
    /// The file's current size: the staged bytes, or the end of what was
    /// streamed past them.
    pub fn len(&self) -> std::io::Result<u64> {
        Ok(self.sequence.len(self.file.len()?))
    }

    /// The staged bytes were just changed.
    pub fn changed(&mut self) {
        self.dirty = true;
        self.modified_ns = Some(super::attr::nanos(std::time::SystemTime::now()));
        self.mtime_set_ns = None;
    }

    /// Forgets what the copy held for a commit that will not come (its
    /// bytes lost or dropped): it is clean, with no attribute kept.
    pub fn forget_changes(&mut self) {
        self.dirty = false;
        self.mtime_set_ns = None;
        self.deferred = SetAttributeOptions::default();
    }

    /// The modification time was set to `ns` explicitly.
    pub fn mtime_set(&mut self, ns: i64) {
        self.modified_ns = Some(ns);
        if self.dirty {
            self.mtime_set_ns = Some(ns);
        }
    }

    /// Records that bytes only the stream held are lost (see `lost`) and
    /// returns the error for the caller.
    pub fn lose(&mut self, e: FsError) -> FsError {
        tracing::error!("write-behind failed, the file keeps its last committed version: {e}");
        self.forget_changes();
        self.lost = Some(e.clone());
        e
    }

    /// The error every operation on a copy that lost bytes returns.
    pub fn check(&self) -> FsResult<()> {
        match &self.lost {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Makes the staged file whole again (see `write_behind`): completes
    /// the stream as a version of `path` if one is open, then reads the
    /// range only it held back from that version. Returns the version if
    /// this committed one.
    pub async fn settle(
        &mut self,
        fs: &FileSystem,
        path: Option<&str>,
    ) -> FsResult<Option<FileInfo>> {
        self.check()?;
        let Some((from, to)) = self.sequence.missing() else {
            return Ok(None);
        };
        let Some(path) = path else {
            let e = FsError::NotFound("the file being written has no name any more".into());
            return Err(self.lose(e));
        };
        let committed = if self.sequence.streaming() {
            Some(self.commit(fs, path).await?)
        } else {
            None
        };
        self.load_back(fs, path, from, to).await?;
        Ok(committed)
    }

    /// Reads `from..to` of the version `self.info` back into the staged
    /// file.
    async fn load_back(&mut self, fs: &FileSystem, path: &str, from: u64, to: u64) -> FsResult<()> {
        let mut input = fs.open_file(path).await?;
        let current = input.info();
        if current.id != self.info.id
            || current.container_id != self.info.container_id
            || current.length < to
        {
            let e = FsError::FailedPrecondition(format!(
                "{path} was replaced while it was being written"
            ));
            return Err(self.lose(e));
        }
        input.seek(from);
        let mut off = from;
        while off < to {
            let Some(chunk) = input.read_chunk().await? else {
                break;
            };
            let take = chunk.len().min((to - off) as usize);
            self.file.write_all_at(&chunk[..take], off).map_err(local)?;
            off += take as u64;
        }
        if off < to {
            let e = FsError::Corrupt(format!("{path}: the written version ends at {off}"));
            return Err(self.lose(e));
        }
        self.sequence.loaded();
        Ok(())
    }

    /// Commits the staged bytes as the new version of `path` and returns
    /// its info. Clears `dirty` on success.
    ///
    /// The master starts a new version of the existing file in place
    /// (`keep_inode`): same inode id, same links, mode and owner, so inode
    /// numbers stay stable across commits and remounts and no temporary
    /// name ever appears in the directory. (A file that vanished meanwhile
    /// is created afresh.) If the upload fails the file is left incomplete
    /// and `dirty` stays set, so the next flush or release retries (after
    /// the last release, `commit_retry` does, in the background) — unless
    /// the failed stream held bytes the staged file lacks: then they are
    /// lost (`lose`) and every later operation reports it.
    pub async fn commit(&mut self, fs: &FileSystem, path: &str) -> FsResult<FileInfo> {
        self.check()?;
        let len = self.len().map_err(local)?;
        let missing = self.sequence.missing();
        let attrs = self
            .sequence
            .streamed()
            .map(|v| self.completion(v))
            .unwrap_or_default();
        let info = match self.sequence.finish(len, &attrs).await {
            Some(Ok(info)) => info,
            // The stream held bytes the staged file does not.
            Some(Err(e)) if missing.is_some() => return Err(self.lose(e)),
            Some(Err(e)) => {
                tracing::warn!(
                    "completing the streamed version of {path} failed ({e}): uploading it again"
                );
                self.upload(fs, path, len).await?
            }
            None => {
                if let Some((from, to)) = missing {
                    self.load_back(fs, path, from, to).await?;
                }
                self.upload(fs, path, len).await?
            }
        };
        self.dirty = false;
        self.modified_ns = None;
        self.mtime_set_ns = None;
        self.deferred = SetAttributeOptions::default();
        self.info = info.clone();
        Ok(info)
    }

    /// The attributes the commit of version `v` sets with it: those set
    /// while the copy was dirty, and the ownership this copy must keep
    /// where `v` differs (a file that vanished meanwhile is created
    /// afresh, as the daemon's user).
    fn completion(&self, v: &FileInfo) -> SetAttributeOptions {
        let d = &self.deferred;
        SetAttributeOptions {
            mode: d.mode,
            owner: (d.owner.clone()).or_else(|| Some(self.owner.clone()).filter(|o| *o != v.owner)),
            group: (d.group.clone()).or_else(|| Some(self.group.clone()).filter(|g| *g != v.group)),
            mtime_ns: self.mtime_set_ns,
            atime_ns: self.deferred.atime_ns,
            recursive: false,
        }
    }

    /// Writes the `len` staged bytes as a new version of `path`.
    async fn upload(&mut self, fs: &FileSystem, path: &str, len: u64) -> FsResult<FileInfo> {
        let mut out = open_version(fs, path, self.mode).await?;
        if let Err(e) = send_staged(&self.file, &mut out, 0, len).await {
            out.abandon().await;
            return Err(e);
        }
        let attrs = self.completion(out.info());
        out.close_with(&attrs).await
    }
}

/// Starts a new version of `path` in place (same inode, see `commit`).
pub(super) async fn open_version(
    fs: &FileSystem,
    path: &str,
    mode: u32,
) -> FsResult<FileOutStream> {
    let opts = CreateFileOptions {
        mode: Some(mode),
        overwrite: true,
        keep_inode: true,
        ..Default::default()
    };
    fs.create_file(path, opts).await
}

/// Sends the staged bytes `from..to` of `file` to `out`, in chunks handed
/// over without a copy; stops early at the end of the file. Returns the
/// bytes sent.
pub(super) async fn send_staged(
    file: &StageFile,
    out: &mut FileOutStream,
    from: u64,
    to: u64,
) -> FsResult<u64> {
    let mut off = from;
    while off < to {
        let want = CHUNK.min((to - off) as usize);
        let piece = read_piece(file, off, want).map_err(local)?;
        if piece.is_empty() {
            break;
        }
        off += piece.len() as u64;
        out.write_bytes(piece).await?;
    }
    Ok(off - from)
}

/// Reads up to `want` bytes at `off` into a fresh buffer (short only at the
/// end of the file).
pub(super) fn read_piece(file: &StageFile, off: u64, want: usize) -> std::io::Result<bytes::Bytes> {
    let mut buf = vec![0u8; want];
    let mut n = 0;
    while n < want {
        match file.read_at(&mut buf[n..], off + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(bytes::Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_staging_disk_is_no_space() {
        for errno in [libc::ENOSPC, libc::EDQUOT] {
            let e = local(std::io::Error::from_raw_os_error(errno));
            assert!(matches!(e, FsError::NoSpace(_)), "{e:?}");
            assert_eq!(crate::errno::errno(&e), fuser::Errno::ENOSPC);
        }
        let e = local(std::io::Error::from_raw_os_error(libc::EIO));
        assert!(matches!(e, FsError::Internal(_)), "{e:?}");
    }
}
