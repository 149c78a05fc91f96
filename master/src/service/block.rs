//! The `BlockMaster` service used by workers.

use std::sync::Arc;

use alluxio_common::FsError;
use alluxio_proto::block_master_server::BlockMaster as BlockMasterRpc;
use alluxio_proto::*;
use tonic::{Request, Response, Status};

use crate::block_master::BlockMaster;
use crate::role::RoleCell;

/// Serves worker registration, heartbeats and block commits on the leader.
pub struct BlockService {
    pub role: Arc<RoleCell>,
}

impl BlockService {
    fn blocks(&self) -> Result<Arc<BlockMaster>, Status> {
        Ok(self.role.leader()?.blocks.clone())
    }
}

#[tonic::async_trait]
impl BlockMasterRpc for BlockService {
    async fn register_worker(
        &self,
        req: Request<RegisterWorkerRequest>,
    ) -> Result<Response<RegisterWorkerResponse>, Status> {
        let req = req.into_inner();
        let address = req
            .address
            .ok_or_else(|| FsError::InvalidArgument("register without an address".into()))?;
        if address.host.is_empty() || address.rpc_port == 0 || address.rpc_port > 65535 {
            return Err(FsError::InvalidArgument(format!("bad worker address {address:?}")).into());
        }
        let id = self.blocks()?.register(
            req.identity,
            address.clone(),
            req.tiers,
            req.block_ids,
            req.start_time_ms,
        )?;
        tracing::info!(
            "worker {id} registered from {}:{}",
            address.host,
            address.rpc_port
        );
        Ok(Response::new(RegisterWorkerResponse { worker_id: id }))
    }

    async fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let r = req.into_inner();
        Ok(Response::new(self.blocks()?.heartbeat(
            r.worker_id,
            r.tiers,
            r.added_blocks,
            r.removed_blocks,
        )))
    }

    async fn commit_block(
        &self,
        req: Request<CommitBlockRequest>,
    ) -> Result<Response<CommitBlockResponse>, Status> {
        let r = req.into_inner();
        if !self
            .blocks()?
            .commit_block(r.worker_id, r.block_id, r.tiers)
        {
            return Err(FsError::FailedPrecondition(format!(
                "worker {} is not registered",
                r.worker_id
            ))
            .into());
        }
        Ok(Response::new(CommitBlockResponse {}))
    }
}
