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
//! The temporary file is unlinked as soon as it is created, so a crashed
//! daemon leaves nothing behind in the staging directory.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use alluxio_client::{CreateFileOptions, FileInfo, FileOutStream, FileSystem, FsError, FsResult};

use super::write_behind::Sequence;

/// Bytes moved per read/write while loading or committing.
const CHUNK: usize = 4 << 20;

/// The directory that holds staged files.
pub struct StagingDir {
    dir: PathBuf,
    next: AtomicU64,
}

/// One staged file, shared by every handle of its inode that is open.
pub struct Staged {
    pub file: File,
    /// Whether the staged bytes differ from the committed version.
    pub dirty: bool,
    /// Handles using this copy.
    pub handles: usize,
    /// The last handle closed and the copy left the inode's slot; a
    /// request that raced with that must stage afresh.
    pub retired: bool,
    /// Permission bits and ownership the committed version must keep.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// The version last staged or committed: what `stat` reports (with the
    /// staged size) once every name of the file is gone but a handle is
    /// still open.
    pub info: FileInfo,
    /// Write-behind of in-order writes (see `write_behind`).
    pub sequence: Sequence,
}

fn local(e: std::io::Error) -> FsError {
    FsError::Internal(format!("staging file: {e}"))
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
            dir,
            next: AtomicU64::new(0),
        })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A new empty, already unlinked, temporary file.
    pub fn temp_file(&self) -> std::io::Result<File> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let p = self.dir.join(format!("stage-{n}"));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)?;
        std::fs::remove_file(&p)?;
        Ok(f)
    }

    /// Stages `info`'s file: its current bytes unless `empty`.
    pub async fn stage(&self, fs: &FileSystem, info: &FileInfo, empty: bool) -> FsResult<Staged> {
        let file = self.temp_file().map_err(local)?;
        if !empty && info.length > 0 {
            let mut input = fs.open_file(&info.path).await?;
            let mut off = 0u64;
            while let Some(chunk) = input.read_chunk().await? {
                file.write_all_at(&chunk, off).map_err(local)?;
                off += chunk.len() as u64;
            }
        }
        Ok(Staged {
            file,
            dirty: false,
            handles: 0,
            retired: false,
            mode: info.mode & 0o7777,
            owner: info.owner.clone(),
            group: info.group.clone(),
            info: info.clone(),
            sequence: Sequence::starting_at(if empty { 0 } else { info.length }),
        })
    }

    /// Unlinks nothing (files are unlinked at creation) but removes the
    /// directory if it is ours and empty.
    pub fn cleanup(&self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

impl Staged {
    /// Current size of the staged bytes.
    pub fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Commits the staged bytes as the new version of `path` and returns
    /// its info. Clears `dirty` on success.
    ///
    /// The master starts a new version of the existing file in place
    /// (`keep_inode`): same inode id, same links, mode and owner, so inode
    /// numbers stay stable across commits and remounts and no temporary
    /// name ever appears in the directory. (A file that vanished meanwhile
    /// is created afresh.) If the upload fails the file is left incomplete
    /// and `dirty` stays set, so the next flush or release retries.
    pub async fn commit(&mut self, fs: &FileSystem, path: &str) -> FsResult<FileInfo> {
        let len = self.len().map_err(local)?;
        let mut info = match self.sequence.finish(len).await {
            Some(Ok(info)) => info,
            Some(Err(e)) => {
                tracing::warn!(
                    "completing the streamed version of {path} failed ({e}): uploading it again"
                );
                self.upload(fs, path, len).await?
            }
            None => self.upload(fs, path, len).await?,
        };
        if info.owner != self.owner || info.group != self.group {
            let req = alluxio_proto::SetAttributeRequest {
                path: path.to_string(),
                owner: Some(self.owner.clone()),
                group: Some(self.group.clone()),
                ..Default::default()
            };
            info = fs.set_attribute(req).await?;
        }
        self.dirty = false;
        self.info = info.clone();
        Ok(info)
    }

    /// Writes the `len` staged bytes as a new version of `path`.
    async fn upload(&mut self, fs: &FileSystem, path: &str, len: u64) -> FsResult<FileInfo> {
        let mut out = open_version(fs, path, self.mode).await?;
        if let Err(e) = send_staged(&self.file, &mut out, 0, len).await {
            out.abandon().await;
            return Err(e);
        }
        out.close().await
    }
}

/// Starts a new version of `path` in place (same inode, see `commit`).
pub(super) async fn open_version(
    fs: &FileSystem,
    path: &str,
    mode: u32,
) -> FsResult<FileOutStream> {
    let opts = CreateFileOptions {
        mode,
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
    file: &File,
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
pub(super) fn read_piece(file: &File, off: u64, want: usize) -> std::io::Result<bytes::Bytes> {
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
