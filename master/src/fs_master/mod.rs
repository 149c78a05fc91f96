//! The file-system master: validates each namespace operation against the
//! current state, talks to the UFS outside the namespace lock, then journals
//! and applies the resulting entries. Replies go out only once the journal
//! batch holding them is durable; reads wait for the durability of every
//! change they could have observed, so no client ever sees state that a
//! crash could take back.

mod abandoned;
mod attrs;
mod create;
mod empty_objects;
mod fence;
mod info;
mod intents;
mod mounts;
mod nodes;
mod operations;
mod path_locks;
mod read;
mod remove;
mod rename;
mod ufs_load;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use alluxio_common::ufs::{Ufs, UfsCache};
use alluxio_common::{AlluxioPath, FsError, FsResult};
use alluxio_proto::journal::JournalEntry;
use alluxio_proto::OperationId;
use alluxio_proto::UfsLocation;

use crate::block_master::BlockMaster;
use crate::namespace::Namespace;
use alluxio_journal::JournalWriter;

pub use fence::LeaseCheck;
pub use info::temp_ufs_name;

use fence::FencedUfs;

/// Settings the file-system master needs.
#[derive(Debug, Clone)]
pub struct FsMasterSettings {
    pub default_block_size: u64,
    /// Owner of inodes created without one (and of UFS-loaded inodes).
    pub default_owner: String,
    pub default_group: String,
}

/// The namespace service of a leading master.
pub struct FsMaster {
    ns: Arc<RwLock<Namespace>>,
    writer: JournalWriter,
    blocks: Arc<BlockMaster>,
    ufs: UfsCache,
    /// Empty files' UFS objects being written after their create.
    empty_objects: empty_objects::EmptyObjects,
    /// Mutations with an operation id still running (`operations.rs`).
    in_flight: operations::InFlight,
    /// Whether this master still leads; checked before each UFS change.
    lease: LeaseCheck,
    /// This leadership's term is over (`end_term`): a lapsed lease may come
    /// back within the term (a ZooKeeper pause shorter than the session),
    /// this never does.
    term_over: std::sync::atomic::AtomicBool,
    /// Paths of the operations changing the UFS (`path_locks.rs`).
    paths: path_locks::PathLocks,
    /// When this leader first saw each incomplete version (`abandoned.rs`).
    first_seen: abandoned::FirstSeen,
    opts: FsMasterSettings,
}

impl FsMaster {
    /// Serves `ns`, journaling through `writer`.
    pub fn new(
        ns: Arc<RwLock<Namespace>>,
        writer: JournalWriter,
        blocks: Arc<BlockMaster>,
        lease: LeaseCheck,
        opts: FsMasterSettings,
    ) -> Self {
        FsMaster {
            ns,
            writer,
            blocks,
            ufs: UfsCache::default(),
            empty_objects: Default::default(),
            in_flight: Default::default(),
            lease,
            term_over: Default::default(),
            paths: Default::default(),
            first_seen: Default::default(),
            opts,
        }
    }

