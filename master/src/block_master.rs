//! The worker registry and block locations. Not journaled: workers report
//! their blocks when they register, so a restarted or new leader learns the
//! locations within one heartbeat.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alluxio_common::{FsError, FsResult};
use alluxio_proto::{
    BlockLocation, CommandType, HeartbeatResponse, TierUsage, WorkerInfo, WorkerNetAddress,
};

/// What the master knows of one worker.
#[derive(Debug, Clone)]
struct WorkerEntry {
    id: u64,
    address: WorkerNetAddress,
    tiers: Vec<TierUsage>,
    blocks: HashSet<u64>,
    last_contact: Instant,
    live: bool,
    start_time_ms: i64,
    /// Blocks the worker should drop, sent with its next heartbeat.
    to_free: Vec<u64>,
}

#[derive(Default)]
struct Inner {
    workers: HashMap<u64, WorkerEntry>,
    by_address: HashMap<String, u64>,
    locations: HashMap<u64, Vec<u64>>,
    /// When a block of each container was last committed: a sign that the
    /// container's writer is alive (`fs_master/abandoned.rs`).
    container_commits: HashMap<u64, Instant>,
}

/// Registry of workers and of which worker caches which block.
pub struct BlockMaster {
    inner: Mutex<Inner>,
    worker_timeout: Duration,
}

fn addr_key(a: &WorkerNetAddress) -> String {
    format!("{}:{}", a.host, a.rpc_port)
}

impl Inner {
    fn drop_locations(&mut self, worker: u64, blocks: impl IntoIterator<Item = u64>) {
        for b in blocks {
            if let Some(locs) = self.locations.get_mut(&b) {
                locs.retain(|w| *w != worker);
                if locs.is_empty() {
                    self.locations.remove(&b);
                }
            }
        }
    }

    fn add_location(&mut self, worker: u64, block: u64) {
        let locs = self.locations.entry(block).or_default();
        if !locs.contains(&worker) {
            locs.push(worker);
        }
    }
}

