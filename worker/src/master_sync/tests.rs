//! Tests of the worker–master protocol against a fake in-process master.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use alluxio_proto::block_master_server::{BlockMaster, BlockMasterServer};
use alluxio_proto::{
    CommitBlockRequest, CommitBlockResponse, HeartbeatRequest, HeartbeatResponse,
    RegisterWorkerRequest, RegisterWorkerResponse,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use alluxio_common::leader::{DiscoverySettings, MasterDiscovery};

use super::*;
use crate::settings::{TierSettings, WorkerSettings};

/// What the fake master saw, and how it should answer.
#[derive(Default)]
struct FakeState {
    registers: Vec<RegisterWorkerRequest>,
    heartbeats: Vec<HeartbeatRequest>,
    commits: Vec<CommitBlockRequest>,
    fail_heartbeats: bool,
    /// Answer every RPC with "not leader, ask this address".
    redirect_to: Option<String>,
    next_reply: Option<HeartbeatResponse>,
}

#[derive(Clone, Default)]
struct FakeMaster {
    state: Arc<Mutex<FakeState>>,
}

impl FakeMaster {
    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    fn redirect(&self) -> Result<(), Status> {
        match self.with(|s| s.redirect_to.clone()) {
            Some(leader) => Err(FsError::NotLeader {
                leader: Some(leader),
            }
            .into()),
            None => Ok(()),
        }
    }
}

#[tonic::async_trait]
impl BlockMaster for FakeMaster {
    async fn register_worker(
        &self,
        request: Request<RegisterWorkerRequest>,
    ) -> Result<Response<RegisterWorkerResponse>, Status> {
        self.redirect()?;
        let n = self.with(|s| {
            s.registers.push(request.into_inner());
            s.registers.len() as u64
        });
        Ok(Response::new(RegisterWorkerResponse { worker_id: 100 + n }))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        self.redirect()?;
        self.with(|s| {
            if s.fail_heartbeats {
                return Err(FsError::Unavailable("journal is catching up".into()).into());
            }
            s.heartbeats.push(request.into_inner());
            Ok(Response::new(s.next_reply.take().unwrap_or_default()))
        })
    }

    async fn commit_block(
        &self,
        request: Request<CommitBlockRequest>,
    ) -> Result<Response<CommitBlockResponse>, Status> {
        self.redirect()?;
        self.with(|s| s.commits.push(request.into_inner()));
        Ok(Response::new(CommitBlockResponse {}))
    }
}

async fn serve(master: FakeMaster) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(BlockMasterServer::new(master))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

fn settings(dir: &Path, masters: Vec<String>) -> WorkerSettings {
    WorkerSettings {
        hostname: "w1".into(),
        rpc_port: 29999,
        web_port: 30000,
        tiers: vec![TierSettings {
            level: 0,
            alias: "MEM".into(),
            path: dir.to_path_buf(),
            quota: 1 << 20,
        }],
        heartbeat_interval: Duration::from_millis(20),
        heartbeat_timeout: Duration::from_secs(30),
        master_connect_timeout: Duration::from_secs(30),
        keepalive_time: Duration::from_secs(30),
        keepalive_timeout: Duration::from_secs(30),
        masters: DiscoverySettings::Static(masters),
    }
}

fn put(store: &BlockStore, id: u64, len: usize) {
    let (temp, mut file) = store.create_temp(id, len as u64).unwrap();
    file.write_all(&vec![1u8; len]).unwrap();
    temp.commit().unwrap();
}

/// Polls `cond` for up to five seconds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn start(settings: &WorkerSettings, store: &BlockStore) -> Arc<MasterSync> {
    let DiscoverySettings::Static(masters) = &settings.masters else {
        panic!("tests use static masters");
    };
    let sync = Arc::new(MasterSync::new(
        settings,
        store.clone(),
        MasterDiscovery::fixed(masters.clone()),
    ));
    let runner = sync.clone();
    tokio::spawn(async move { runner.run().await });
    sync
}

fn all_added(master: &FakeMaster) -> Vec<u64> {
    master.with(|s| {
        s.heartbeats
            .iter()
            .flat_map(|h| h.added_blocks.clone())
            .collect()
    })
}

fn all_removed(master: &FakeMaster) -> Vec<u64> {
    master.with(|s| {
        s.heartbeats
            .iter()
            .flat_map(|h| h.removed_blocks.clone())
            .collect()
    })
}

