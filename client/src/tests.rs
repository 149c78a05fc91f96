//! Tests of finding the leader and retrying, against fake in-process masters.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alluxio_common::config::{keys, Config};
use alluxio_common::FsError;
use alluxio_proto::file_system_master_server::{FileSystemMaster, FileSystemMasterServer};
use alluxio_proto::*;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::{CreateDirectoryOptions, FileSystem};

/// What a fake master saw, and how it answers.
#[derive(Default)]
struct FakeState {
    /// Answer every RPC with "not leader" and this hint.
    standby: Option<Option<String>>,
    /// Answer this many RPCs with UNAVAILABLE first.
    fail_next: usize,
    created: Vec<CreateDirectoryRequest>,
    /// Operation id of every create_directory attempt, refused ones included.
    attempt_ids: Vec<Option<OperationId>>,
    role: String,
}

#[derive(Clone, Default)]
struct FakeMaster {
    state: Arc<Mutex<FakeState>>,
}

impl FakeMaster {
    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    fn gate(&self) -> Result<(), Status> {
        self.with(|s| {
            if let Some(hint) = &s.standby {
                return Err(FsError::NotLeader {
                    leader: hint.clone(),
                }
                .into());
            }
            if s.fail_next > 0 {
                s.fail_next -= 1;
                return Err(FsError::Unavailable("journal is catching up".into()).into());
            }
            Ok(())
        })
    }
}

#[tonic::async_trait]
impl FileSystemMaster for FakeMaster {
    async fn get_master_info(
        &self,
        _: Request<GetMasterInfoRequest>,
    ) -> Result<Response<GetMasterInfoResponse>, Status> {
        Ok(Response::new(GetMasterInfoResponse {
            role: self.with(|s| s.role.clone()),
            ..Default::default()
        }))
    }

    async fn create_directory(
        &self,
        request: Request<CreateDirectoryRequest>,
    ) -> Result<Response<FileInfo>, Status> {
        let req = request.into_inner();
        self.with(|s| s.attempt_ids.push(req.op_id));
        self.gate()?;
        let path = req.path.clone();
        self.with(|s| s.created.push(req));
        Ok(Response::new(FileInfo {
            path,
            ..Default::default()
        }))
    }

    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<FileInfo>, Status> {
        self.gate()?;
        Ok(Response::new(FileInfo {
            path: request.into_inner().path,
            ..Default::default()
        }))
    }

    async fn list_status(
        &self,
        _: Request<ListStatusRequest>,
    ) -> Result<Response<ListStatusResponse>, Status> {
        Err(Status::unimplemented("list_status"))
    }

    async fn create_file(
        &self,
        _: Request<CreateFileRequest>,
    ) -> Result<Response<FileInfo>, Status> {
        Err(Status::unimplemented("create_file"))
    }

    async fn complete_file(
        &self,
        _: Request<CompleteFileRequest>,
    ) -> Result<Response<FileInfo>, Status> {
        Err(Status::unimplemented("complete_file"))
    }

    async fn create_node(
        &self,
        _: Request<CreateNodeRequest>,
    ) -> Result<Response<FileInfo>, Status> {
        Err(Status::unimplemented("create_node"))
    }

    async fn link(&self, _: Request<LinkRequest>) -> Result<Response<FileInfo>, Status> {
        Err(Status::unimplemented("link"))
    }

    async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        Err(Status::unimplemented("delete"))
    }

    async fn rename(&self, _: Request<RenameRequest>) -> Result<Response<RenameResponse>, Status> {
        Err(Status::unimplemented("rename"))
    }

    async fn set_attribute(
        &self,
        _: Request<SetAttributeRequest>,
    ) -> Result<Response<FileInfo>, Status> {
        Err(Status::unimplemented("set_attribute"))
    }

    async fn free(&self, _: Request<FreeRequest>) -> Result<Response<FreeResponse>, Status> {
        Err(Status::unimplemented("free"))
    }

    async fn mount(&self, _: Request<MountRequest>) -> Result<Response<MountResponse>, Status> {
        Err(Status::unimplemented("mount"))
    }

    async fn unmount(
        &self,
        _: Request<UnmountRequest>,
    ) -> Result<Response<UnmountResponse>, Status> {
        Err(Status::unimplemented("unmount"))
    }

    async fn get_mount_table(
        &self,
        _: Request<GetMountTableRequest>,
    ) -> Result<Response<GetMountTableResponse>, Status> {
        Err(Status::unimplemented("get_mount_table"))
    }

    async fn get_cluster_info(
        &self,
        _: Request<GetClusterInfoRequest>,
    ) -> Result<Response<GetClusterInfoResponse>, Status> {
        Err(Status::unimplemented("get_cluster_info"))
    }
}

