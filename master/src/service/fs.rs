//! The `FileSystemMaster` service used by clients.

use std::sync::Arc;

use alluxio_common::{FsError, FsResult};
use alluxio_proto::file_system_master_server::FileSystemMaster;
use alluxio_proto::*;
use tonic::{Request, Response, Status};

use crate::fs_master::FsMaster;
use crate::role::{Role, RoleCell};

/// Serves namespace RPCs when this master leads; otherwise every call
/// answers at once with "not the leader" and the leader's address.
pub struct FsService {
    pub role: Arc<RoleCell>,
    pub cluster: Arc<ClusterFacts>,
}

impl FsService {
    fn master(&self) -> Result<Arc<FsMaster>, Status> {
        Ok(self.role.leader()?.fs.clone())
    }

    /// Runs mutation `f` on the leader to its end in a task of its own and
    /// answers once all it observed is durable (`FsMaster::settled`). A
    /// client that gives up (a timeout, a closed connection) makes tonic
    /// drop the handler's future: run inline, the mutation would stop
    /// wherever it was, between its UFS step and its commit too, leaving
    /// the UFS changed without the entry. In its own task it finishes.
    async fn mutation<T, Fut>(&self, f: impl FnOnce(Arc<FsMaster>) -> Fut) -> R<T>
    where
        T: Send + 'static,
        Fut: std::future::Future<Output = FsResult<T>> + Send + 'static,
    {
        let master = self.master()?;
        let run = f(master.clone());
        let reply = tokio::spawn(async move {
            let reply = run.await;
            master.settled(reply).await
        })
        .await
        .map_err(|e| FsError::Internal(format!("mutation task: {e}")))?;
        Ok(Response::new(reply?))
    }
}

/// Fixed facts reported by getClusterInfo.
pub struct ClusterFacts {
    pub address: String,
    pub cluster_id: String,
    pub start_time_ms: i64,
    pub journal_folder: String,
    pub root_ufs: String,
}

type R<T> = Result<Response<T>, Status>;

/// `info` (the entry a call added at `path`) with its parent directory's
/// attributes after the change.
fn with_parent(master: &FsMaster, mut info: FileInfo, path: &str) -> FileInfo {
    info.parent = master.parent_info(path).map(Box::new);
    info
}

#[tonic::async_trait]
impl FileSystemMaster for FsService {
    async fn get_master_info(
        &self,
        _req: Request<GetMasterInfoRequest>,
    ) -> R<GetMasterInfoResponse> {
        let role = self.role.role();
        let (journal_sequence, term) = self.role.journal_position();
        let role_name = match self.role.leader() {
            Ok(_) => "LEADER",
            Err(_) if matches!(role, Role::Leader(_)) => "NOT_SERVING",
            Err(_) => role.name(),
        };
        Ok(Response::new(GetMasterInfoResponse {
            address: self.role.address.clone(),
            role: role_name.into(),
            journal_sequence,
            term,
            leader_address: self.role.leader_hint().unwrap_or_default(),
            start_time_ms: self.role.start_time_ms,
        }))
    }

    async fn get_status(&self, req: Request<GetStatusRequest>) -> R<FileInfo> {
        // A read that arrives while the process is frozen, checked after.
        alluxio_common::failpoint::pause("get_status_before_lease", &req.get_ref().path);
        Ok(Response::new(
            self.master()?.get_status(&req.into_inner().path).await?,
        ))
    }

    async fn list_status(&self, req: Request<ListStatusRequest>) -> R<ListStatusResponse> {
        let req = req.into_inner();
        let infos = self
            .master()?
            .list_status(&req.path, req.recursive, req.sync_ufs)
            .await?;
        Ok(Response::new(ListStatusResponse { infos }))
    }

    async fn create_directory(&self, req: Request<CreateDirectoryRequest>) -> R<FileInfo> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            let path = req.path.clone();
            let info = master.create_directory(req).await?;
            Ok(with_parent(&master, info, &path))
        })
        .await
    }

    async fn create_file(&self, req: Request<CreateFileRequest>) -> R<FileInfo> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            let path = req.path.clone();
            let info = master.create_file(req).await?;
            Ok(with_parent(&master, info, &path))
        })
        .await
    }

    async fn complete_file(&self, req: Request<CompleteFileRequest>) -> R<FileInfo> {
        let req = req.into_inner();
        self.mutation(|master| async move { master.complete_file(req).await })
            .await
    }

    async fn create_node(&self, req: Request<CreateNodeRequest>) -> R<FileInfo> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            let path = req.path.clone();
            let info = master.create_node(req).await?;
            Ok(with_parent(&master, info, &path))
        })
        .await
    }

    async fn link(&self, req: Request<LinkRequest>) -> R<FileInfo> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            let dst = req.dst.clone();
            let info = master.link(req).await?;
            Ok(with_parent(&master, info, &dst))
        })
        .await
    }

    async fn delete(&self, req: Request<DeleteRequest>) -> R<DeleteResponse> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            let path = req.path.clone();
            master.delete(req).await?;
            Ok(DeleteResponse {
                parent: master.parent_info(&path),
            })
        })
        .await
    }

    async fn rename(&self, req: Request<RenameRequest>) -> R<RenameResponse> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            let (src, dst) = (req.src.clone(), req.dst.clone());
            master.rename(req).await?;
            Ok(RenameResponse {
                src_parent: master.parent_info(&src),
                dst_parent: master.parent_info(&dst),
            })
        })
        .await
    }

    async fn set_attribute(&self, req: Request<SetAttributeRequest>) -> R<FileInfo> {
        let req = req.into_inner();
        self.mutation(|master| async move { master.set_attribute(req).await })
            .await
    }

    async fn free(&self, req: Request<FreeRequest>) -> R<FreeResponse> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            let freed_blocks = master.free(&req.path, req.recursive).await?;
            Ok(FreeResponse { freed_blocks })
        })
        .await
    }

    async fn mount(&self, req: Request<MountRequest>) -> R<MountResponse> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            master.mount(req).await?;
            Ok(MountResponse {})
        })
        .await
    }

    async fn unmount(&self, req: Request<UnmountRequest>) -> R<UnmountResponse> {
        let req = req.into_inner();
        self.mutation(|master| async move {
            master.unmount(req).await?;
            Ok(UnmountResponse {})
        })
        .await
    }

    async fn get_mount_table(
        &self,
        _req: Request<GetMountTableRequest>,
    ) -> R<GetMountTableResponse> {
        Ok(Response::new(GetMountTableResponse {
            mounts: self.master()?.mount_table(),
        }))
    }

    async fn get_cluster_info(
        &self,
        _req: Request<GetClusterInfoRequest>,
    ) -> R<GetClusterInfoResponse> {
        let master = self.master()?;
        let (inode_count, term) = {
            let ns = master.namespace().read().unwrap_or_else(|p| p.into_inner());
            (ns.inode_count() as u64, ns.term())
        };
        let c = &self.cluster;
        Ok(Response::new(GetClusterInfoResponse {
            leader_address: c.address.clone(),
            cluster_id: c.cluster_id.clone(),
            journal_sequence: master.writer().durable_seq(),
            term,
            workers: master.blocks().worker_infos(),
            inode_count,
            start_time_ms: c.start_time_ms,
            journal_folder: c.journal_folder.clone(),
            root_ufs: c.root_ufs.clone(),
        }))
    }
}