#[tokio::test]
async fn registers_with_a_full_report_then_sends_deltas() {
    let dir = tempfile::tempdir().unwrap();
    let master = FakeMaster::default();
    let addr = serve(master.clone()).await;
    let settings = settings(dir.path(), vec![addr.to_string()]);
    let store = BlockStore::open(&settings.tiers).unwrap();
    put(&store, 1, 100);
    let sync = start(&settings, &store);

    eventually("registration", || master.with(|s| !s.registers.is_empty())).await;
    let register = master.with(|s| s.registers[0].clone());
    assert_eq!(register.block_ids, vec![1]);
    assert_eq!(register.address.unwrap().host, "w1");
    assert_eq!(register.tiers[0].used_bytes, 100);
    assert_eq!(sync.worker_id(), Some(101));

    put(&store, 2, 10);
    store.remove_block(1).unwrap();
    eventually("the delta", || all_added(&master) == vec![2]).await;
    assert_eq!(all_removed(&master), vec![1]);
    let hb = master.with(|s| s.heartbeats.last().cloned().unwrap());
    assert_eq!(hb.worker_id, 101);

    sync.commit_block(2, 10, "MEM").await;
    let commit = master.with(|s| s.commits[0].clone());
    assert_eq!(
        (commit.worker_id, commit.block_id, commit.length),
        (101, 2, 10)
    );
    assert_eq!(commit.tier_alias, "MEM");
}

#[tokio::test]
async fn deltas_of_failed_heartbeats_are_resent() {
    let dir = tempfile::tempdir().unwrap();
    let master = FakeMaster::default();
    let addr = serve(master.clone()).await;
    let settings = settings(dir.path(), vec![addr.to_string()]);
    let store = BlockStore::open(&settings.tiers).unwrap();
    put(&store, 1, 10);
    let _sync = start(&settings, &store);
    eventually("registration", || master.with(|s| !s.registers.is_empty())).await;

    master.with(|s| s.fail_heartbeats = true);
    put(&store, 2, 10);
    // Let a few heartbeats fail and take the deltas with them.
    tokio::time::sleep(Duration::from_millis(150)).await;
    store.remove_block(1).unwrap();
    put(&store, 3, 10);
    assert!(all_added(&master).is_empty());
    master.with(|s| s.fail_heartbeats = false);
    eventually("the resent deltas", || all_added(&master) == vec![2, 3]).await;
    assert_eq!(all_removed(&master), vec![1]);
}

#[tokio::test]
async fn heartbeat_commands_are_obeyed() {
    let dir = tempfile::tempdir().unwrap();
    let master = FakeMaster::default();
    let addr = serve(master.clone()).await;
    let settings = settings(dir.path(), vec![addr.to_string()]);
    let store = BlockStore::open(&settings.tiers).unwrap();
    put(&store, 1, 10);
    put(&store, 2, 10);
    let sync = start(&settings, &store);
    eventually("registration", || master.with(|s| !s.registers.is_empty())).await;

    master.with(|s| {
        s.next_reply = Some(HeartbeatResponse {
            command: CommandType::CommandFree.into(),
            block_ids: vec![1, 9],
        })
    });
    eventually("the free", || !store.contains(1)).await;
    assert!(store.contains(2));
    eventually("the removal report", || all_removed(&master) == vec![1]).await;

    master.with(|s| {
        s.next_reply = Some(HeartbeatResponse {
            command: CommandType::CommandRegister.into(),
            block_ids: vec![],
        })
    });
    eventually("re-registration", || {
        master.with(|s| s.registers.len() == 2)
    })
    .await;
    assert_eq!(master.with(|s| s.registers[1].block_ids.clone()), vec![2]);
    eventually("the new worker id", || sync.worker_id() == Some(102)).await;
}

#[tokio::test]
async fn follows_not_leader_redirects_and_skips_dead_masters() {
    let dir = tempfile::tempdir().unwrap();
    let leader = FakeMaster::default();
    let leader_addr = serve(leader.clone()).await;
    let standby = FakeMaster::default();
    standby.with(|s| s.redirect_to = Some(leader_addr.to_string()));
    let standby_addr = serve(standby.clone()).await;
    // A port nobody listens on: bind, note, close.
    let dead = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let settings = settings(dir.path(), vec![dead.to_string(), standby_addr.to_string()]);
    let store = BlockStore::open(&settings.tiers).unwrap();
    let _sync = start(&settings, &store);
    eventually("registration at the leader", || {
        leader.with(|s| !s.registers.is_empty())
    })
    .await;
    eventually("heartbeats at the leader", || {
        leader.with(|s| s.heartbeats.len() >= 2)
    })
    .await;
    assert!(standby.with(|s| s.registers.is_empty()));
}

#[tokio::test]
async fn gives_up_when_registration_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let dead = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut settings = settings(dir.path(), vec![dead.to_string()]);
    settings.master_connect_timeout = Duration::from_millis(300);
    let store = BlockStore::open(&settings.tiers).unwrap();
    let sync = MasterSync::new(
        &settings,
        store,
        MasterDiscovery::fixed(vec![dead.to_string()]),
    );
    let err = sync.run().await.unwrap_err();
    assert!(matches!(err, SyncError::RegisterTimeout { .. }), "{err}");
}

