//! Starting a master: recover the namespace from the journal, open a new
//! term (fencing any older writer), then serve RPCs until shutdown or until
//! the journal writer fails — a master that cannot journal must not serve.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use alluxio_common::{identity, time};
use alluxio_proto::block_master_server::BlockMasterServer;
use alluxio_proto::file_system_master_server::FileSystemMasterServer;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{AddMount, CreateInode, JournalEntry, TermStart};
use anyhow::Context;

use crate::block_master::BlockMaster;
use crate::fs_master::{FsMaster, FsMasterOptions};
use crate::journal::{format, JournalStore, JournalWriter};
use crate::namespace::inode::new_directory;
use crate::namespace::{Namespace, ROOT_ID};
use crate::service::block::BlockService;
use crate::service::fs::{ClusterFacts, FsService};
use crate::service::MAX_MESSAGE_BYTES;
use crate::settings::MasterSettings;
use crate::{checkpointer, recovery};

/// Runs the master until `shutdown` resolves.
pub async fn run(
    settings: MasterSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = JournalStore::open(&settings.journal_folder, &settings.journal_options)?;
    let format_info = format::check(&store).await?;
    let started = std::time::Instant::now();
    let ns = recovery::recover(&store).await?;
    tracing::info!(
        "replayed journal {} to sequence {} ({} inodes) in {:?}",
        store.describe(),
        ns.last_seq(),
        ns.inode_count(),
        started.elapsed()
    );
    let last_checkpoint = crate::journal::checkpoint::latest(&store)
        .await?
        .unwrap_or(0);
    let ns = Arc::new(RwLock::new(ns));
    let (user, group) = identity::current_user_group();
    let writer = start_term(&ns, &store, &settings, &user, &group).await?;
    let blocks = Arc::new(BlockMaster::new(settings.worker_timeout));
    let fs = Arc::new(FsMaster::new(
        ns.clone(),
        writer.clone(),
        blocks.clone(),
        FsMasterOptions {
            default_block_size: settings.default_block_size,
            default_owner: user,
            default_group: group,
        },
    ));
    tokio::spawn(checkpointer::run(
        ns.clone(),
        writer.clone(),
        store.clone(),
        settings.checkpoint_period_entries,
        last_checkpoint,
    ));
    tokio::spawn(detect_lost_workers(
        blocks.clone(),
        settings.lost_worker_interval,
    ));

    let cluster = Arc::new(ClusterFacts {
        address: settings.address(),
        cluster_id: format_info.cluster_id,
        start_time_ms: time::now_ms(),
        journal_folder: settings.journal_folder.clone(),
        root_ufs: settings.root_ufs.clone(),
    });
    let fs_service = FileSystemMasterServer::new(FsService {
        master: fs.clone(),
        cluster,
    })
    .max_decoding_message_size(MAX_MESSAGE_BYTES)
    .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let block_service = BlockMasterServer::new(BlockService { blocks })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);

    let addr = tokio::net::lookup_host((settings.hostname.as_str(), settings.rpc_port))
        .await
        .with_context(|| format!("resolving alluxio.master.hostname {:?}", settings.hostname))?
        .next()
        .with_context(|| format!("{:?} has no address", settings.hostname))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding master RPC port {addr}"))?;
    tracing::info!(
        "alluxio-master serving on {} (term {})",
        settings.address(),
        writer.term()
    );
    let failed_writer = writer.clone();
    let stop = async move {
        tokio::select! {
            _ = shutdown => {}
            _ = wait_for_failure(failed_writer) => {}
        }
    };
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(fs_service)
        .add_service(block_service)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            stop,
        )
        .await
        .context("RPC server failed")?;
    if let Some(err) = writer.failure() {
        anyhow::bail!("stopped serving: {err}");
    }
    tracing::info!("alluxio-master stopped");
    Ok(())
}

async fn wait_for_failure(writer: JournalWriter) {
    loop {
        if writer.failure().is_some() {
            return;
        }
        // wait_durable(u64::MAX) returns only when the writer fails.
        let _ = writer.wait_durable(u64::MAX).await;
    }
}

/// Publishes the `TermStart` batch (with the root inode and root mount on a
/// new cluster). If another master holds the slot, this one was fenced.
async fn start_term(
    ns: &Arc<RwLock<Namespace>>,
    store: &JournalStore,
    settings: &MasterSettings,
    user: &str,
    group: &str,
) -> anyhow::Result<JournalWriter> {
    let (writer, done) = {
        let mut ns = ns.write().unwrap_or_else(|p| p.into_inner());
        let term = ns.term() + 1;
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
