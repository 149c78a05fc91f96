//! Write-behind for files written in order from their start (`cp`, `tar`,
//! `dd`, a sequential fio job): once a few megabytes are staged, the new
//! version is opened at the cluster and every further in-order write is
//! streamed to it as it arrives, so `close(2)` only sends the tail instead
//! of the whole file. The staged copy is still written in full, so any
//! out-of-order write or truncation simply drops the stream (the version it
//! started stays incomplete and is superseded) and the commit at close
//! uploads the staged file as before.

use std::fs::File;

use alluxio_client::{FileInfo, FileOutStream, FileSystem, FsError, FsResult};
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
    /// End of the in-order prefix.
    end: u64,
    /// The stream of the new version, with everything up to `end` sent.
    stream: Option<FileOutStream>,
}

impl Sequence {
    /// The sequence of a staged copy that starts with `len` bytes.
    pub fn starting_at(len: u64) -> Sequence {
        Sequence {
            in_order: len == 0,
            end: 0,
            stream: None,
        }
    }

    /// Stops streaming for good (until the next commit): the version being
    /// streamed is left incomplete, to be superseded.
    pub async fn broken(&mut self) {
        self.in_order = false;
        if let Some(out) = self.stream.take() {
            out.abandon().await;
        }
    }

    /// The staged copy was cut to `len` bytes: any stream is dropped and
    /// an in-order sequence may start again only from empty.
    pub async fn reset(&mut self, len: u64) {
        self.broken().await;
        *self = Sequence::starting_at(len);
    }

    /// `data` was just staged at `at` in `staged`. Streams it if the file
    /// is still being written in order (a new stream first sends what
    /// `staged` already holds). A stream error only ends the write-behind: the commit
    /// at close uploads everything.
    pub async fn wrote(
        &mut self,
        fs: &FileSystem,
        path: Option<String>,
        mode: u32,
        at: u64,
        data: &[u8],
        staged: &File,
    ) {
        if !self.in_order {
            return;
        }
        if at != self.end {
            return self.broken().await;
        }
        self.end += data.len() as u64;
        if let Some(out) = self.stream.as_mut() {
            if let Err(e) = out.write_bytes(Bytes::copy_from_slice(data)).await {
                tracing::debug!("write-behind stopped: {e}");
                self.broken().await;
            }
            return;
        }
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

    /// Completes the streamed version if the staged copy (`len` bytes) is
    /// exactly what was streamed; `None` means "commit the staged file the
    /// usual way". Afterwards a new in-order sequence may start from the
    /// committed length (the next stream re-sends the whole file).
    pub async fn finish(&mut self, len: u64) -> Option<FsResult<FileInfo>> {
        let out = self.stream.take()?;
        if !self.in_order || len != self.end {
            out.abandon().await;
            return None;
        }
        Some(out.close().await)
    }
}