#[tokio::test]
async fn gives_up_after_the_heartbeat_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let master = FakeMaster::default();
    let addr = serve(master.clone()).await;
    let mut settings = settings(dir.path(), vec![addr.to_string()]);
    settings.heartbeat_timeout = Duration::from_millis(300);
    let store = BlockStore::open(&settings.tiers).unwrap();
    master.with(|s| s.fail_heartbeats = true);
    let sync = MasterSync::new(
        &settings,
        store,
        MasterDiscovery::fixed(vec![addr.to_string()]),
    );
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), sync.run())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, SyncError::HeartbeatTimeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn reregisters_at_once_when_a_new_leader_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    let a = FakeMaster::default();
    let a_addr = serve(a.clone()).await.to_string();
    let b = FakeMaster::default();
    let b_addr = serve(b.clone()).await.to_string();
    let mut settings = settings(dir.path(), vec![]);
    // Heartbeats too rare to notice anything within the test.
    settings.heartbeat_interval = Duration::from_secs(30);
    let store = BlockStore::open(&settings.tiers).unwrap();
    put(&store, 1, 10);
    // Leaders announced by the test, as ZooKeeper would.
    let (masters, announcer) = MasterDiscovery::announced("the test");
    let sync = Arc::new(MasterSync::new(&settings, store.clone(), masters));
    let runner = sync.clone();
    tokio::spawn(async move { runner.run().await });

    // No leader yet: registration waits, then goes to the first one named.
    tokio::time::sleep(Duration::from_millis(150)).await;
    announcer.announce(Some(a_addr.clone()));
    eventually("registration at A", || a.with(|s| s.registers.len() == 1)).await;

    // B takes over: a full report goes to B at once, A keeps answering.
    put(&store, 2, 10);
    let started = Instant::now();
    announcer.announce(Some(b_addr.clone()));
    eventually("registration at B", || b.with(|s| s.registers.len() == 1)).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let mut report = b.with(|s| s.registers[0].block_ids.clone());
    report.sort();
    assert_eq!(report, vec![1, 2]);
    eventually("the new worker id", || sync.worker_id() == Some(101)).await;

    // The leader is lost, then A wins again: A gets a full report again.
    announcer.announce(None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    announcer.announce(Some(a_addr.clone()));
    eventually("re-registration at A", || {
        a.with(|s| s.registers.len() == 2)
    })
    .await;
    // Announcing the same leader again changes nothing.
    announcer.announce(Some(a_addr.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.with(|s| s.registers.len()), 2);
    assert_eq!(b.with(|s| s.registers.len()), 1);
}

/// One pass over a fixed list reaches every master: after a redirect sent
/// the connection to B and B stopped serving, the next call finds A (which
/// leads now) instead of trying B twice.
#[tokio::test]
async fn one_pass_reaches_the_other_master_after_the_hinted_one_fails() {
    let a = FakeMaster::default();
    let a_addr = serve(a.clone()).await.to_string();
    let b = FakeMaster::default();
    let b_addr = serve(b.clone()).await.to_string();
    a.with(|s| s.redirect_to = Some(b_addr.clone()));
    let client = crate::master_client::MasterClient::new(MasterDiscovery::fixed(vec![
        a_addr.clone(),
        b_addr.clone(),
    ]));
    let beat =
        || client.call(|mut c| async move { c.heartbeat(HeartbeatRequest::default()).await });
    beat().await.unwrap();
    assert_eq!(client.leader_address(), Some(b_addr.clone()));
    assert_eq!(b.with(|s| s.heartbeats.len()), 1);
    // B stops serving (it answers "unavailable", naming no leader) and A
    // takes over.
    b.with(|s| s.fail_heartbeats = true);
    a.with(|s| s.redirect_to = None);
    beat().await.expect("one pass reaches A");
    assert_eq!(client.leader_address(), Some(a_addr));
    assert_eq!(a.with(|s| s.heartbeats.len()), 1);
}

/// A "not leader" hint gives way once the discovery names another leader:
/// the call after the announcement goes to the announced master.
#[tokio::test]
async fn an_announced_leader_wins_over_an_older_hint() {
    let a = FakeMaster::default();
    let a_addr = serve(a.clone()).await.to_string();
    let b = FakeMaster::default();
    let b_addr = serve(b.clone()).await.to_string();
    let c = FakeMaster::default();
    let c_addr = serve(c.clone()).await.to_string();
    let (masters, announcer) = MasterDiscovery::announced("the test");
    announcer.announce(Some(a_addr.clone()));
    a.with(|s| s.redirect_to = Some(b_addr.clone()));
    let client = crate::master_client::MasterClient::new(masters);
    let beat =
        || client.call(|mut c| async move { c.heartbeat(HeartbeatRequest::default()).await });
    beat().await.unwrap();
    assert_eq!(client.leader_address(), Some(b_addr.clone()));
    announcer.announce(Some(c_addr.clone()));
    beat().await.unwrap();
    assert_eq!(client.leader_address(), Some(c_addr));
    assert_eq!(b.with(|s| s.heartbeats.len()), 1);
    assert_eq!(c.with(|s| s.heartbeats.len()), 1);
}