async fn serve(master: FakeMaster) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(FileSystemMasterServer::new(master))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

/// An address nobody listens on.
async fn dead_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

fn config(pairs: &[(&str, &str)]) -> Config {
    let mut conf = Config::defaults();
    conf.set(keys::USER_RPC_RETRY_BASE_SLEEP, "10ms");
    conf.set(keys::USER_RPC_RETRY_MAX_SLEEP, "100ms");
    conf.set(keys::USER_RPC_RETRY_MAX_DURATION, "10s");
    for (k, v) in pairs {
        conf.set(k, v);
    }
    conf
}

#[tokio::test]
async fn follows_hints_and_keeps_the_operation_id_across_retries() {
    let leader = FakeMaster::default();
    leader.with(|s| s.fail_next = 1);
    let leader_addr = serve(leader.clone()).await;
    let standby = FakeMaster::default();
    standby.with(|s| s.standby = Some(Some(leader_addr.to_string())));
    let standby_addr = serve(standby.clone()).await;
    let dead = dead_address().await;
    let list = format!("{dead},{standby_addr}");
    let fs = FileSystem::from_config(&config(&[(keys::MASTER_RPC_ADDRESSES, &list)])).unwrap();
    assert!(!fs.discovery().names_leader());

    fs.create_directory("/d", CreateDirectoryOptions::default())
        .await
        .unwrap();
    // The leader failed the first attempt, then accepted the retry.
    let created = leader.with(|s| std::mem::take(&mut s.created));
    assert_eq!(created.len(), 1);
    assert_eq!(fs.master_address(), leader_addr.to_string());

    let ids = leader.with(|s| s.attempt_ids.clone());
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
}

#[tokio::test]
async fn one_operation_id_per_logical_operation() {
    let leader = FakeMaster::default();
    let addr = serve(leader.clone()).await;
    let fs = FileSystem::from_config(&config(&[(keys::MASTER_RPC_ADDRESSES, &addr.to_string())]))
        .unwrap();
    // The leader refuses two attempts (as if their replies were lost).
    leader.with(|s| s.fail_next = 2);
    fs.create_directory("/y", CreateDirectoryOptions::default())
        .await
        .unwrap();
    fs.create_directory("/z", CreateDirectoryOptions::default())
        .await
        .unwrap();
    let ids = leader.with(|s| s.attempt_ids.clone());
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids[0].is_some());
    assert!(ids[0] == ids[1] && ids[1] == ids[2], "{ids:?}");
    assert_ne!(ids[2], ids[3]);
}

#[tokio::test]
async fn master_infos_asks_every_master_once() {
    let leader = FakeMaster::default();
    leader.with(|s| s.role = "LEADER".into());
    let leader_addr = serve(leader).await;
    let standby = FakeMaster::default();
    standby.with(|s| {
        s.role = "STANDBY".into();
        s.standby = Some(Some(leader_addr.to_string()));
    });
    let standby_addr = serve(standby).await;
    let dead = dead_address().await;
    let list = format!("{leader_addr},{standby_addr},{dead}");
    let fs = FileSystem::from_config(&config(&[(keys::MASTER_RPC_ADDRESSES, &list)])).unwrap();
    let started = Instant::now();
    let infos = fs.master_infos().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let addrs: Vec<_> = infos.iter().map(|(a, _)| a.clone()).collect();
    assert_eq!(
        addrs,
        vec![
            leader_addr.to_string(),
            standby_addr.to_string(),
            dead.to_string()
        ]
    );
    assert_eq!(infos[0].1.as_ref().unwrap().role, "LEADER");
    assert_eq!(infos[1].1.as_ref().unwrap().role, "STANDBY");
    assert!(infos[2].1.as_ref().unwrap_err().is_retryable());
}

#[tokio::test]
async fn unreachable_zookeeper_fails_within_the_retry_budget() {
    let dead = dead_address().await;
    let fs = FileSystem::from_config(&config(&[
        (keys::ZOOKEEPER_ENABLED, "true"),
        (keys::ZOOKEEPER_ADDRESS, &dead.to_string()),
        (keys::MASTER_HOSTNAME, ""),
        (keys::USER_RPC_RETRY_MAX_DURATION, "1s"),
    ]))
    .unwrap();
    assert!(fs.discovery().names_leader());
    assert_eq!(fs.master_address(), "");
    let started = Instant::now();
    let err = fs.get_status("/").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, FsError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("ZooKeeper"), "{err}");
    assert!(fs.master_infos().await.is_empty());
}
