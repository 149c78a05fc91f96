//! The `BlockWorker` gRPC service: streaming block reads (from the cache or
//! through to the UFS), streaming block writes into the cache, and removal.
//!
//! Requests are checked and converted here; errors leave as `FsError`s so a
//! client rebuilds the exact kind.

use std::io::SeekFrom;
use std::pin::Pin;
use std::sync::Arc;

use alluxio_common::{FsError, FsResult};
use alluxio_proto::block_worker_server::{BlockWorker, BlockWorkerServer};
use alluxio_proto::write_block_request::Payload;
use alluxio_proto::{
    CompleteLocalBlockRequest, CompleteLocalBlockResponse, CreateLocalBlockRequest,
    CreateLocalBlockResponse, OpenLocalBlockRequest, OpenLocalBlockResponse, ReadBlockChunk,
    ReadBlockRequest, RemoveBlockRequest, RemoveBlockResponse, WriteBlockRequest,
    WriteBlockResponse,
};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, warn};

use crate::block_store::{BlockStore, OpenBlock, StoreError};
use crate::local_writes::LocalWrites;
use crate::master_sync::MasterSync;
use crate::ufs_read::{local_write_error, ChunkReceiver, UfsReader, UfsSource};

/// Chunk size of a read that does not ask for one.
const DEFAULT_CHUNK_SIZE: u64 = 1 << 20;
/// Largest chunk served, well under the message size limit.
const MAX_CHUNK_SIZE: u64 = 16 << 20;
/// Largest gRPC message accepted or sent.
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Stream of chunks answering a `ReadBlock`.
pub type ReadBlockStream = Pin<Box<dyn Stream<Item = Result<ReadBlockChunk, Status>> + Send>>;

/// Implementation of the `BlockWorker` service.
pub struct BlockWorkerService {
    store: BlockStore,
    ufs: Arc<UfsReader>,
    master: Arc<MasterSync>,
    local_writes: LocalWrites,
}

impl BlockWorkerService {
    /// A service over `store` that reports commits through `master`.
    pub fn new(store: BlockStore, master: Arc<MasterSync>) -> BlockWorkerService {
        BlockWorkerService {
            ufs: Arc::new(UfsReader::new(store.clone())),
            store,
            master,
            local_writes: LocalWrites::default(),
        }
    }

    /// Wraps the service for tonic, with large message limits.
    pub fn into_server(self) -> BlockWorkerServer<BlockWorkerService> {
        BlockWorkerServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
    }

    async fn read(&self, req: ReadBlockRequest) -> FsResult<ReadBlockStream> {
        let block_id = req.block_id;
        let chunk_size = match u64::from(req.chunk_size) {
            0 => DEFAULT_CHUNK_SIZE,
            n => n.min(MAX_CHUNK_SIZE),
        };
        if let Some(block) = self.store.open_block(block_id)? {
            let (offset, length) = resolve_range(block_id, req.offset, req.length, block.length)?;
            crate::metrics::hit("stream");
            return Ok(stream_cached(block, offset, length, chunk_size));
        }
        crate::metrics::miss();
        let Some(src) = req.ufs else {
            return Err(FsError::NotFound(format!(
                "block {block_id} is not cached on this worker"
            )));
        };
        let src = UfsSource::try_from(src)?;
        let (offset, length) = resolve_range(block_id, req.offset, req.length, src.block_length)?;
        if req.promote {
            match self.ufs.cache_block(block_id, src.clone()).await {
                Ok(Some(stored)) => {
                    info!(
                        "cached block {block_id} ({stored} bytes) from {}",
                        src.root_uri
                    );
                    self.announce(block_id, stored);
                }
                Ok(None) => {}
                Err(FsError::NoSpace(msg)) => {
                    warn!("serving block {block_id} from the UFS without caching it: {msg}");
                }
                Err(e) => return Err(e),
            }
            if let Some(block) = self.store.open_block(block_id)? {
                let (offset, length) = resolve_range(block_id, offset, length, block.length)?;
                return Ok(stream_cached(block, offset, length, chunk_size));
            }
        }
        let rx = self.ufs.stream_range(src, offset, length, chunk_size)?;
        Ok(into_chunk_stream(rx))
    }