impl BlockMaster {
    /// A registry that marks workers lost after `worker_timeout` of silence.
    pub fn new(worker_timeout: Duration) -> Self {
        BlockMaster {
            inner: Mutex::new(Inner::default()),
            worker_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers (or re-registers) the worker whose stable identity is
    /// `identity` with a full block report; its id is that identity. A
    /// worker known at the same address under another identity (restarted
    /// with a fresh top tier) is replaced. An identity another live worker
    /// holds at another address (a copied or shared tier directory) is
    /// refused until that worker has been silent for the worker timeout.
    pub fn register(
        &self,
        identity: u64,
        address: WorkerNetAddress,
        tiers: Vec<TierUsage>,
        blocks: Vec<u64>,
        start_time_ms: i64,
    ) -> FsResult<u64> {
        if identity == 0 {
            return Err(FsError::InvalidArgument(format!(
                "worker {}:{} registered without an identity",
                address.host, address.rpc_port
            )));
        }
        let mut inner = self.lock();
        let key = addr_key(&address);
        if let Some(w) = inner.workers.get(&identity) {
            let other = addr_key(&w.address);
            if other != key && w.live && w.last_contact.elapsed() < self.worker_timeout {
                return Err(FsError::FailedPrecondition(format!(
                    "worker identity {identity} of {key} is held by the live worker at {other} \
                     (is a tier directory shared or copied?); it can take it over once {other} \
                     has been silent for {:?}",
                    self.worker_timeout
                )));
            }
            inner.by_address.remove(&other);
        }
        let stale = inner
            .by_address
            .get(&key)
            .copied()
            .filter(|id| *id != identity);
        for id in stale.into_iter().chain(Some(identity)) {
            if let Some(old) = inner.workers.remove(&id) {
                inner.drop_locations(id, old.blocks);
            }
        }
        inner.by_address.insert(key, identity);
        for b in &blocks {
            inner.add_location(identity, *b);
        }
        inner.workers.insert(
            identity,
            WorkerEntry {
                id: identity,
                address,
                tiers,
                blocks: blocks.into_iter().collect(),
                last_contact: Instant::now(),
                live: true,
                start_time_ms,
                to_free: Vec::new(),
            },
        );
        Ok(identity)
    }

    /// Applies a heartbeat; an unknown or lost worker is told to register.
    pub fn heartbeat(
        &self,
        worker_id: u64,
        tiers: Vec<TierUsage>,
        added: Vec<u64>,
        removed: Vec<u64>,
    ) -> HeartbeatResponse {
        let mut inner = self.lock();
        let Some(w) = inner.workers.get_mut(&worker_id).filter(|w| w.live) else {
            return HeartbeatResponse {
                command: CommandType::CommandRegister as i32,
                block_ids: vec![],
            };
        };
        w.last_contact = Instant::now();
        w.tiers = tiers;
        for b in &added {
            w.blocks.insert(*b);
        }
        for b in &removed {
            w.blocks.remove(b);
        }
        let to_free = std::mem::take(&mut w.to_free);
        for b in added {
            inner.add_location(worker_id, b);
        }
        inner.drop_locations(worker_id, removed);
        if to_free.is_empty() {
            HeartbeatResponse {
                command: CommandType::CommandNothing as i32,
                block_ids: vec![],
            }
        } else {
            HeartbeatResponse {
                command: CommandType::CommandFree as i32,
                block_ids: to_free,
            }
        }
    }

    /// Records a block a worker just cached. Returns false if the worker is
    /// unknown (it will register and report it).
    pub fn commit_block(&self, worker_id: u64, block_id: u64, tiers: Vec<TierUsage>) -> bool {
        let mut inner = self.lock();
        let Some(w) = inner.workers.get_mut(&worker_id).filter(|w| w.live) else {
            return false;
        };
        w.blocks.insert(block_id);
        w.last_contact = Instant::now();
        if !tiers.is_empty() {
            w.tiers = tiers;
        }
        inner.add_location(worker_id, block_id);
        inner.container_commits.insert(
            alluxio_common::block_id::container_of(block_id),
            Instant::now(),
        );
        true
    }

    /// When a block of `container` was last committed, if this master saw
    /// one; entries older than `keep` are dropped on the way.
    pub fn last_commit(&self, container: u64, keep: Duration) -> Option<Instant> {
        let mut inner = self.lock();
        inner.container_commits.retain(|_, t| t.elapsed() <= keep);
        inner.container_commits.get(&container).copied()
    }

    /// Live locations of `block_id`.
    pub fn locations(&self, block_id: u64) -> Vec<BlockLocation> {
        let inner = self.lock();
        inner
            .locations
            .get(&block_id)
            .map(|ws| {
                ws.iter()
                    .filter_map(|w| inner.workers.get(w))
                    .filter(|w| w.live)
                    .map(|w| BlockLocation {
                        worker_id: w.id,
                        address: Some(w.address.clone()),
                        tier_alias: w.tiers.first().map(|t| t.alias.clone()).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets `blocks` everywhere and asks their workers to drop them.
    pub fn free_blocks(&self, blocks: &[u64]) -> usize {
        let mut inner = self.lock();
        let mut freed = 0;
        for b in blocks {
            if let Some(ws) = inner.locations.remove(b) {
                freed += 1;
                for w in ws {
                    if let Some(entry) = inner.workers.get_mut(&w) {
                        entry.blocks.remove(b);
                        entry.to_free.push(*b);
                    }
                }
            }
        }
        freed
    }

    /// Frees every located block of `container` (a version that will never
    /// complete); returns how many.
    pub fn free_container(&self, container: u64) -> usize {
        self.free_blocks(&self.container_blocks(container))
    }

    /// Every located block of `container`: the blocks of a version whose
    /// length is not known yet (still being written).
    pub fn container_blocks(&self, container: u64) -> Vec<u64> {
        self.lock()
            .locations
            .keys()
            .copied()
            .filter(|b| alluxio_common::block_id::container_of(*b) == container)
            .collect()
    }

    /// Marks workers silent for longer than the timeout as lost and drops
    /// their locations. Returns the ids newly lost.
    pub fn detect_lost(&self) -> Vec<u64> {
        let mut inner = self.lock();
        let timeout = self.worker_timeout;
        let lost: Vec<u64> = inner
            .workers
            .values()
            .filter(|w| w.live && w.last_contact.elapsed() > timeout)
            .map(|w| w.id)
            .collect();
        for id in &lost {
            let blocks = match inner.workers.get_mut(id) {
                Some(w) => {
                    w.live = false;
                    std::mem::take(&mut w.blocks)
                }
                None => continue,
            };
            inner.drop_locations(*id, blocks);
        }
        lost
    }

    /// Every known worker, live and lost.
    pub fn worker_infos(&self) -> Vec<WorkerInfo> {
        let inner = self.lock();
        let mut out: Vec<WorkerInfo> = inner
            .workers
            .values()
            .map(|w| WorkerInfo {
                id: w.id,
                address: Some(w.address.clone()),
                tiers: w.tiers.clone(),
                live: w.live,
                last_contact_ms_ago: w.last_contact.elapsed().as_millis() as i64,
                block_count: w.blocks.len() as u64,
                start_time_ms: w.start_time_ms,
            })
            .collect();
        out.sort_by_key(|w| w.id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u32) -> WorkerNetAddress {
        WorkerNetAddress {
            host: "h".into(),
            rpc_port: port,
            web_port: 0,
        }
    }

    #[test]
    fn register_heartbeat_and_lose() {
        let bm = BlockMaster::new(Duration::from_millis(50));
        let id = bm.register(7, addr(1), vec![], vec![10, 11], 0).unwrap();
        assert_eq!(id, 7, "the identity is the id");
        assert_eq!(bm.register(7, addr(1), vec![], vec![10], 0).unwrap(), id);
        assert_eq!(bm.locations(11).len(), 0, "full report replaces old blocks");
        bm.heartbeat(id, vec![], vec![12], vec![10]);
        assert!(bm.locations(10).is_empty());
        assert_eq!(bm.locations(12)[0].worker_id, id);
        assert_eq!(bm.free_blocks(&[12]), 1);
        let r = bm.heartbeat(id, vec![], vec![], vec![]);
        assert_eq!(
            (r.command, r.block_ids),
            (CommandType::CommandFree as i32, vec![12])
        );
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(bm.detect_lost(), vec![id]);
        let r = bm.heartbeat(id, vec![], vec![], vec![]);
        assert_eq!(r.command, CommandType::CommandRegister as i32);
        assert!(!bm.worker_infos()[0].live);
    }

    #[test]
    fn identities_decide_and_are_never_shared() {
        let bm = BlockMaster::new(Duration::from_millis(50));
        assert!(bm.register(0, addr(1), vec![], vec![], 0).is_err());
        bm.register(5, addr(1), vec![], vec![10], 0).unwrap();
        // Another live worker claiming identity 5 is refused, naming both.
        let err = bm.register(5, addr(2), vec![], vec![20], 0).unwrap_err();
        assert!(err.to_string().contains("h:1") && err.to_string().contains("h:2"));
        assert_eq!(bm.locations(10)[0].worker_id, 5);
        assert!(bm.locations(20).is_empty());
        // The worker at h:1 restarted with a fresh top tier: its old entry goes.
        bm.register(6, addr(1), vec![], vec![11], 0).unwrap();
        assert!(bm.locations(10).is_empty());
        assert_eq!(bm.worker_infos().len(), 1);
        // Once silent past the timeout, an identity may move to a new address.
        std::thread::sleep(Duration::from_millis(80));
        bm.register(6, addr(3), vec![], vec![11], 0).unwrap();
        let infos = bm.worker_infos();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].address.as_ref().unwrap().rpc_port, 3);
    }
}
