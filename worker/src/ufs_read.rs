//! Cache misses: reading a block's bytes from the under file system.
//!
//! A promoting read caches the whole block once, however many readers ask for
//! it at the same time: the first one fetches while the others wait on a
//! per-block lock and then find the block cached. The fetch runs in its own
//! task, so a reader that hangs up does not abort it for the others. A
//! non-promoting read streams just the requested range without touching the
//! cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use alluxio_common::ufs::{Ufs, UfsCache};
use alluxio_common::{FsError, FsResult};
use alluxio_proto::UfsBlockSource;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Mutex as AsyncMutex};

use crate::block_store::BlockStore;

/// Size of one UFS read while fetching or streaming (one GET on object stores).
const UFS_PIECE: u64 = 8 << 20;

/// Where a block's bytes are in the UFS, checked from the wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UfsSource {
    /// URI of the mounted UFS root.
    pub root_uri: String,
    /// Mount options (credentials, endpoint).
    pub options: BTreeMap<String, String>,
    /// Path of the file relative to the root.
    pub path: String,
    /// Offset of the block in the file.
    pub offset_in_file: u64,
    /// Length of the block.
    pub block_length: u64,
}

impl TryFrom<UfsBlockSource> for UfsSource {
    type Error = FsError;

    fn try_from(src: UfsBlockSource) -> FsResult<UfsSource> {
        let location = src.location.ok_or_else(|| {
            FsError::InvalidArgument("UFS block source without a location".into())
        })?;
        if location.root_uri.is_empty() {
            return Err(FsError::InvalidArgument(
                "UFS block source without a root URI".into(),
            ));
        }
        src.offset_in_file
            .checked_add(src.block_length)
            .ok_or_else(|| {
                FsError::InvalidArgument(format!(
                    "UFS block range {}+{} overflows",
                    src.offset_in_file, src.block_length
                ))
            })?;
        Ok(UfsSource {
            root_uri: location.root_uri,
            options: location.options.into_iter().collect(),
            path: location.path,
            offset_in_file: src.offset_in_file,
            block_length: src.block_length,
        })
    }
}

/// Channel end that receives the chunks of a streamed read.
pub type ChunkReceiver = mpsc::Receiver<FsResult<Bytes>>;

/// Reads blocks from UFSes, caching them in the block store on request.
pub struct UfsReader {
    store: BlockStore,
    ufs: UfsCache,
    /// One lock per block being fetched; entries go away with their last user.
    inflight: Mutex<HashMap<u64, Arc<AsyncMutex<()>>>>,
}

impl UfsReader {
    /// A reader that caches into `store`.
    pub fn new(store: BlockStore) -> UfsReader {
        UfsReader {
            store,
            ufs: UfsCache::default(),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// Caches the whole block from the UFS unless it is already cached.
    /// Returns the length if this call stored the block, `None` if it was
    /// there already (possibly fetched by a concurrent call).
    pub async fn cache_block(
        self: &Arc<Self>,
        block_id: u64,
        src: UfsSource,
    ) -> FsResult<Option<u64>> {
        let this = self.clone();
        tokio::spawn(async move { this.fetch_once(block_id, &src).await })
            .await
            .map_err(|e| FsError::Internal(format!("fetching block {block_id}: {e}")))?
    }

    async fn fetch_once(&self, block_id: u64, src: &UfsSource) -> FsResult<Option<u64>> {
        let slot = InflightSlot::take(self, block_id);
        let _held = slot.lock.lock().await;
        if self.store.contains(block_id) {
            return Ok(None);
        }
        let ufs = self.ufs.get(&src.root_uri, &src.options)?;
        let (temp, file) = self.store.create_temp(block_id, src.block_length)?;
        let mut file = tokio::fs::File::from_std(file);
        let write_err = |e: std::io::Error| local_write_error(block_id, e);
        let mut pos = 0;
        while pos < src.block_length {
            let n = UFS_PIECE.min(src.block_length - pos);
            let data = read_exact_range(&ufs, src, pos, n).await?;
            file.write_all(&data).await.map_err(write_err)?;
            pos += n;
        }
        file.flush().await.map_err(write_err)?;
        drop(file);
        Ok(Some(temp.commit()?))
    }

    /// Streams bytes `offset .. offset + length` of the block straight from
    /// the UFS in chunks of `chunk_size`, without caching them.
    pub fn stream_range(
        &self,
        src: UfsSource,
        offset: u64,
        length: u64,
        chunk_size: u64,
    ) -> FsResult<ChunkReceiver> {
        let ufs = self.ufs.get(&src.root_uri, &src.options)?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let end = offset + length;
            let mut pos = offset;
            while pos < end {
                let n = UFS_PIECE.max(chunk_size).min(end - pos);
                let data = match read_exact_range(&ufs, &src, pos, n).await {
                    Ok(data) => data,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let mut start = 0;
                while start < data.len() {
                    let stop = data.len().min(start + chunk_size as usize);
                    if tx.send(Ok(data.slice(start..stop))).await.is_err() {
                        return; // The reader hung up.
                    }
                    start = stop;
                }
                pos += n;
            }
        });
        Ok(rx)
    }
}

/// Reads `length` bytes at `offset` inside the block, failing if the UFS file
/// is shorter than the master said.
async fn read_exact_range(ufs: &Ufs, src: &UfsSource, offset: u64, length: u64) -> FsResult<Bytes> {
    let data = ufs
        .read_range(&src.path, src.offset_in_file + offset, length)
        .await?;
    if data.len() as u64 != length {
        return Err(FsError::Ufs(format!(
            "{}/{}: expected {length} bytes at offset {}, got {} (the file changed in the UFS?)",
            src.root_uri.trim_end_matches('/'),
            src.path,
            src.offset_in_file + offset,
            data.len()
        )));
    }
    Ok(data)
}

/// Maps a failed write to local block storage; a full disk is `NoSpace`.
pub fn local_write_error(block_id: u64, e: std::io::Error) -> FsError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        FsError::NoSpace(format!(
            "writing block {block_id}: the worker's storage is full: {e}"
        ))
    } else {
        FsError::Internal(format!("writing block {block_id} to local storage: {e}"))
    }
}

/// A claim on a block's fetch lock; the map entry goes with its last claim.
struct InflightSlot<'a> {
    reader: &'a UfsReader,
    block_id: u64,
    lock: Arc<AsyncMutex<()>>,
}

impl<'a> InflightSlot<'a> {
    fn take(reader: &'a UfsReader, block_id: u64) -> InflightSlot<'a> {
        let mut map = reader
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let lock = map.entry(block_id).or_default().clone();
        InflightSlot {
            reader,
            block_id,
            lock,
        }
    }
}

impl Drop for InflightSlot<'_> {
    fn drop(&mut self) {
        let mut map = self
            .reader
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Two references: the map's and ours. More means someone is waiting.
        if Arc::strong_count(&self.lock) == 2 {
            map.remove(&self.block_id);
        }
    }
}
