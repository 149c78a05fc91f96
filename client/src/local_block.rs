//! Short-circuit reads: a block cached by a worker on this machine is read
//! straight from the worker's file instead of through a gRPC stream. The
//! worker names the file and its device and inode numbers; the client opens
//! it and checks those numbers, so a client that does not share the
//! worker's machine or mount view falls back to streaming instead of
//! reading the wrong file. The open descriptor keeps the block's bytes
//! readable even if the worker evicts it meanwhile (block ids never name
//! other bytes).

use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use alluxio_common::{FsError, FsResult};
use alluxio_proto::{
    CompleteLocalBlockRequest, CreateLocalBlockRequest, OpenLocalBlockRequest, WorkerNetAddress,
};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::block_map::BlockMap;
use crate::worker_pool::WorkerPool;

/// A worker's block file opened for reading.
#[derive(Debug)]
pub(crate) struct LocalBlock {
    file: Arc<File>,
    /// The file mapped into memory, when it could be: reads hand out its
    /// pages instead of copies (`block_map.rs`).
    map: Option<Arc<BlockMap>>,
    length: u64,
    /// Where the previous read ended: a read starting there is sequential,
    /// and the kernel is asked to fetch ahead of it.
    next: AtomicU64,
    /// How far the kernel has been asked to fetch: a sequential reader
    /// extends it only once half the window is used up, so hints cover
    /// each byte about once (a hint over cached pages still walks them).
    hinted: AtomicU64,
}

/// How far ahead of a sequential reader the kernel is asked to read the
/// block file (cold reads then overlap the disk with the FUSE round trips).
pub(crate) const READ_AHEAD: u64 = 8 << 20;

/// Whether `host` names this machine: the configured local host name or a
/// loopback address.
pub(crate) fn is_local_host(host: &str, local: &str) -> bool {
    host == local || host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl LocalBlock {
    /// Asks `worker` for `block_id`'s file and opens it; `length` is the
    /// block length the master recorded.
    pub(crate) async fn open(
        pool: &WorkerPool,
        worker: &WorkerNetAddress,
        block_id: u64,
        length: u64,
    ) -> FsResult<LocalBlock> {
        let mut client = pool.client(worker)?;
        let resp = client
            .open_local_block(OpenLocalBlockRequest { block_id })
            .await
            .map_err(FsError::from)?
            .into_inner();
        if resp.length != length {
            return Err(FsError::Internal(format!(
                "worker holds {} bytes of block {block_id}, expected {length}",
                resp.length
            )));
        }
        let file = tokio::task::spawn_blocking(move || -> FsResult<File> {
            let file = File::open(&resp.path)
                .map_err(|e| FsError::Unavailable(format!("opening {}: {e}", resp.path)))?;
            let meta = file
                .metadata()
                .map_err(|e| FsError::Unavailable(format!("stat {}: {e}", resp.path)))?;
            if meta.dev() != resp.device || meta.ino() != resp.inode || meta.len() != length {
                return Err(FsError::Unavailable(format!(
                    "{} is not the worker's file for block {block_id}",
                    resp.path
                )));
            }
            Ok(file)
        })
        .await
        .map_err(|e| FsError::Internal(format!("short-circuit open task: {e}")))??;
        Ok(LocalBlock {
            map: BlockMap::new(&file, length),
            file: Arc::new(file),
            length,
            next: AtomicU64::new(0),
            hinted: AtomicU64::new(0),
        })
    }

    /// Asks the kernel to have the [`READ_AHEAD`] bytes of the block file
    /// from `from` on in the page cache. Only a hint: reads are correct
    /// either way.
    pub(crate) fn read_ahead(&self, from: u64) {
        let hinted = self.hinted.load(Ordering::Relaxed);
        let Some((start, end)) = hint_range(from, hinted, self.length) else {
            return;
        };
        self.hinted.store(end, Ordering::Relaxed);
        // SAFETY: plain syscall on a descriptor we own.
        unsafe {
            libc::posix_fadvise(
                self.file.as_raw_fd(),
                start as libc::off_t,
                (end - start) as libc::off_t,
                libc::POSIX_FADV_WILLNEED,
            );
        }
    }

    /// Reads up to `len` bytes at `offset` within the block: a range of the
    /// mapped file when there is one, else a copy read with `pread`.
    ///
    /// The read runs on this thread when the runtime allows blocking in
    /// place (the multi-threaded one FUSE and the servers use): a page-cache
    /// hit then costs no thread hand-off. Elsewhere it goes to the blocking
    /// pool.
    pub(crate) async fn read_at(&self, offset: u64, len: usize) -> FsResult<Bytes> {
        let len = len.min(self.length.saturating_sub(offset) as usize);
        if len == 0 {
            return Ok(Bytes::new());
        }
        if self.next.swap(offset + len as u64, Ordering::Relaxed) == offset {
            self.read_ahead(offset + len as u64);
        }
        let file = self.file.clone();
        let map = self.map.clone();
        let block_len = self.length;
        let read = move || {
            // A range that cannot be read in is read again with pread,
            // which reports the error.
            if let Some(Ok(bytes)) = map.map(|m| m.range(offset, len)) {
                return Ok(bytes);
            }
            pread_exact(&file, offset, len, block_len)
        };
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            tokio::task::block_in_place(read)
        } else {
            tokio::task::spawn_blocking(read)
                .await
                .map_err(|e| FsError::Internal(format!("short-circuit read task: {e}")))?
        }
    }
}

