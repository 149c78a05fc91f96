//! Writing a file: bytes go to a worker block by block (for the caching write
//! types) and to the file's UFS staging object (for the through types);
//! `close` completes the file at the master, which then owns the bytes.
//! With CACHE_THROUGH, a worker failure only costs the cache: the UFS copy
//! is what makes the write durable.

use alluxio_common::block_id::block_id;
use alluxio_common::{FsError, FsResult};
use alluxio_proto::write_block_request::Payload;
use alluxio_proto::{FileInfo, WriteBlockHeader, WriteBlockRequest, WriteBlockResponse, WriteType};
use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::file_system::{FileSystem, SetAttributeOptions};
use crate::local_block::{is_local_host, LocalBlockWriter};
use crate::ufs_sink::UfsSink;
use crate::worker_pool::{preference, worker_key};

/// An open block write stream to one worker.
struct BlockSink {
    index: u64,
    worker: String,
    tx: mpsc::Sender<WriteBlockRequest>,
    call: JoinHandle<Result<WriteBlockResponse, tonic::Status>>,
    written: u64,
}

/// A block written straight into a local worker's file (short-circuit).
struct LocalSink {
    index: u64,
    writer: LocalBlockWriter,
}

/// The worker copy of the block being written.
enum BlockState {
    None,
    Open(BlockSink),
    Local(LocalSink),
    /// Caching this block failed or had no worker; the UFS copy carries it.
    Skipped(u64),
}

impl BlockState {
    fn index(&self) -> Option<u64> {
        match self {
            BlockState::None => None,
            BlockState::Open(s) => Some(s.index),
            BlockState::Local(s) => Some(s.index),
            BlockState::Skipped(i) => Some(*i),
        }
    }
}

/// A file being written. Call `close` to complete it; dropping it leaves an
/// incomplete file behind (use `cancel` to remove it).
pub struct FileOutStream {
    fs: FileSystem,
    info: FileInfo,
    write_type: WriteType,
    pos: u64,
    buf: BytesMut,
    ufs: Option<UfsSink>,
    block: BlockState,
    closed: bool,
}

impl FileOutStream {
    pub(crate) async fn open(
        fs: FileSystem,
        info: FileInfo,
        write_type: WriteType,
    ) -> FsResult<Self> {
        let ufs = if write_type == WriteType::MustCache {
            None
        } else {
            let loc = info
                .ufs
                .clone()
                .ok_or_else(|| FsError::Internal("file has no UFS location".into()))?;
            let options = loc
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let ufs = fs.inner.ufs.get(&loc.root_uri, &options)?;
            Some(UfsSink::start(ufs.writer(&info.ufs_temp_path).await?))
        };
        Ok(FileOutStream {
            fs,
            info,
            write_type,
            pos: 0,
            buf: BytesMut::new(),
            ufs,
            block: BlockState::None,
            closed: false,
        })
    }

