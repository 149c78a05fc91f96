//! Starting a master: recover the namespace from the journal, open a new
//! term (fencing any older writer), then serve RPCs until shutdown or until
//! the journal writer fails — a master that cannot journal must not serve.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use alluxio_common::config::keys;
use alluxio_common::{identity, time, FsError};
use alluxio_proto::block_master_server::BlockMasterServer;
use alluxio_proto::file_system_master_server::FileSystemMasterServer;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{AddMount, CreateInode, JournalEntry, TermStart};
use anyhow::Context;

use crate::block_master::BlockMaster;
use crate::checkpointer;
use crate::election::{renew_lease, ElectionError, Elector, ZkSettings};
use crate::fs_master::{FsMaster, FsMasterSettings};
use crate::namespace::inode::new_directory;
use crate::namespace::{Namespace, ROOT_ID};
use crate::recovery::{self, Replica};
use crate::role::{Leadership, Lease, Role, RoleCell};
use crate::service::block::BlockService;
use crate::service::fs::{ClusterFacts, FsService};
use crate::service::MAX_MESSAGE_BYTES;
use crate::settings::MasterSettings;
use alluxio_journal::{format, terms, JournalStore, JournalWriter};
use zookeeper_client::SessionState;

/// Runs the master until `shutdown` resolves.
pub async fn run(
    settings: MasterSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = JournalStore::open(&settings.journal_folder, &settings.journal_options)?;
    let format_info = retrying("reading the journal's format marker", || {
        format::check(&store)
    })
    .await?;
    let lease = if settings.zookeeper.is_some() {
        Lease::expired()
    } else {
        Lease::forever()
    };
    let role = Arc::new(RoleCell::new(settings.address(), lease));
    let cluster = Arc::new(ClusterFacts {
        address: settings.address(),
        cluster_id: format_info.cluster_id,
        start_time_ms: time::now_ms(),
        journal_folder: settings.journal_folder.clone(),
        root_ufs: settings.root_ufs.clone(),
    });
    // The RPC server runs in every role: a standby must answer at once.
    let listener = bind(&settings).await?;
    crate::metrics::init();
    let web = alluxio_common::web::bind(keys::MASTER_WEB_PORT, settings.web_port).await?;
    let web_port = web
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(settings.web_port);
    let web = alluxio_common::web::spawn(web, crate::metrics::pages(role.clone(), cluster.clone()));
    let lag = tokio::spawn(crate::metrics::track_standby_lag(role.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve(listener, role.clone(), cluster, stop_rx));
    tracing::info!(
        "alluxio-master serving on {} (web port {web_port})",
        settings.address()
    );
    let result = match settings.zookeeper.clone() {
        None => run_single(&settings, &store, &role, shutdown).await,
        Some(zk) => run_elected(&settings, &zk, &store, &role, shutdown).await,
    };
    role.set(Role::NotServing);
    web.abort();
    lag.abort();
    let _ = stop_tx.send(true);
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("RPC server: {e}"),
        Err(e) => tracing::error!("RPC server task: {e}"),
    }
    if result.is_ok() {
        tracing::info!("alluxio-master stopped");
    }
    result
}

async fn bind(settings: &MasterSettings) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = tokio::net::lookup_host((settings.hostname.as_str(), settings.rpc_port))
        .await
        .with_context(|| format!("resolving alluxio.master.hostname {:?}", settings.hostname))?
        .next()
        .with_context(|| format!("{:?} has no address", settings.hostname))?;
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding master RPC port {addr}"))
}

async fn serve(
    listener: tokio::net::TcpListener,
    role: Arc<RoleCell>,
    cluster: Arc<ClusterFacts>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let fs_service = FileSystemMasterServer::new(FsService {
        role: role.clone(),
        cluster,
    })
    .max_decoding_message_size(MAX_MESSAGE_BYTES)
    .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let block_service = BlockMasterServer::new(BlockService { role })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    // The builder's `tcp_nodelay` only applies to the listener it binds
    // itself; ours must set it on every accepted connection. Without it, a
    // reply's trailers (a second small write) waited for the client's
    // delayed ACK: 40 ms per call.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .layer(alluxio_common::metrics::rpc::RpcMetricsLayer)
        .add_service(fs_service)
        .add_service(block_service)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .context("RPC server failed")
}

