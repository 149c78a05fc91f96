//! Reading a file block by block. For each block the reader tries, in
//! order: workers that cache it (local first), then — for a persisted file —
//! a live worker that reads it through from the UFS (and caches it), and
//! finally the UFS directly. A worker that fails mid-stream is skipped and
//! the read resumes at the same offset from the next source, so a dead
//! worker costs a cache miss, never an error.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use alluxio_common::ufs::Ufs;
use alluxio_common::{FsError, FsResult};
use alluxio_proto::{
    BlockInfo, FileInfo, ReadBlockChunk, ReadBlockRequest, UfsBlockSource, WorkerNetAddress,
};
use bytes::{Bytes, BytesMut};
use tonic::Streaming;

use crate::file_system::FileSystem;
use crate::local_block::{is_local_host, LocalBlock, READ_AHEAD};
use crate::settings::ReadType;
use crate::worker_pool::{preference, worker_key};

enum Source {
    Worker {
        key: String,
        stream: Box<Streaming<ReadBlockChunk>>,
    },
    Ufs {
        ufs: Arc<Ufs>,
        path: String,
    },
}

/// A stream over one block, positioned at `pos` (an offset in the file).
struct BlockReader {
    pos: u64,
    end: u64,
    pending: Bytes,
    source: Source,
}

/// A short-circuit read prepared by [`FileInStream::local_read`].
pub struct LocalRead {
    file: Arc<LocalBlock>,
    in_block: u64,
    len: usize,
}

impl LocalRead {
    /// Reads the prepared range: all of it, or an error (then call
    /// [`FileInStream::local_failed`] and read through the stream).
    pub async fn read(self) -> FsResult<Bytes> {
        self.file.read_at(self.in_block, self.len).await
    }
}

/// A file open for reading, with a position.
pub struct FileInStream {
    fs: FileSystem,
    info: FileInfo,
    pos: u64,
    reader: Option<BlockReader>,
    /// Workers that failed while serving this file.
    failed: HashSet<String>,
    /// Short-circuit files by block index; `None`: tried, stream instead.
    local: HashMap<u64, Option<Arc<LocalBlock>>>,
}

impl FileInStream {
    pub(crate) fn new(fs: FileSystem, info: FileInfo) -> Self {
        FileInStream {
            fs,
            info,
            pos: 0,
            reader: None,
            failed: HashSet::new(),
            local: HashMap::new(),
        }
    }

    /// The file being read.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// File length.
    pub fn len(&self) -> u64 {
        self.info.length
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.info.length == 0
    }