    /// The file being written.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos + self.buf.len() as u64
    }

    fn caches(&self) -> bool {
        self.write_type != WriteType::Through
    }

    /// Appends `data`.
    pub async fn write(&mut self, data: &[u8]) -> FsResult<()> {
        let chunk = self.fs.inner.settings.chunk_size;
        self.buf.extend_from_slice(data);
        while self.buf.len() >= chunk {
            let piece = self.buf.split_to(chunk).freeze();
            self.send(piece).await?;
        }
        Ok(())
    }

    /// Appends `data` without copying it when nothing is buffered: whole
    /// chunks go out as slices of it.
    pub async fn write_bytes(&mut self, mut data: Bytes) -> FsResult<()> {
        if !self.buf.is_empty() {
            return self.write(&data).await;
        }
        let chunk = self.fs.inner.settings.chunk_size;
        while data.len() >= chunk {
            let piece = data.split_to(chunk);
            self.send(piece).await?;
        }
        self.buf.extend_from_slice(&data);
        Ok(())
    }

    async fn send(&mut self, mut data: Bytes) -> FsResult<()> {
        let block_size = self.info.block_size;
        let max = alluxio_common::block_id::max_length(block_size);
        if self.pos + data.len() as u64 > max {
            // A block index past the container's would name another file's
            // blocks (block ids are derived: `block_id.rs`).
            return Err(FsError::InvalidArgument(format!(
                "{}: a file in blocks of {block_size} bytes holds at most {max} bytes",
                self.info.path
            )));
        }
        while !data.is_empty() {
            let room = block_size - self.pos % block_size;
            let piece = data.split_to((room as usize).min(data.len()));
            let index = self.pos / block_size;
            if self.caches() {
                self.send_to_block(index, piece.clone()).await?;
            }
            if let Some(w) = self.ufs.as_mut() {
                w.write(piece.clone()).await?;
            }
            self.pos += piece.len() as u64;
        }
        Ok(())
    }

    async fn send_to_block(&mut self, index: u64, data: Bytes) -> FsResult<()> {
        if self.block.index().is_some_and(|i| i != index) {
            self.finish_block().await?;
        }
        if matches!(self.block, BlockState::None) {
            self.block = match self.open_block(index).await {
                Ok(state) => state,
                Err(e) => return self.cache_failed(index, e),
            };
        }
        if let BlockState::Local(local) = &mut self.block {
            return match local.writer.write(data).await {
                Ok(()) => Ok(()),
                Err(e) => self.cache_failed(index, e),
            };
        }
        let BlockState::Open(sink) = &mut self.block else {
            return Ok(());
        };
        let len = data.len() as u64;
        if sink
            .tx
            .send(WriteBlockRequest {
                payload: Some(Payload::Data(data)),
            })
            .await
            .is_ok()
        {
            sink.written += len;
            return Ok(());
        }
        let BlockState::Open(sink) = std::mem::replace(&mut self.block, BlockState::None) else {
            unreachable!("matched above");
        };
        let err = match sink.call.await {
            Ok(Err(status)) => FsError::from(status),
            _ => FsError::Unavailable(format!("worker {} closed the block stream", sink.worker)),
        };
        self.cache_failed(index, err)
    }

    /// Opens the worker copy of block `index`: a short-circuit file on a
    /// worker of this machine, else a block stream; `Skipped` means "no
    /// worker: don't cache".
    async fn open_block(&mut self, index: u64) -> FsResult<BlockState> {
        let id = block_id(self.info.container_id, index);
        let workers = self.fs.live_workers().await?;
        let local = &self.fs.inner.settings.local_hostname;
        let Some(worker) = preference(&workers, local, id).into_iter().next() else {
            if self.write_type == WriteType::MustCache {
                return Err(FsError::Unavailable(
                    "no live worker to write MUST_CACHE data to".into(),
                ));
            }
            return Ok(BlockState::Skipped(index));
        };
        if self.fs.inner.settings.short_circuit && is_local_host(&worker.host, local) {
            let pool = &self.fs.inner.workers;
            let only_copy = self.write_type == WriteType::MustCache;
            match LocalBlockWriter::create(pool, &worker, id, self.info.block_size, only_copy).await
            {
                Ok(writer) => return Ok(BlockState::Local(LocalSink { index, writer })),
                Err(e) => tracing::debug!(
                    "no short-circuit write of block {id} to {}: {e}",
                    worker_key(&worker)
                ),
            }
        }
        let mut client = self.fs.inner.workers.client(&worker)?;
        let (tx, rx) = mpsc::channel(4);
        let header = WriteBlockHeader {
            block_id: id,
            length_hint: self.info.block_size,
            // A MUST_CACHE file has no UFS copy: its blocks must never be evicted.
            only_copy: self.write_type == WriteType::MustCache,
        };
        tx.send(WriteBlockRequest {
            payload: Some(Payload::Header(header)),
        })
        .await
        .map_err(|_| FsError::Internal("block stream closed at once".into()))?;
        let call = tokio::spawn(async move {
            client
                .write_block(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .map(|r| r.into_inner())
        });
        Ok(BlockState::Open(BlockSink {
            index,
            worker: worker_key(&worker),
            tx,
            call,
            written: 0,
        }))
    }

    async fn finish_block(&mut self) -> FsResult<()> {
        let sink = match std::mem::replace(&mut self.block, BlockState::None) {
            BlockState::Open(sink) => sink,
            BlockState::Local(local) => {
                let (index, written) = (local.index, local.writer.written);
                return match local.writer.commit(&self.fs.inner.workers).await {
                    Ok(length) if length == written => Ok(()),
                    Ok(length) => self.cache_failed(
                        index,
                        FsError::Internal(format!(
                            "the worker committed {length} bytes of block {index}, expected {written}"
                        )),
                    ),
                    Err(e) => self.cache_failed(index, e),
                };
            }
            _ => return Ok(()),
        };
        drop(sink.tx);
        let result = match sink.call.await {
            Ok(Ok(resp)) if resp.length == sink.written => Ok(()),
            Ok(Ok(resp)) => Err(FsError::Internal(format!(
                "worker {} stored {} bytes of block {}, expected {}",
                sink.worker, resp.length, sink.index, sink.written
            ))),
            Ok(Err(status)) => Err(FsError::from(status)),
            Err(e) => Err(FsError::Internal(format!("block writer task: {e}"))),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.cache_failed(sink.index, e),
        }
    }

    /// A worker write failed: fatal for MUST_CACHE, only a lost cache copy
    /// of block `index` when the UFS copy is being written too.
    fn cache_failed(&mut self, index: u64, err: FsError) -> FsResult<()> {
        if self.write_type == WriteType::MustCache {
            return Err(err);
        }
        tracing::warn!(
            "caching {} failed, continuing with the UFS copy: {err}",
            self.info.path
        );
        self.fs.inner.workers.invalidate();
        self.drop_block(BlockState::Skipped(index));
        Ok(())
    }

    /// Abandons the worker copy being written, leaving `next` in its place.
    fn drop_block(&mut self, next: BlockState) {
        match std::mem::replace(&mut self.block, next) {
            BlockState::Open(sink) => sink.call.abort(),
            BlockState::Local(local) => local.writer.cancel(&self.fs.inner.workers),
            BlockState::None | BlockState::Skipped(_) => {}
        }
    }

    /// Flushes everything, completes the file and returns its final state.
    pub async fn close(self) -> FsResult<FileInfo> {
        self.close_with(&SetAttributeOptions::default()).await
    }

    /// Flushes everything and completes the file with the attributes
    /// `attrs` in the same master call and journal entry, so that no
    /// reader, and no replay after a crash, sees the new bytes with other
    /// attributes (decision 0014).
    pub async fn close_with(mut self, attrs: &SetAttributeOptions) -> FsResult<FileInfo> {
        self.closed = true;
        let rest = self.buf.split().freeze();
        if !rest.is_empty() {
            self.send(rest).await?;
        }
        self.finish_block().await?;
        if let Some(w) = self.ufs.take() {
            w.close().await?;
        }
        self.fs
            .complete_file(
                &self.info.path,
                self.info.id,
                self.info.container_id,
                self.pos,
                attrs,
            )
            .await
    }

    /// Stops writing without completing or deleting the file: the streams
    /// are aborted and the file stays incomplete (a later version or a
    /// delete replaces it).
    pub async fn abandon(mut self) {
        self.closed = true;
        self.drop_block(BlockState::None);
        if let Some(w) = self.ufs.take() {
            w.abort().await;
        }
    }

    /// Abandons the file: aborts the streams and deletes it.
    pub async fn cancel(mut self) -> FsResult<()> {
        self.closed = true;
        self.drop_block(BlockState::None);
        if let Some(w) = self.ufs.take() {
            w.abort().await;
        }
        self.fs.delete(&self.info.path, Default::default()).await
    }
}

impl Drop for FileOutStream {
    fn drop(&mut self) {
        if !self.closed {
            tracing::warn!("{} dropped without close: left incomplete", self.info.path);
        }
    }
}