    /// Ends this leadership's term: the master stepped down (operations
    /// still running on it stop retrying their UFS steps and leave their
    /// intents to the next leader).
    pub fn end_term(&self) {
        self.term_over
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether this leadership's term is over: ended, or its journal
    /// writer failed (fenced by a newer term, or its storage broke).
    fn term_over(&self) -> bool {
        self.term_over.load(std::sync::atomic::Ordering::Acquire) || self.writer.failure().is_some()
    }

    /// The journal writer.
    pub fn writer(&self) -> &JournalWriter {
        &self.writer
    }

    /// The shared namespace.
    pub fn namespace(&self) -> &Arc<RwLock<Namespace>> {
        &self.ns
    }

    /// The block master.
    pub fn blocks(&self) -> &Arc<BlockMaster> {
        &self.blocks
    }

    fn read(&self) -> RwLockReadGuard<'_, Namespace> {
        self.ns.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Namespace> {
        self.ns.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The UFS at `loc`, to change something in it: first waits until the
    /// UFS objects of empty files created before are written, so that no
    /// change overtakes one (`empty_objects.rs`).
    async fn ufs_to_change(&self, loc: &UfsLocation) -> FsResult<FencedUfs> {
        self.empty_objects.drain().await;
        self.ufs_fenced(loc)
    }

    /// The UFS at `loc`, changed only while this master leads (`fence.rs`),
    /// without waiting for empty files' objects (a mkdir, and those objects
    /// themselves).
    fn ufs_fenced(&self, loc: &UfsLocation) -> FsResult<FencedUfs> {
        Ok(FencedUfs::new(
            self.ufs_for(loc)?,
            self.lease.clone(),
            self.writer.clone(),
        ))
    }

    /// The UFS at `loc`, to read from it.
    fn ufs_for(&self, loc: &UfsLocation) -> FsResult<Arc<Ufs>> {
        let options = loc
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.ufs.get(&loc.root_uri, &options)
    }

    /// Applies `entries` to `ns` and queues them for publication; the
    /// returned future resolves when they are durable. Called with the
    /// namespace write lock held, so queue order is apply order.
    fn commit(
        &self,
        ns: &mut Namespace,
        mut entries: Vec<JournalEntry>,
        op_id: Option<OperationId>,
        op_result: u64,
    ) -> impl std::future::Future<Output = FsResult<()>> + Send + 'static {
        if let (Some(first), Some(op)) = (entries.first_mut(), op_id) {
            first.op_id = Some(op);
            first.op_result = op_result;
        }
        let first_seq = ns.last_seq() + 1;
        let term = self.writer.term();
        for (i, e) in entries.iter().enumerate() {
            if let Err(msg) = ns.apply(first_seq + i as u64, term, e) {
                // Validation let through an entry the state machine rejects:
                // memory and journal would diverge. Stop rather than limp on.
                tracing::error!(
                    "BUG: entry {} does not apply: {msg}: {e:?}",
                    first_seq + i as u64
                );
                std::process::abort();
            }
        }
        let fut = self.writer.append(first_seq, entries);
        async move { fut.await.map_err(FsError::from) }
    }

    /// If operation `op` was applied before (the client is retrying after a
    /// lost reply), its recorded result, once that is durable.
    async fn replayed(&self, op: &Option<OperationId>) -> FsResult<Option<u64>> {
        let Some(op) = op else { return Ok(None) };
        let (result, seq) = {
            let ns = self.read();
            (ns.retried(op), ns.last_seq())
        };
        match result {
            Some(r) => {
                self.wait_durable(seq).await?;
                tracing::debug!(
                    "operation {:x}{:x} retried: replaying its result",
                    op.high,
                    op.low
                );
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// The reply for inode `id` (a replayed operation's result).
    fn info_of(&self, id: u64, fallback: &AlluxioPath) -> FsResult<alluxio_proto::FileInfo> {
        let ns = self.read();
        let inode = ns
            .inode(id)
            .ok_or_else(|| FsError::NotFound(fallback.to_string()))?;
        let path = ns.path_of(id)?;
        self.info(&ns, inode, &path)
    }

    /// `reply` (a result or an error) once everything the call could have
    /// observed is durable. Its own entries are, when it committed any; but
    /// an answer can also describe entries of another call still being
    /// made durable — `AlreadyExists` for a name whose create is in flight,
    /// "exists already, fine" to a `mkdir -p`, a parent's attributes — and
    /// a crash could still take those back. Every mutating RPC answers
    /// through here.
    ///
    /// If that durability fails, an answer about the call's own outcome
    /// stands (`NoSpace`: its batch was refused; `Unavailable`: retry);
    /// any other answer may describe what is now lost, so the client is
    /// told to retry instead — never a definite "did not happen" for a
    /// change that may yet take effect.
    pub async fn settled<T>(&self, reply: FsResult<T>) -> FsResult<T> {
        let seq = self.read().last_seq();
        match self.wait_durable(seq).await {
            Ok(()) => reply,
            Err(e) => match reply {
                Err(own @ (FsError::NoSpace(_) | FsError::Unavailable(_))) => Err(own),
                _ => Err(FsError::Unavailable(format!(
                    "what this answer describes could not be made durable: {e}"
                ))),
            },
        }
    }

    /// Waits until everything a reader may have seen (up to `seq`) is durable.
    async fn wait_durable(&self, seq: u64) -> FsResult<()> {
        self.writer.wait_durable(seq).await.map_err(FsError::from)
    }
}

fn parse_path(raw: &str) -> FsResult<AlluxioPath> {
    AlluxioPath::parse(raw)
}