    /// Current position.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves the position; reading past the end returns nothing.
    pub fn seek(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Returns the next chunk at the position, or `None` at end of file.
    pub async fn read_chunk(&mut self) -> FsResult<Option<Bytes>> {
        if self.pos >= self.info.length {
            return Ok(None);
        }
        if let Some(data) = self.read_local(self.fs.inner.settings.chunk_size).await {
            return Ok(Some(data));
        }
        loop {
            if self
                .reader
                .as_ref()
                .is_none_or(|r| r.pos != self.pos || r.pos >= r.end)
            {
                self.reader = Some(self.open_block().await?);
            }
            let reader = self.reader.as_mut().expect("opened above");
            match next_bytes(reader, self.fs.inner.settings.chunk_size).await {
                Ok(Some(data)) => {
                    let take = data.len().min((reader.end - reader.pos) as usize);
                    let data = data.slice(..take);
                    reader.pos += data.len() as u64;
                    self.pos = reader.pos;
                    return Ok(Some(data));
                }
                Ok(None) => {
                    let r = self.reader.take().expect("present");
                    if r.pos < r.end {
                        self.note_failure(&r, "stream ended early".into());
                    }
                }
                Err(e) => {
                    let r = self.reader.take().expect("present");
                    if matches!(r.source, Source::Ufs { .. }) {
                        return Err(e);
                    }
                    self.note_failure(&r, e.to_string());
                }
            }
        }
    }

    /// Fills `buf` as far as possible; returns the bytes read (0 at the end).
    pub async fn read(&mut self, buf: &mut [u8]) -> FsResult<usize> {
        let mut n = 0;
        while n < buf.len() {
            let want = buf.len() - n;
            if let Some(r) = self
                .reader
                .as_mut()
                .filter(|r| r.pos == self.pos && !r.pending.is_empty())
            {
                let take = want.min(r.pending.len());
                buf[n..n + take].copy_from_slice(&r.pending.split_to(take));
                r.pos += take as u64;
                self.pos = r.pos;
                n += take;
                continue;
            }
            if let Some(data) = self.read_local(want).await {
                buf[n..n + data.len()].copy_from_slice(&data);
                n += data.len();
                continue;
            }
            match self.read_chunk().await? {
                None => break,
                Some(chunk) => {
                    let take = want.min(chunk.len());
                    buf[n..n + take].copy_from_slice(&chunk[..take]);
                    n += take;
                    if take < chunk.len() {
                        // Keep the rest for the next call.
                        let r = self.reader.as_mut().expect("chunk came from a reader");
                        r.pending = chunk.slice(take..);
                        r.pos -= (chunk.len() - take) as u64;
                        self.pos = r.pos;
                    }
                }
            }
        }
        Ok(n)
    }

    /// Reads up to `len` bytes at `offset`. Consecutive calls at increasing
    /// offsets keep the open block stream and the unread rest of its last
    /// chunk, so a sequence of small positional reads (FUSE's) costs one
    /// stream per block, not one per call.
    pub async fn read_at(&mut self, offset: u64, len: usize) -> FsResult<Bytes> {
        self.seek(offset);
        let want = len.min(self.info.length.saturating_sub(offset) as usize);
        // A short-circuit read that covers the request is returned as is.
        let first = match self.read_local(want).await {
            Some(data) if data.len() == want => return Ok(data),
            Some(data) => data,
            None => Bytes::new(),
        };
        let mut out = vec![0u8; want];
        out[..first.len()].copy_from_slice(&first);
        let n = first.len() + self.read(&mut out[first.len()..]).await?;
        out.truncate(n);
        Ok(Bytes::from(out))
    }

    /// Reads the whole file from the current position.
    pub async fn read_to_end(&mut self) -> FsResult<Bytes> {
        let mut out =
            BytesMut::with_capacity((self.info.length - self.pos.min(self.info.length)) as usize);
        while let Some(chunk) = self.read_chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// Reads up to `max` bytes at the position from the short-circuit file
    /// of its block, if a worker on this machine caches it; `None` means
    /// "stream it instead" (no local copy, or the local read failed).
    async fn read_local(&mut self, max: usize) -> Option<Bytes> {
        if !self.fs.inner.settings.short_circuit || self.pos >= self.info.length {
            return None;
        }
        let block = self.block_at(self.pos).ok()?;
        let file = self.local_file(&block).await?;
        let in_block = self.pos - block.offset;
        let want = (max as u64).min(block.length - in_block) as usize;
        match file.read_at(in_block, want).await {
            Ok(data) if !data.is_empty() => {
                self.pos += data.len() as u64;
                Some(data)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(
                    "short-circuit read of block {} failed, streaming it instead: {e}",
                    block.block_id
                );
                self.local_failed(block.offset);
                None
            }
        }
    }

    /// The short-circuit file of `block`, opened on first use.
    async fn local_file(&mut self, block: &BlockInfo) -> Option<Arc<LocalBlock>> {
        let index = block.offset / self.info.block_size.max(1);
        match self.local.get(&index) {
            Some(entry) => entry.clone(),
            None => {
                let opened = self.open_local(block).await.map(Arc::new);
                self.local.insert(index, opened.clone());
                opened
            }
        }
    }

    /// A short-circuit read at `offset` failed: stream that block from now on.
    pub fn local_failed(&mut self, offset: u64) {
        let index = offset / self.info.block_size.max(1);
        self.local.insert(index, None);
    }

    /// Prepares a positional read of up to `len` bytes at `offset` that one
    /// short-circuit file serves entirely; `None` if none can. The returned
    /// read runs without this stream, so a caller that holds the stream
    /// behind a lock can release it first and let concurrent reads of the
    /// same open file (the kernel's read-ahead) proceed in parallel.
    pub async fn local_read(&mut self, offset: u64, len: usize) -> Option<LocalRead> {
        if !self.fs.inner.settings.short_circuit || offset >= self.info.length {
            return None;
        }
        let want = len.min((self.info.length - offset) as usize);
        let block = self.block_at(offset).ok()?;
        if offset + want as u64 > block.offset + block.length {
            return None;
        }
        let file = self.local_file(&block).await?;
        let end = offset + want as u64;
        if block.offset + block.length - end <= READ_AHEAD && end < self.info.length {
            self.prefetch_next(&block).await;
        }
        Some(LocalRead {
            file,
            in_block: offset - block.offset,
            len: want,
        })
    }

    /// A reader nearing the end of `block`: open the next block's local file
    /// now and have the kernel start reading its head, so a cold sequential
    /// read does not stall on the disk at every block boundary.
    async fn prefetch_next(&mut self, block: &BlockInfo) {
        let Ok(next) = self.block_at(block.offset + block.length) else {
            return;
        };
        let index = next.offset / self.info.block_size.max(1);
        if self.local.contains_key(&index) {
            return; // already opened (and hinted) or known not to be local
        }
        if let Some(file) = self.local_file(&next).await {
            file.read_ahead(0);
        }
    }

    /// Opens `block`'s file on a worker of this machine that caches it.
    async fn open_local(&self, block: &BlockInfo) -> Option<LocalBlock> {
        let local = &self.fs.inner.settings.local_hostname;
        for addr in block.locations.iter().filter_map(|l| l.address.as_ref()) {
            if !is_local_host(&addr.host, local) || self.failed.contains(&worker_key(addr)) {
                continue;
            }
            match LocalBlock::open(&self.fs.inner.workers, addr, block.block_id, block.length).await
            {
                Ok(file) => return Some(file),
                Err(e) => tracing::debug!(
                    "no short-circuit read of block {} from {}: {e}",
                    block.block_id,
                    worker_key(addr)
                ),
            }
        }
        None
    }

    fn note_failure(&mut self, r: &BlockReader, why: String) {
        if let Source::Worker { key, .. } = &r.source {
            tracing::warn!(
                "worker {key} failed reading {} (treated as a cache miss): {why}",
                self.info.path
            );
            self.failed.insert(key.clone());
            self.fs.inner.workers.invalidate();
        }
    }

    fn block_at(&self, pos: u64) -> FsResult<BlockInfo> {
        let bs = self.info.block_size.max(1);
        self.info
            .blocks
            .get((pos / bs) as usize)
            .cloned()
            .ok_or_else(|| {
                FsError::Internal(format!("{} has no block at offset {pos}", self.info.path))
            })
    }

    /// The workers caching `block`, local first.
    fn caching_workers(
        &self,
        block: &BlockInfo,
    ) -> Vec<(WorkerNetAddress, Option<UfsBlockSource>)> {
        let local = &self.fs.inner.settings.local_hostname;
        let mut candidates: Vec<(WorkerNetAddress, Option<UfsBlockSource>)> = block
            .locations
            .iter()
            .filter_map(|l| l.address.clone())
            .map(|a| (a, None))
            .collect();
        candidates.sort_by_key(|(a, _)| a.host != *local);
        candidates
    }

    /// A block of a file that is not in the UFS, from a worker caching it.
    /// None may be known right after a master failover: the new leader
    /// learns locations as workers register again. So this asks the master
    /// again, with backoff, within the client's retry budget, before it
    /// reports the data unavailable.
    async fn open_cached_only(&mut self) -> FsResult<BlockReader> {
        let mut backoff = self.fs.inner.settings.retry.start();
        loop {
            let block = self.block_at(self.pos)?;
            let (in_block, end) = (self.pos - block.offset, block.offset + block.length);
            let candidates = self.caching_workers(&block);
            if let Some(r) = self.try_workers(&block, in_block, end, candidates).await {
                return Ok(r);
            }
            let Some(delay) = backoff.next_delay() else {
                return Err(FsError::DataUnavailable(format!(
                    "block {} of {} is not cached on any live worker and the file is not in \
                     the UFS (waited {:?})",
                    block.block_id,
                    self.info.path,
                    backoff.elapsed()
                )));
            };
            if backoff.attempts() == 1 {
                tracing::info!(
                    "block {} of {}: no worker serves it yet; asking the master again",
                    block.block_id,
                    self.info.path
                );
            }
            tokio::time::sleep(delay).await;
            let fresh = self.fs.get_status(&self.info.path).await?;
            if fresh.id != self.info.id || fresh.container_id != self.info.container_id {
                return Err(FsError::DataUnavailable(format!(
                    "{} was replaced while its block {} was unavailable",
                    self.info.path, block.block_id
                )));
            }
            self.info.blocks = fresh.blocks;
            self.info.persisted = fresh.persisted;
            self.failed.clear();
            if self.info.persisted {
                return Box::pin(self.open_block()).await;
            }
        }
    }

    async fn open_block(&mut self) -> FsResult<BlockReader> {
        if !self.info.persisted {
            return self.open_cached_only().await;
        }
        let block = self.block_at(self.pos)?;
        let in_block = self.pos - block.offset;
        let end = block.offset + block.length;
        let local = self.fs.inner.settings.local_hostname.clone();
        // Candidates in order: workers caching the block (local first), then
        // live workers reading it through from the UFS (and caching it); the
        // UFS itself comes last.
        let mut candidates = self.caching_workers(&block);
        let loc =
            self.info.ufs.clone().ok_or_else(|| {
                FsError::Internal(format!("{} has no UFS location", self.info.path))
            })?;
        if self.fs.inner.settings.read_type != ReadType::NoCache {
            let through = UfsBlockSource {
                location: Some(loc.clone()),
                offset_in_file: block.offset,
                block_length: block.length,
            };
            let workers = self.fs.live_workers().await.unwrap_or_default();
            candidates.extend(
                preference(&workers, &local, block.block_id)
                    .into_iter()
                    .map(|w| (w, Some(through.clone()))),
            );
        }
        if let Some(r) = self.try_workers(&block, in_block, end, candidates).await {
            return Ok(r);
        }
        let options = loc
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let ufs = self.fs.inner.ufs.get(&loc.root_uri, &options)?;
        Ok(self.reader(
            end,
            Source::Ufs {
                ufs,
                path: loc.path,
            },
            Bytes::new(),
        ))
    }

    /// Tries each candidate worker in turn; a failure marks it failed for
    /// this file and moves on.
    async fn try_workers(
        &mut self,
        block: &BlockInfo,
        in_block: u64,
        end: u64,
        candidates: Vec<(WorkerNetAddress, Option<UfsBlockSource>)>,
    ) -> Option<BlockReader> {
        for (w, ufs) in candidates {
            if self.failed.contains(&worker_key(&w)) {
                continue;
            }
            let req = ReadBlockRequest {
                block_id: block.block_id,
                offset: in_block,
                length: block.length - in_block,
                chunk_size: self.fs.inner.settings.chunk_size as u32,
                promote: ufs.is_some(),
                ufs,
            };
            match self.start_worker_read(&w, req).await {
                Ok((source, first)) => return Some(self.reader(end, source, first)),
                Err(e) => {
                    tracing::debug!("block {} on {}: {e}", block.block_id, worker_key(&w));
                    self.failed.insert(worker_key(&w));
                }
            }
        }
        None
    }

    fn reader(&self, end: u64, source: Source, pending: Bytes) -> BlockReader {
        BlockReader {
            pos: self.pos,
            end,
            pending,
            source,
        }
    }

    /// Starts a worker read and waits for its first chunk, so that "not
    /// cached here" and connection errors surface now, not mid-read.
    async fn start_worker_read(
        &self,
        w: &WorkerNetAddress,
        req: ReadBlockRequest,
    ) -> FsResult<(Source, Bytes)> {
        let mut client = self.fs.inner.workers.client(w)?;
        let mut stream = client
            .read_block(req)
            .await
            .map_err(FsError::from)?
            .into_inner();
        let first = stream
            .message()
            .await
            .map_err(FsError::from)?
            .map(|c| c.data);
        Ok((
            Source::Worker {
                key: worker_key(w),
                stream: Box::new(stream),
            },
            first.unwrap_or_default(),
        ))
    }
}

async fn next_bytes(r: &mut BlockReader, chunk: usize) -> FsResult<Option<Bytes>> {
    if !r.pending.is_empty() {
        return Ok(Some(std::mem::take(&mut r.pending)));
    }
    match &mut r.source {
        Source::Worker { stream, .. } => match stream.message().await {
            Ok(Some(c)) => Ok(Some(c.data)),
            Ok(None) => Ok(None),
            Err(status) => Err(FsError::from(status)),
        },
        Source::Ufs { ufs, path } => {
            let len = (chunk as u64).min(r.end - r.pos);
            let data = ufs.read_range(path, r.pos, len).await?;
            if data.is_empty() {
                return Err(FsError::Corrupt(format!(
                    "UFS file {path} ended at {} before its recorded length",
                    r.pos
                )));
            }
            Ok(Some(data))
        }
    }
}