/// The part of the window `[from, from + READ_AHEAD)` (cut at `length`) to
/// hint, given that everything up to `hinted` was hinted before: within the
/// window only the part not yet hinted, and only once half of the window is
/// used up; a reader that jumped anywhere else starts a new window.
fn hint_range(from: u64, hinted: u64, length: u64) -> Option<(u64, u64)> {
    let end = (from + READ_AHEAD).min(length);
    let start = if (from..=end).contains(&hinted) {
        if hinted >= (from + READ_AHEAD / 2).min(end) {
            return None;
        }
        hinted
    } else {
        from
    };
    (start < end).then_some((start, end))
}

/// Reads exactly `len` bytes at `offset` into a fresh buffer, without
/// zero-filling it first.
pub(crate) fn pread_exact(file: &File, offset: u64, len: usize, block_len: u64) -> FsResult<Bytes> {
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    let mut n = 0;
    while n < len {
        let spare = &mut buf.spare_capacity_mut()[..len - n];
        // SAFETY: `spare` is valid, writable memory of `len - n` bytes that
        // pread only writes to; the bytes it reports are then initialized.
        let r = unsafe {
            libc::pread(
                file.as_raw_fd(),
                spare.as_mut_ptr().cast(),
                spare.len(),
                (offset + n as u64) as libc::off_t,
            )
        };
        match r {
            0 => break,
            k if k > 0 => {
                n += k as usize;
                // SAFETY: pread initialized these `k` more bytes.
                unsafe { buf.set_len(n) };
            }
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(FsError::Unavailable(format!("short-circuit read: {e}")));
                }
            }
        }
    }
    if n < len {
        return Err(FsError::Corrupt(format!(
            "cached block file ended at {} of {block_len} bytes",
            offset + n as u64
        )));
    }
    Ok(Bytes::from(buf))
}

/// A new block this client writes itself into a temporary file of a worker
/// on this machine (short-circuit write): the worker reserves the space and
/// creates the file, a background task here writes the pieces in order, and
/// the worker commits the block when told its final length.
pub(crate) struct LocalBlockWriter {
    worker: WorkerNetAddress,
    block_id: u64,
    tx: Option<mpsc::Sender<Bytes>>,
    /// The writing task until it is awaited (once), then its outcome.
    task: Option<JoinHandle<FsResult<()>>>,
    ended: Option<FsResult<()>>,
    /// Bytes handed to the writer so far.
    pub(crate) written: u64,
}

/// Pieces queued ahead of the block file writer.
const WRITE_QUEUE: usize = 8;

