//! Write-behind for files written in order from their start (`cp`, `tar`,
//! `dd`, a sequential fio job): once a few megabytes are staged, the new
//! version is opened at the cluster and every further in-order write is
//! streamed to it as it arrives, so `close(2)` only sends the tail instead
//! of the whole file.
//!
//! Streamed bytes are *not* also written to the staged copy: a second copy
//! of every byte (and its writeback to disk) halved sequential write
//! throughput. So the staged file holds only the prefix `0..held` and the
//! rest, `held..end`, exists only in the stream — or, once the stream
//! completed as a version, only in that version. Whoever needs the staged
//! copy whole (a read through a writing handle, an out-of-order write, a
//! truncation, an unlink or rename) first *settles* it (`Staged::settle`):
//! the stream is completed and the missing range read back from the new
//! version. The price: if the stream itself fails, the bytes only it held
//! are gone, and the failure is reported to the writer (write, fsync,
//! close) instead of being retried from a local copy.

use alluxio_client::{FileInfo, FileOutStream, FileSystem, FsError, FsResult, SetAttributeOptions};
use bytes::Bytes;

use super::staging::{open_version, send_staged};

/// Staged bytes before a stream starts: smaller files are committed at
/// close in one go.
pub const START_AT: u64 = 8 << 20;

/// How the bytes staged so far were written.
#[derive(Default)]
pub struct Sequence {
    /// Every byte so far came from writes at the end of the file, starting
    /// empty.
    in_order: bool,
    /// End of the in-order prefix (the file's length while streaming).
    end: u64,
    /// The stream of the new version, with everything up to `end` sent.
    stream: Option<FileOutStream>,
    /// The staged file holds `0..held`; when `held < end`, `held..end` is
    /// only in the stream (if open) or in the last committed version.
    held: u64,
}

impl Sequence {
    /// The sequence of a staged copy that starts with `len` bytes.
    pub fn starting_at(len: u64) -> Sequence {
        Sequence {
            in_order: len == 0,
            end: len,
            stream: None,
            held: len,
        }
    }

    /// The range the staged file lacks, if any (see the module doc).
    pub fn missing(&self) -> Option<(u64, u64)> {
        (self.held < self.end).then_some((self.held, self.end))
    }

    /// Whether the missing range is still only in the open stream (not in
    /// a completed version yet).
    pub fn streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// The file's length given the staged file's `file_len` (which may
    /// reach past `end` while streaming: an allocation beyond the end,
    /// zeros until written).
    pub fn len(&self, file_len: u64) -> u64 {
        if self.held < self.end {
            self.end.max(file_len)
        } else {
            file_len
        }
    }

    /// Whether a write at `at` goes to the stream only.
    pub fn takes(&self, at: u64) -> bool {
        self.in_order && self.stream.is_some() && at == self.end
    }

    /// Streams `data` (a write at `end`, see `takes`). On an error the
    /// stream is dropped; the caller must treat the missing range as lost.
    pub async fn send(&mut self, data: Bytes) -> FsResult<()> {
        let Some(out) = self.stream.as_mut() else {
            return Err(FsError::Internal("write-behind stream is gone".into()));
        };
        let n = data.len() as u64;
        if let Err(e) = out.write_bytes(data).await {
            self.broken().await;
            return Err(e);
        }
        self.end += n;
        Ok(())
    }

    /// The missing range was read back into the staged file.
    pub fn loaded(&mut self) {
        self.held = self.end;
    }

    /// Stops streaming for good (until the next commit): the version being
    /// streamed is left incomplete, to be superseded. The staged file must
    /// not be missing anything the caller still needs.
    pub async fn broken(&mut self) {
        self.in_order = false;
        if let Some(out) = self.stream.take() {
            out.abandon().await;
        }
    }

    /// The staged copy was cut to `len` bytes (`len <= held`, or settled
    /// before): any stream is dropped and an in-order sequence may start
    /// again only from empty.
    pub async fn reset(&mut self, len: u64) {
        self.broken().await;
        *self = Sequence::starting_at(len);
    }

    /// `data` was just written to the staged file at `at`, which now holds
    /// everything. Once `START_AT` bytes were written in order, opens the
    /// new version and sends what `staged` holds; from then on `takes`
    /// routes in-order writes to the stream. A stream error only ends the
    /// write-behind (nothing is missing yet): the commit at close uploads
    /// the staged file.
    pub async fn wrote(
        &mut self,
        fs: &FileSystem,
        path: Option<String>,
        mode: u32,
        at: u64,
        len: u64,
        staged: &super::stage_file::StageFile,
    ) {
        if !self.in_order || at != self.end {
            self.in_order = false;
            self.held = self.held.max(at + len);
            return;
        }
        self.end += len;
        self.held = self.end;
        if self.end < START_AT {
            return;
        }
        let Some(path) = path else {
            return self.broken().await;
        };
        let mut out = match open_version(fs, &path, mode).await {
            Ok(out) => out,
            Err(e) => {
                tracing::debug!("no write-behind for {path}: {e}");
                self.in_order = false;
                return;
            }
        };
        let sent = match send_staged(staged, &mut out, 0, self.end).await {
            Ok(n) if n == self.end => Ok(()),
            Ok(_) => Err(FsError::Internal("staged file shorter than written".into())),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::debug!("write-behind of {path} stopped: {e}");
            out.abandon().await;
            self.in_order = false;
            return;
        }
        self.stream = Some(out);
    }

    /// Completes the streamed version if the file (`len` bytes) is what
    /// was streamed, followed by zeros only (an allocation past the end
    /// that was never written: see `extended`); `None` means "commit the
    /// staged file the usual way". Afterwards a new in-order sequence may
    /// continue from the committed length (its stream re-sends the whole
    /// file, once the staged copy is settled).
    pub async fn finish(
        &mut self,
        len: u64,
        attrs: &SetAttributeOptions,
    ) -> Option<FsResult<FileInfo>> {
        let mut out = self.stream.take()?;
        if !self.in_order || len < self.end {
            out.abandon().await;
            return None;
        }
        use super::stage_file::ZEROS;
        while self.end < len {
            let n = (len - self.end).min(ZEROS.len() as u64);
            if let Err(e) = out
                .write_bytes(Bytes::from_static(&ZEROS[..n as usize]))
                .await
            {
                out.abandon().await;
                return Some(Err(e));
            }
            self.end += n;
        }
        Some(out.close_with(attrs).await)
    }

    /// The version being streamed, if a stream is open.
    pub fn streamed(&self) -> Option<&FileInfo> {
        self.stream.as_ref().map(|s| s.info())
    }
}