    /// Tells the master about a block cached by a read, in the background:
    /// the reader does not need to wait for it.
    fn announce(&self, block_id: u64, length: u64) {
        let master = self.master.clone();
        let alias = self.store.block_info(block_id).map(|(_, alias)| alias);
        let alias = alias.unwrap_or_else(|| self.store.top_tier_alias().to_string());
        tokio::spawn(async move { master.commit_block(block_id, length, &alias).await });
    }

    async fn write(&self, mut stream: Streaming<WriteBlockRequest>) -> FsResult<u64> {
        let header = match stream.message().await? {
            Some(WriteBlockRequest {
                payload: Some(Payload::Header(header)),
            }) => header,
            _ => {
                return Err(FsError::InvalidArgument(
                    "the first WriteBlock message must be a header".into(),
                ))
            }
        };
        let block_id = header.block_id;
        // The hint is only a hint: if it does not fit, grow as the data comes.
        let (mut temp, file) = match self.store.create_temp(block_id, header.length_hint) {
            Err(StoreError::NoSpace { .. }) if header.length_hint > 0 => {
                self.store.create_temp(block_id, 0)?
            }
            created => created?,
        };
        if header.only_copy {
            temp.mark_only_copy();
        }
        let mut file = tokio::fs::File::from_std(file);
        let mut written = 0u64;
        // Dropping `temp` on any early return deletes the file and frees the space.
        while let Some(message) = stream.message().await? {
            match message.payload {
                Some(Payload::Data(data)) => {
                    temp.reserve_to(written + data.len() as u64)?;
                    file.write_all(&data)
                        .await
                        .map_err(|e| local_write_error(block_id, e))?;
                    written += data.len() as u64;
                }
                Some(Payload::Header(_)) => {
                    return Err(FsError::InvalidArgument(format!(
                        "a second header while writing block {block_id}"
                    )))
                }
                None => {
                    return Err(FsError::InvalidArgument(format!(
                        "an empty message while writing block {block_id}"
                    )))
                }
            }
        }
        file.flush()
            .await
            .map_err(|e| local_write_error(block_id, e))?;
        drop(file);
        let length = temp.commit()?;
        debug!("wrote block {block_id} ({length} bytes)");
        let alias = self.store.block_info(block_id).map(|(_, alias)| alias);
        let alias = alias.unwrap_or_else(|| self.store.top_tier_alias().to_string());
        self.master.commit_block(block_id, length, &alias).await;
        Ok(length)
    }
}

impl BlockWorkerService {
    fn open_local(&self, block_id: u64) -> FsResult<OpenLocalBlockResponse> {
        use std::os::unix::fs::MetadataExt;
        let (path, length) = self.store.local_block(block_id).ok_or_else(|| {
            FsError::NotFound(format!("block {block_id} is not cached on this worker"))
        })?;
        let meta = std::fs::metadata(&path).map_err(|e| {
            FsError::NotFound(format!("block {block_id} ({}): {e}", path.display()))
        })?;
        Ok(OpenLocalBlockResponse {
            path: path.to_string_lossy().into_owned(),
            length,
            device: meta.dev(),
            inode: meta.ino(),
        })
    }
}

impl BlockWorkerService {
    /// Commits (or with `cancel` drops) a block a local client wrote itself.
    async fn complete_local(
        &self,
        req: CompleteLocalBlockRequest,
    ) -> FsResult<CompleteLocalBlockResponse> {
        let block_id = req.block_id;
        let mut temp = self.local_writes.take(block_id)?;
        if req.cancel {
            return Ok(CompleteLocalBlockResponse { length: 0 });
        }
        let on_disk = std::fs::metadata(temp.path())
            .map_err(|e| local_write_error(block_id, e))?
            .len();
        if on_disk != req.length {
            return Err(FsError::FailedPrecondition(format!(
                "block {block_id}: the writer reports {} bytes but its file has {on_disk}",
                req.length
            )));
        }
        temp.reserve_to(on_disk)?;
        let length = temp.commit()?;
        debug!("committed short-circuit block {block_id} ({length} bytes)");
        let alias = self.store.block_info(block_id).map(|(_, alias)| alias);
        let alias = alias.unwrap_or_else(|| self.store.top_tier_alias().to_string());
        self.master.commit_block(block_id, length, &alias).await;
        Ok(CompleteLocalBlockResponse { length })
    }
}