impl LocalBlockWriter {
    /// Asks `worker` for a temporary file for `block_id` (reserving `hint`
    /// bytes) and opens it, checking it is the worker's file.
    pub(crate) async fn create(
        pool: &WorkerPool,
        worker: &WorkerNetAddress,
        block_id: u64,
        hint: u64,
        only_copy: bool,
    ) -> FsResult<LocalBlockWriter> {
        let mut client = pool.client(worker)?;
        let resp = client
            .create_local_block(CreateLocalBlockRequest {
                block_id,
                length_hint: hint,
                only_copy,
            })
            .await
            .map_err(FsError::from)?
            .into_inner();
        let opened = tokio::task::spawn_blocking(move || -> FsResult<File> {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&resp.path)
                .map_err(|e| FsError::Unavailable(format!("opening {}: {e}", resp.path)))?;
            let meta = file
                .metadata()
                .map_err(|e| FsError::Unavailable(format!("stat {}: {e}", resp.path)))?;
            if meta.dev() != resp.device || meta.ino() != resp.inode {
                return Err(FsError::Unavailable(format!(
                    "{} is not the worker's file for block {block_id}",
                    resp.path
                )));
            }
            Ok(file)
        })
        .await
        .map_err(|e| FsError::Internal(format!("short-circuit open task: {e}")))?;
        let file = match opened {
            Ok(f) => f,
            Err(e) => {
                cancel(pool, worker, block_id);
                return Err(e);
            }
        };
        let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
        let task = tokio::spawn(async move {
            let mut file = Some(file);
            while let Some(data) = rx.recv().await {
                let mut f = file.take().expect("returned by the previous write");
                f = tokio::task::spawn_blocking(move || -> FsResult<File> {
                    f.write_all(&data)
                        .map_err(|e| FsError::Unavailable(format!("short-circuit write: {e}")))?;
                    Ok(f)
                })
                .await
                .map_err(|e| FsError::Internal(format!("short-circuit write task: {e}")))??;
                file = Some(f);
            }
            Ok(())
        });
        Ok(LocalBlockWriter {
            worker: worker.clone(),
            block_id,
            tx: Some(tx),
            task: Some(task),
            ended: None,
            written: 0,
        })
    }

    /// Queues `data` after what was written so far.
    pub(crate) async fn write(&mut self, data: Bytes) -> FsResult<()> {
        let len = data.len() as u64;
        let sent = match &self.tx {
            Some(tx) => tx.send(data).await.is_ok(),
            None => false,
        };
        if sent {
            self.written += len;
            return Ok(());
        }
        match self.join().await {
            Err(e) => Err(e),
            Ok(()) => Err(FsError::Internal("short-circuit writer stopped".into())),
        }
    }

    /// Stops feeding the writing task and waits for it (once).
    async fn join(&mut self) -> FsResult<()> {
        self.tx = None;
        if let Some(task) = self.task.take() {
            self.ended = Some(match task.await {
                Ok(r) => r,
                Err(e) => Err(FsError::Internal(format!("short-circuit write task: {e}"))),
            });
        }
        self.ended
            .clone()
            .unwrap_or_else(|| Err(FsError::Internal("short-circuit write task lost".into())))
    }

    /// Waits for the queued pieces and has the worker commit the block.
    pub(crate) async fn commit(mut self, pool: &WorkerPool) -> FsResult<u64> {
        if let Err(e) = self.join().await {
            cancel(pool, &self.worker, self.block_id);
            return Err(e);
        }
        let mut client = pool.client(&self.worker)?;
        let resp = client
            .complete_local_block(CompleteLocalBlockRequest {
                block_id: self.block_id,
                length: self.written,
                cancel: false,
            })
            .await
            .map_err(FsError::from)?
            .into_inner();
        Ok(resp.length)
    }

    /// Drops the block: the worker deletes its file and frees the space.
    pub(crate) fn cancel(self, pool: &WorkerPool) {
        if let Some(task) = &self.task {
            task.abort();
        }
        cancel(pool, &self.worker, self.block_id);
    }
}

/// Tells `worker` to drop the temporary block, in the background (a
/// failure only leaves it to the worker's expiry).
fn cancel(pool: &WorkerPool, worker: &WorkerNetAddress, block_id: u64) {
    let Ok(mut client) = pool.client(worker) else {
        return;
    };
    tokio::spawn(async move {
        let _ = client
            .complete_local_block(CompleteLocalBlockRequest {
                block_id,
                length: 0,
                cancel: true,
            })
            .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts() {
        assert!(is_local_host("127.0.0.1", "node1"));
        assert!(is_local_host("::1", "node1"));
        assert!(is_local_host("localhost", "node1"));
        assert!(is_local_host("node1", "node1"));
        assert!(!is_local_host("node2", "node1"));
        assert!(!is_local_host("10.0.0.2", "node1"));
    }

    #[test]
    fn a_sequential_reader_hints_each_byte_once_half_a_window_ahead() {
        const MIB: u64 = 1 << 20;
        let len = 64 * MIB;
        let (mut hinted, mut covered) = (0, Vec::new());
        for read_end in (1..=64).map(|i| i * MIB) {
            if let Some((start, end)) = hint_range(read_end, hinted, len) {
                assert_eq!(start, hinted.max(read_end), "no byte hinted twice");
                assert!(end - read_end <= READ_AHEAD);
                covered.push((start, end));
                hinted = end;
            }
            // At least half a window ahead is always on its way.
            assert!(hinted >= (read_end + READ_AHEAD / 2).min(len), "{read_end}");
        }
        assert_eq!(hinted, len);
        assert!(covered.windows(2).all(|w| w[0].1 == w[1].0), "{covered:?}");
        // One hint per 1 MiB read would be 64 of them.
        assert!(
            covered.len() as u64 <= len / (READ_AHEAD / 2),
            "{covered:?}"
        );
    }

    #[test]
    fn a_reader_that_jumps_starts_a_new_window() {
        let len = 1 << 30;
        assert_eq!(hint_range(0, 0, len), Some((0, READ_AHEAD)));
        // Back to the start after the window moved far ahead.
        assert_eq!(hint_range(0, 100 * READ_AHEAD, len), Some((0, READ_AHEAD)));
        // Far ahead of everything hinted.
        let far = 50 * READ_AHEAD;
        assert_eq!(
            hint_range(far, READ_AHEAD, len),
            Some((far, far + READ_AHEAD))
        );
        // The block's end bounds the window; nothing left to hint at the end.
        assert_eq!(hint_range(len - 10, len, len), None);
        assert_eq!(
            hint_range(len - READ_AHEAD, 0, len),
            Some((len - READ_AHEAD, len))
        );
    }
}