/// Without ZooKeeper: this master is the leader for its whole life. A
/// failed journal publish ends the process (a supervisor restarts it, and
/// the restart replays the journal) — except a full journal folder: then
/// it answers every request with a retryable error naming the folder, and
/// leads again (replaying what is durable) once space is freed. The change
/// whose batch did not fit hears `NoSpace` (its batch is cut off again).
async fn run_single(
    settings: &MasterSettings,
    store: &JournalStore,
    role: &Arc<RoleCell>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let replica = recover_logged(store).await?;
        let leading = match take_over(settings, store, replica, role).await {
            Ok(l) => l,
            Err(e) => {
                let Some(full) = journal_full(&e) else {
                    return Err(e);
                };
                if refuse_while_full(role, full, &mut shutdown).await {
                    return Ok(());
                }
                continue;
            }
        };
        complete_intents(&leading, role, Duration::ZERO).await?;
        role.set_refusal(None);
        role.set(Role::Leader(leading.leadership.clone()));
        let writer = leading.leadership.fs.writer().clone();
        tokio::select! {
            _ = shutdown.as_mut() => {
                leading.stop(role);
                return Ok(());
            }
            _ = writer.stopped() => {
                leading.stop(role);
                match writer.failure() {
                    Some(full @ alluxio_journal::JournalError::Full { .. }) => {
                        if refuse_while_full(role, full, &mut shutdown).await {
                            return Ok(());
                        }
                    }
                    other => {
                        let err = other.map(|e| e.to_string()).unwrap_or_default();
                        anyhow::bail!("stopped serving: {err}")
                    }
                }
            }
        }
    }
}

/// The full-folder error in `e`'s chain, if that is what it is.
fn journal_full(e: &anyhow::Error) -> Option<alluxio_journal::JournalError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<alluxio_journal::JournalError>()
            .filter(|j| matches!(j, alluxio_journal::JournalError::Full { .. }))
            .cloned()
    })
}