#[tonic::async_trait]
impl BlockWorker for BlockWorkerService {
    type ReadBlockStream = ReadBlockStream;

    async fn read_block(
        &self,
        request: Request<ReadBlockRequest>,
    ) -> Result<Response<ReadBlockStream>, Status> {
        Ok(Response::new(self.read(request.into_inner()).await?))
    }

    async fn write_block(
        &self,
        request: Request<Streaming<WriteBlockRequest>>,
    ) -> Result<Response<WriteBlockResponse>, Status> {
        let length = self.write(request.into_inner()).await?;
        Ok(Response::new(WriteBlockResponse { length }))
    }

    async fn open_local_block(
        &self,
        request: Request<OpenLocalBlockRequest>,
    ) -> Result<Response<OpenLocalBlockResponse>, Status> {
        let opened = self.open_local(request.into_inner().block_id)?;
        crate::metrics::hit("short_circuit");
        Ok(Response::new(opened))
    }

    async fn create_local_block(
        &self,
        request: Request<CreateLocalBlockRequest>,
    ) -> Result<Response<CreateLocalBlockResponse>, Status> {
        let req = request.into_inner();
        Ok(Response::new(self.local_writes.create(
            &self.store,
            req.block_id,
            req.length_hint,
            req.only_copy,
        )?))
    }

    async fn complete_local_block(
        &self,
        request: Request<CompleteLocalBlockRequest>,
    ) -> Result<Response<CompleteLocalBlockResponse>, Status> {
        Ok(Response::new(
            self.complete_local(request.into_inner()).await?,
        ))
    }

    async fn remove_block(
        &self,
        request: Request<RemoveBlockRequest>,
    ) -> Result<Response<RemoveBlockResponse>, Status> {
        let block_id = request.into_inner().block_id;
        // Removing a missing block succeeds, so a retried removal is harmless.
        if self.store.remove_block(block_id).map_err(FsError::from)? {
            debug!("removed block {block_id}");
        }
        Ok(Response::new(RemoveBlockResponse {}))
    }
}

/// Checks a requested range against a block's length; length 0 means "to the end".
fn resolve_range(
    block_id: u64,
    offset: u64,
    length: u64,
    block_length: u64,
) -> FsResult<(u64, u64)> {
    if offset > block_length {
        return Err(FsError::InvalidArgument(format!(
            "offset {offset} is beyond the end of block {block_id} ({block_length} bytes)"
        )));
    }
    let rest = block_length - offset;
    if length > rest {
        return Err(FsError::InvalidArgument(format!(
            "range {offset}+{length} is beyond the end of block {block_id} ({block_length} bytes)"
        )));
    }
    Ok((offset, if length == 0 { rest } else { length }))
}

/// Streams a range of a cached block; the block stays pinned until the
/// stream ends or the reader hangs up.
fn stream_cached(block: OpenBlock, offset: u64, length: u64, chunk_size: u64) -> ReadBlockStream {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let result = send_range(block, offset, length, chunk_size, &tx).await;
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
        }
    });
    into_chunk_stream(rx)
}

async fn send_range(
    block: OpenBlock,
    offset: u64,
    length: u64,
    chunk_size: u64,
    tx: &mpsc::Sender<FsResult<Bytes>>,
) -> FsResult<()> {
    let io_err = |e: std::io::Error| FsError::Internal(format!("reading a cached block: {e}"));
    let file = block.file.try_clone().map_err(io_err)?;
    let mut file = tokio::fs::File::from_std(file);
    file.seek(SeekFrom::Start(offset)).await.map_err(io_err)?;
    let mut left = length;
    while left > 0 {
        let n = chunk_size.min(left);
        let mut buf = vec![0u8; n as usize];
        file.read_exact(&mut buf).await.map_err(io_err)?;
        if tx.send(Ok(Bytes::from(buf))).await.is_err() {
            break; // The reader hung up.
        }
        left -= n;
    }
    drop(block);
    Ok(())
}

fn into_chunk_stream(rx: ChunkReceiver) -> ReadBlockStream {
    Box::pin(ReceiverStream::new(rx).map(|chunk| {
        chunk
            .map(|data| ReadBlockChunk { data })
            .map_err(Status::from)
    }))
}

#[cfg(test)]
mod tests;