/// Answers every request with `full` for a second before the next attempt
/// to lead; true if the master was asked to shut down meanwhile.
async fn refuse_while_full(
    role: &RoleCell,
    full: alluxio_journal::JournalError,
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> bool {
    tracing::error!("{full}: refusing every request until space is freed");
    // Retryable: a change journaled as an intent before the folder filled
    // will still be completed, so no request may hear "did not happen".
    role.set_refusal(Some(FsError::Unavailable(format!(
        "{full}; this master serves again once space is freed"
    ))));
    tokio::select! {
        _ = shutdown.as_mut() => true,
        _ = tokio::time::sleep(Duration::from_secs(1)) => false,
    }
}

/// With ZooKeeper: standby (tailing the journal) until elected, leader until
/// the session or the journal says otherwise, then standby again after
/// rebuilding the namespace from the journal.
async fn run_elected(
    settings: &MasterSettings,
    zk: &ZkSettings,
    store: &JournalStore,
    role: &Arc<RoleCell>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let address = settings.address();
    loop {
        role.set(Role::NotServing);
        let mut replica = recover_logged(store).await?;
        role.set_position(replica.ns.last_seq(), replica.ns.term());
        let elector = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            joined = Elector::join(zk, &address) => match joined {
                Ok(e) => Arc::new(e),
                Err(e) => {
                    tracing::warn!("cannot join the election (retrying): {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        role.set(Role::Standby);
        let won = tokio::select! {
            _ = &mut shutdown => {
                resign(elector).await;
                return Ok(());
            }
            won = standby(&elector, store, &mut replica, role) => won,
        };
        if let Err(e) = won {
            tracing::warn!("left the election: {e}");
            resign(elector).await;
            continue;
        }
        tracing::info!("elected leader; catching up the journal tail");
        role.set(Role::NotServing);
        let leading = match take_over(settings, store, replica, role).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("could not take over: {e:#}");
                resign(elector).await;
                continue;
            }
        };
        let lease_task = {
            let (elector, role) = (elector.clone(), role.clone());
            tokio::spawn(async move { renew_lease(&elector, &role.lease).await })
        };
        if elector.session_timeout() != zk.session_timeout {
            tracing::info!(
                "ZooKeeper granted a session timeout of {:?} ({:?} configured); \
                 the read lease follows the granted one",
                elector.session_timeout(),
                zk.session_timeout
            );
        }
        if let Err(e) = complete_intents(&leading, role, elector.session_timeout()).await {
            tracing::warn!("could not take over: {e:#}");
            lease_task.abort();
            leading.stop(role);
            resign(elector).await;
            continue;
        }
        if let Err(e) = elector.publish_leader().await {
            tracing::warn!("could not publish the leader node: {e}");
            lease_task.abort();
            leading.stop(role);
            resign(elector).await;
            continue;
        }
        role.set(Role::Leader(leading.leadership.clone()));
        let outcome = lead_until_lost(&elector, &leading, role, &mut shutdown).await;
        // Stop serving before anything else.
        role.lease.revoke();
        lease_task.abort();
        leading.stop(role);
        resign(elector).await;
        match outcome {
            None => return Ok(()),
            Some(why) => tracing::warn!("stepping down: {why}; rebuilding from the journal"),
        }
    }
}

/// Serves as leader until shutdown (`None`) or a reason to step down.
async fn lead_until_lost(
    elector: &Elector,
    leading: &Leading,
    role: &RoleCell,
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Option<String> {
    let writer = leading.leadership.fs.writer().clone();
    let mut states = elector.state_watcher();
    loop {
        tokio::select! {
            _ = shutdown.as_mut() => return None,
            _ = writer.stopped() => {
                return Some(format!("journal: {}", writer.failure().map(|e| e.to_string()).unwrap_or_default()));
            }
            state = states.changed() => match state {
                SessionState::SyncConnected => {
                    tracing::info!("ZooKeeper connection is back; serving again once the lease renews");
                }
                SessionState::Disconnected => {
                    // Same session may come back: pause, do not resign yet.
                    role.lease.revoke();
                    tracing::warn!("ZooKeeper connection lost: not serving until it returns");
                }
                other => return Some(format!("ZooKeeper session {other:?}")),
            }
        }
    }
}

/// Tails the journal until this master wins the election.
async fn standby(
    elector: &Elector,
    store: &JournalStore,
    replica: &mut Replica,
    role: &RoleCell,
) -> Result<(), ElectionError> {
    let election = elector.wait_until_leader();
    tokio::pin!(election);
    let mut tick = tokio::time::interval(STANDBY_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_hint = std::time::Instant::now() - Duration::from_secs(10);
    let mut last_tail_check = std::time::Instant::now();
    loop {
        tokio::select! {
            won = &mut election => return won,
            _ = tick.tick() => {
                match tail(store, replica, &mut last_tail_check).await {
                    Ok(()) => {}
                    Err(e) => tracing::warn!("standby tailing failed (retrying): {e}"),
                }
                role.set_position(replica.ns.last_seq(), replica.ns.term());
                // Refresh the leader hint often until one is known.
                let every = if role.leader_hint().is_some() { 500 } else { 100 };
                if last_hint.elapsed() > Duration::from_millis(every) {
                    last_hint = std::time::Instant::now();
                    role.set_leader_hint(elector.current_leader().await);
                }
            }
        }
    }
}

/// How often a standby looks for the next batch.
const STANDBY_POLL: Duration = Duration::from_millis(10);

/// Applies what was written after `replica` (point reads only); once a
/// second also reads the log as listed, which notices a compaction past
/// this standby and entries a newer term voided.
async fn tail(
    store: &JournalStore,
    replica: &mut Replica,
    last_check: &mut std::time::Instant,
) -> Result<(), alluxio_journal::JournalError> {
    let advanced = recovery::follow(store, replica).await?;
    if !advanced && last_check.elapsed() > Duration::from_secs(1) {
        *last_check = std::time::Instant::now();
        if recovery::catch_up(store, replica).await? != recovery::Tail::End {
            *replica = recovery::replay(store).await?;
        }
    }
    Ok(())
}

/// After winning: claims a new term, reads the log to its end and opens the
/// term there. The claim comes first, so a leader still appending has
/// stopped acknowledging before the read (`journal/terms.rs`). If another
/// master published into the slot first (an old leader finishing a batch),
/// replays that and tries again.
async fn take_over(
    settings: &MasterSettings,
    store: &JournalStore,
    mut replica: Replica,
    role: &Arc<RoleCell>,
) -> anyhow::Result<Leading> {
    for attempt in 0..10 {
        let term = terms::claim_next(store, replica.ns.term(), &settings.address()).await?;
        if recovery::catch_up(store, &mut replica).await? != recovery::Tail::End {
            replica = recovery::replay(store).await?;
        }
        if replica.ns.term() >= term {
            tracing::warn!("term {term} was opened by another master meanwhile; claiming again");
            continue;
        }
        match lead(settings, store, replica.ns, role, term).await {
            Ok(l) => return Ok(l),
            Err(e) if attempt < 9 && is_fenced(&e) => {
                tracing::warn!("slot taken while opening the term (attempt {attempt}): {e:#}");
                replica = recovery::replay(store).await?;
            }
            Err(e) => return Err(e),
        }
    }
    anyhow::bail!("could not open a new term after 10 attempts")
}

fn is_fenced(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<alluxio_journal::JournalError>()
            .is_some_and(|j| matches!(j, alluxio_journal::JournalError::Fenced { .. }))
    })
}

async fn resign(elector: Arc<Elector>) {
    match Arc::try_unwrap(elector) {
        Ok(e) => e.resign().await,
        Err(_) => tracing::warn!("election handle still shared; session closes when dropped"),
    }
}

async fn recover_logged(store: &JournalStore) -> anyhow::Result<Replica> {
    let started = std::time::Instant::now();
    let replica = retrying("replaying the journal", || recovery::replay(store)).await?;
    tracing::info!(
        "replayed journal {} to sequence {} ({} inodes) in {:?}",
        store.describe(),
        replica.ns.last_seq(),
        replica.ns.inode_count(),
        started.elapsed()
    );
    Ok(replica)
}

/// Runs journal step `what` until it succeeds or fails for good. A journal
/// that cannot be read for a moment — an I/O error, a store that does not
/// answer, an object collected under the reader — is waited for, saying
/// what is waited for, instead of ending the process; damage, a gap or a
/// wrong configuration is returned at once.
async fn retrying<T, Fut>(
    what: &str,
    mut step: impl FnMut() -> Fut,
) -> Result<T, alluxio_journal::JournalError>
where
    Fut: std::future::Future<Output = Result<T, alluxio_journal::JournalError>>,
{
    let policy = alluxio_common::retry::RetryPolicy {
        base_sleep: Duration::from_millis(100),
        max_sleep: Duration::from_secs(5),
        max_duration: Duration::MAX,
    };
    let mut backoff = policy.start();
    loop {
        match step().await {
            Err(e) if e.is_transient() => {
                let delay = backoff.next_delay().unwrap_or(policy.max_sleep);
                tracing::warn!(
                    "{what}: waiting for the journal ({e}); attempt {} failed, \
                     retrying in {delay:?}",
                    backoff.attempts()
                );
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
}

/// A leadership and the background tasks that belong to it.
struct Leading {
    leadership: Arc<Leadership>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Leading {
    fn stop(&self, role: &RoleCell) {
        role.set(Role::NotServing);
        self.leadership.fs.end_term();
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Opens claimed term `term` on `ns` and starts serving it.
async fn lead(
    settings: &MasterSettings,
    store: &JournalStore,
    ns: Namespace,
    role: &Arc<RoleCell>,
    term: u64,
) -> anyhow::Result<Leading> {
    let last_checkpoint = alluxio_journal::checkpoint::latest(store)
        .await?
        .unwrap_or(0);
    let ns = Arc::new(RwLock::new(ns));
    let (user, group) = identity::current_user_group();
    let writer = start_term(&ns, store, settings, &user, &group, term).await?;
    let blocks = Arc::new(BlockMaster::new(settings.worker_timeout));
    let lease: crate::fs_master::LeaseCheck = {
        let role = role.clone();
        // `lease_lapsed`: a lease that lapses while the term lasts (as a
        // ZooKeeper pause shorter than the session makes it), for tests.
        Arc::new(move || role.lease.valid() && !alluxio_common::failpoint::failing("lease_lapsed"))
    };
    let fs = Arc::new(FsMaster::new(
        ns.clone(),
        writer.clone(),
        blocks.clone(),
        lease,
        FsMasterSettings {
            default_block_size: settings.default_block_size,
            default_owner: user,
            default_group: group,
        },
    ));
    let tasks = vec![
        tokio::spawn(checkpointer::run(
            ns.clone(),
            writer.clone(),
            store.clone(),
            settings.checkpoint_period_entries,
            last_checkpoint,
        )),
        tokio::spawn(detect_lost_workers(
            blocks.clone(),
            settings.lost_worker_interval,
        )),
        tokio::spawn(
            fs.clone()
                .end_abandoned_versions(settings.incomplete_file_timeout),
        ),
    ];
    {
        let ns = ns.read().unwrap_or_else(|p| p.into_inner());
        role.set_position(ns.last_seq(), ns.term());
    }
    let leadership = Arc::new(Leadership { fs, blocks });
    tracing::info!("leading in term {}", writer.term());
    Ok(Leading { leadership, tasks })
}

/// Completes the UFS changes the previous leader journaled and did not
/// finish (decision 0013), once this master's lease holds, so that nothing
/// is served half done.
async fn complete_intents(
    leading: &Leading,
    role: &RoleCell,
    within: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    while !role.lease.valid() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the read lease did not start within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    leading
        .leadership
        .fs
        .complete_intents()
        .await
        .context("completing the previous leader's UFS changes")
}

/// Publishes the `TermStart` batch (with the root inode and root mount on a
/// new cluster). If another master holds the slot, this one was fenced.
async fn start_term(
    ns: &Arc<RwLock<Namespace>>,
    store: &JournalStore,
    settings: &MasterSettings,
    user: &str,
    group: &str,
    term: u64,
) -> anyhow::Result<JournalWriter> {
    // Build only on durable bytes: what the log showed this master may
    // include an old term's writes that never reached the disk.
    store
        .sync_dir(alluxio_journal::LOG_DIR)
        .await
        .context("making the inherited journal durable before the new term")?;
    let (writer, done) = {
        let mut ns = ns.write().unwrap_or_else(|p| p.into_inner());
        let first_seq = ns.last_seq() + 1;
        let writer = JournalWriter::start(store.clone(), term, first_seq);
        let mut entries = vec![entry(Entry::TermStart(TermStart {
            term,
            address: settings.address(),
            time_ms: time::now_ms(),
        }))];
        if !ns.has_root() {
            let root = new_directory(ROOT_ID, 0, "", 0o755, user, group, time::now_ns());
            entries.push(entry(Entry::CreateInode(CreateInode { inode: Some(root) })));
        }
        let root = alluxio_common::AlluxioPath::root();
        match ns.mounts().get(&root) {
            None => entries.push(entry(Entry::AddMount(AddMount {
                alluxio_path: "/".into(),
                ufs_uri: settings.root_ufs.clone(),
                options: settings.root_ufs_options.clone().into_iter().collect(),
            }))),
            Some(m) if m.ufs_uri != settings.root_ufs => tracing::warn!(
                "alluxio.master.mount.table.root.ufs is {} but the journal mounts {} at /; \
                 the journal wins (format the journal to change the root UFS)",
                settings.root_ufs,
                m.ufs_uri
            ),
            Some(_) => {}
        }
        for (i, e) in entries.iter().enumerate() {
            ns.apply(first_seq + i as u64, term, e)
                .map_err(|m| anyhow::anyhow!("cannot start term {term}: {m}"))?;
        }
        let done = writer.append(first_seq, entries);
        (writer, done)
    };
    done.await
        .context("publishing the new term's first batch")?;
    // Make sure the root UFS (the journal's, which wins over the setting) opens.
    let root = {
        let ns = ns.read().unwrap_or_else(|p| p.into_inner());
        ns.mounts()
            .get(&alluxio_common::AlluxioPath::root())
            .cloned()
    };
    if let Some(root) = root {
        alluxio_common::ufs::Ufs::open(&root.ufs_uri, &root.options)
            .with_context(|| format!("opening the root UFS {}", root.ufs_uri))?;
    }
    Ok(writer)
}

fn entry(e: Entry) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(e),
    }
}

async fn detect_lost_workers(blocks: Arc<BlockMaster>, interval: Duration) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
    loop {
        tick.tick().await;
        for id in blocks.detect_lost() {
            tracing::warn!(
                "worker {id} is lost: no heartbeat within alluxio.master.worker.timeout"
            );
        }
    }
}
