//! The worker's block cache on local storage.
//!
//! Each tier is one directory (`<dirs.path>/alluxioworker/`) holding committed
//! blocks as files named by their decimal block id; blocks being written live
//! under `<dir>/.tmp/` and are renamed into place on commit, so a crash never
//! leaves a half-written block under a block name. One mutex guards the index
//! (per-tier LRU order, space accounting, pins and the added/removed deltas
//! reported to the master); block bytes are read and written outside it.
//!
//! Space is accounted, not measured: a tier's committed bytes plus the bytes
//! reserved by writers and UFS fetches never exceed its quota. Making room
//! evicts the least recently used blocks that nobody is reading.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use alluxio_common::FsError;
use lru::LruCache;
use tracing::{info, warn};

use crate::settings::TierSettings;
use scan::{clean_temp_dir, load_tier};

/// Name of the staging directory inside a tier directory.
const TEMP_DIR: &str = ".tmp";
/// Name of the directory, inside a tier directory, of the markers of blocks
/// that are the only copy of their data (`BlockStore::is_only_copy`).
const ONLY_COPY_DIR: &str = ".only-copy";

/// Why a block-store operation failed; turned into an [`FsError`] at the RPC edge.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The local file system refused an operation.
    #[error("{context}: {source}")]
    Io {
        /// What the store was doing, with the path.
        context: String,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
    /// Even after evicting every unpinned block the tier cannot hold the request.
    #[error(
        "tier {tier} cannot make room for {requested} more bytes: capacity {capacity}, \
         committed {committed}, reserved by writers {reserved}, evictable {evictable} \
         (the rest is pinned by reads, or the only copy of files that are not in the UFS)"
    )]
    NoSpace {
        /// Alias of the tier, e.g. `MEM`.
        tier: String,
        /// Bytes asked for.
        requested: u64,
        /// Quota of the tier.
        capacity: u64,
        /// Bytes held by committed blocks.
        committed: u64,
        /// Bytes reserved by writers and fetches in progress.
        reserved: u64,
        /// Bytes of committed blocks that could have been evicted.
        evictable: u64,
    },
}

impl From<StoreError> for FsError {
    fn from(err: StoreError) -> FsError {
        match err {
            StoreError::NoSpace { .. } => FsError::NoSpace(err.to_string()),
            StoreError::Io { .. } => FsError::Internal(format!("worker storage: {err}")),
        }
    }
}

/// The only-copy markers of tier `dir` whose block it holds; stale markers
/// (a crash between marker and block) are removed.
fn load_only_copy_markers(dir: &TierDir, state: &TierState) -> Result<Vec<u64>, StoreError> {
    let markers = dir.dir.join(ONLY_COPY_DIR);
    fs::create_dir_all(&markers).map_err(io_err(format!("creating {}", markers.display())))?;
    let mut out = Vec::new();
    let entries =
        fs::read_dir(&markers).map_err(io_err(format!("listing {}", markers.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_err(format!("listing {}", markers.display())))?;
        // Only a canonical name is a marker: "052" would never be removed
        // with block 52 (markers are found by `only_copy_marker`).
        match entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok().filter(|id| id.to_string() == n))
        {
            Some(id) if state.lru.contains(&id) => out.push(id),
            _ => remove_file_if_exists(&entry.path())
                .map_err(io_err(format!("removing {}", entry.path().display())))?,
        }
    }
    Ok(out)
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

/// Capacity and use of one tier, as reported to the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierUsageReport {
    /// Tier alias (`MEM`, `SSD`, `HDD`).
    pub alias: String,
    /// Quota in bytes.
    pub capacity: u64,
    /// Committed plus reserved bytes.
    pub used: u64,
}

/// Blocks added and removed since the deltas were last taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockDeltas {
    /// Blocks committed (or loaded) since the last report.
    pub added: BTreeSet<u64>,
    /// Blocks removed or evicted since the last report.
    pub removed: BTreeSet<u64>,
}

impl BlockDeltas {
    /// Records that `block_id` is now held; cancels an earlier removal.
    pub fn add(&mut self, block_id: u64) {
        self.removed.remove(&block_id);
        self.added.insert(block_id);
    }

    /// Records that `block_id` is gone; cancels an earlier addition.
    pub fn remove(&mut self, block_id: u64) {
        self.added.remove(&block_id);
        self.removed.insert(block_id);
    }

    /// Applies `later` on top of these deltas.
    pub fn merge(&mut self, later: BlockDeltas) {
        for id in later.removed {
            self.remove(id);
        }
        for id in later.added {
            self.add(id);
        }
    }

    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// The fixed part of a tier: where its files live and how much it may hold.
#[derive(Debug)]
struct TierDir {
    alias: String,
    dir: PathBuf,
    tmp: PathBuf,
    capacity: u64,
}

impl TierDir {
    fn block_path(&self, block_id: u64) -> PathBuf {
        self.dir.join(block_id.to_string())
    }

    fn only_copy_marker(&self, block_id: u64) -> PathBuf {
        self.dir.join(ONLY_COPY_DIR).join(block_id.to_string())
    }
}

/// The changing part of a tier, guarded by the store mutex.
struct TierState {
    /// Committed blocks and their lengths, most recently used first.
    lru: LruCache<u64, u64>,
    committed: u64,
    reserved: u64,
}

struct State {
    tiers: Vec<TierState>,
    /// Number of open readers per block; pinned blocks are never evicted.
    pins: HashMap<u64, u32>,
    /// Blocks that are the only copy of their data (a MUST_CACHE file's):
    /// never evicted, only removed when the master frees them.
    only_copy: std::collections::HashSet<u64>,
    deltas: BlockDeltas,
}

impl State {
    fn find(&self, block_id: u64) -> Option<usize> {
        self.tiers.iter().position(|t| t.lru.contains(&block_id))
    }
}

struct Inner {
    /// The worker's identity (`identity.rs`).
    identity: u64,
    tiers: Vec<TierDir>,
    state: Mutex<State>,
    next_temp: AtomicU64,
}

/// Thread-safe handle on the block store; clones share the same store.
#[derive(Clone)]
pub struct BlockStore {
    inner: Arc<Inner>,
}

impl BlockStore {
    /// Opens the tiers, dropping stale temporary files and loading the blocks
    /// already on disk (they count as added for the first report).
    pub fn open(settings: &[TierSettings]) -> Result<BlockStore, StoreError> {
        let mut tiers = Vec::with_capacity(settings.len());
        let mut states = Vec::with_capacity(settings.len());
        let mut seen = HashMap::new();
        let mut only_copy = std::collections::HashSet::new();
        for (level, tier) in settings.iter().enumerate() {
            let dir = tier.block_dir();
            let tmp = dir.join(TEMP_DIR);
            fs::create_dir_all(&dir)
                .map_err(io_err(format!("creating tier directory {}", dir.display())))?;
            clean_temp_dir(&tmp)?;
            let dir = TierDir {
                alias: tier.alias.clone(),
                dir,
                tmp,
                capacity: tier.quota,
            };
            let state = load_tier(&dir, level, &mut seen)?;
            only_copy.extend(load_only_copy_markers(&dir, &state)?);
            tiers.push(dir);
            states.push(state);
        }
        let identity = match tiers.first() {
            Some(top) => identity::load_or_create(&top.dir)?,
            None => {
                return Err(StoreError::Io {
                    context: "opening the block store".into(),
                    source: io::Error::new(io::ErrorKind::InvalidInput, "no tier is configured"),
                })
            }
        };
        let state = State {
            tiers: states,
            pins: HashMap::new(),
            only_copy,
            deltas: BlockDeltas::default(),
        };
        Ok(BlockStore {
            inner: Arc::new(Inner {
                identity,
                tiers,
                state: Mutex::new(state),
                next_temp: AtomicU64::new(0),
            }),
        })
    }

    /// This worker's identity, kept in the top tier (`identity.rs`).
    pub fn identity(&self) -> u64 {
        self.inner.identity
    }

    /// Alias of the tier new blocks go to.
    pub fn top_tier_alias(&self) -> &str {
        self.inner.tiers.first().map_or("", |t| t.alias.as_str())
    }

    /// Whether the block is cached (without touching its LRU position).
    pub fn contains(&self, block_id: u64) -> bool {
        self.inner.lock().find(block_id).is_some()
    }

    /// Length and tier alias of a cached block.
    pub fn block_info(&self, block_id: u64) -> Option<(u64, String)> {
        let state = self.inner.lock();
        let tier = state.find(block_id)?;
        let length = *state.tiers[tier].lru.peek(&block_id)?;
        Some((length, self.inner.tiers[tier].alias.clone()))
    }

    /// Opens a cached block for reading: marks it most recently used and pins
    /// it until the returned handle is dropped. `None` if it is not cached.
    pub fn open_block(&self, block_id: u64) -> Result<Option<OpenBlock>, StoreError> {
        let mut state = self.inner.lock();
        let Some(tier) = state.find(block_id) else {
            return Ok(None);
        };
        let length = state.tiers[tier].lru.get(&block_id).copied().unwrap_or(0);
        // Opening under the lock keeps a concurrent commit or eviction from
        // swapping the file between the lookup and the open.
        let path = self.inner.tiers[tier].block_path(block_id);
        let file = fs::File::open(&path).map_err(io_err(format!("opening {}", path.display())))?;
        *state.pins.entry(block_id).or_insert(0) += 1;
        Ok(Some(OpenBlock {
            file,
            length,
            tier_alias: self.inner.tiers[tier].alias.clone(),
            _pin: PinGuard {
                inner: self.inner.clone(),
                block_id,
            },
        }))
    }

    /// Where a cached block's file is, for a reader on this machine that
    /// opens it itself (short-circuit), with its length; marks the block
    /// most recently used. The reader's open descriptor keeps the bytes
    /// readable even if the block is evicted afterwards, and block ids are
    /// never reused for other bytes.
    pub fn local_block(&self, block_id: u64) -> Option<(PathBuf, u64)> {
        let mut state = self.inner.lock();
        let tier = state.find(block_id)?;
        let length = state.tiers[tier].lru.get(&block_id).copied().unwrap_or(0);
        Some((self.inner.tiers[tier].block_path(block_id), length))
    }

    /// Starts a new version of `block_id` in the top tier, reserving
    /// `reserve` bytes up front (evicting if needed). The block becomes
    /// visible only when [`TempBlock::commit`] succeeds.
    pub fn create_temp(
        &self,
        block_id: u64,
        reserve: u64,
    ) -> Result<(TempBlock, fs::File), StoreError> {
        let tier = 0;
        let dir = self.inner.tiers.get(tier).ok_or_else(|| StoreError::Io {
            context: "creating a block".into(),
            source: io::Error::other("the worker has no storage tier"),
        })?;
        {
            let mut state = self.inner.lock();
            self.inner.reserve(&mut state, tier, reserve)?;
        }
        let seq = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
        let path = dir.tmp.join(format!("{block_id}-{seq}"));
        let temp = TempBlock {
            inner: self.inner.clone(),
            block_id,
            tier,
            path,
            reserved: reserve,
            committed: false,
            only_copy: false,
        };
        // From here on, dropping `temp` releases the reservation.
        let file = fs::File::create(&temp.path)
            .map_err(io_err(format!("creating {}", temp.path.display())))?;
        Ok((temp, file))
    }

    /// Removes a cached block; returns whether it was there. Readers that
    /// already opened it keep reading the unlinked file.
    pub fn remove_block(&self, block_id: u64) -> Result<bool, StoreError> {
        let mut state = self.inner.lock();
        let Some(tier) = state.find(block_id) else {
            return Ok(false);
        };
        let length = state.tiers[tier].lru.pop(&block_id).unwrap_or(0);
        state.tiers[tier].committed -= length;
        state.deltas.remove(block_id);
        let path = self.inner.tiers[tier].block_path(block_id);
        remove_file_if_exists(&path).map_err(io_err(format!("removing {}", path.display())))?;
        if state.only_copy.remove(&block_id) {
            let marker = self.inner.tiers[tier].only_copy_marker(block_id);
            remove_file_if_exists(&marker)
                .map_err(io_err(format!("removing {}", marker.display())))?;
        }
        Ok(true)
    }

    /// Takes the blocks added and removed since the last call (or full report).
    pub fn take_deltas(&self) -> BlockDeltas {
        std::mem::take(&mut self.inner.lock().deltas)
    }

    /// Lists every cached block and clears the deltas, which the list supersedes.
    pub fn full_report(&self) -> Vec<u64> {
        let mut state = self.inner.lock();
        state.deltas = BlockDeltas::default();
        let mut ids: Vec<u64> = state
            .tiers
            .iter()
            .flat_map(|t| t.lru.iter().map(|(id, _)| *id))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Capacity and use of every tier, top tier first.
    pub fn tier_usage(&self) -> Vec<TierUsageReport> {
        let state = self.inner.lock();
        self.inner
            .tiers
            .iter()
            .zip(&state.tiers)
            .map(|(dir, st)| TierUsageReport {
                alias: dir.alias.clone(),
                capacity: dir.capacity,
                used: st.committed + st.reserved,
            })
            .collect()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `bytes` in `tier`, evicting unpinned blocks in LRU order if
    /// the free space does not suffice. Evicted files are unlinked under the
    /// lock so that a concurrent commit of the same id cannot be deleted.
    fn reserve(&self, state: &mut State, tier: usize, bytes: u64) -> Result<(), StoreError> {
        let dir = &self.tiers[tier];
        let free = {
            let st = &state.tiers[tier];
            dir.capacity.saturating_sub(st.committed + st.reserved)
        };
        if bytes > free {
            let need = bytes - free;
            let mut victims = Vec::new();
            let mut freed = 0;
            for (id, len) in state.tiers[tier].lru.iter().rev() {
                if state.pins.contains_key(id) || state.only_copy.contains(id) {
                    continue;
                }
                victims.push(*id);
                freed += *len;
                if freed >= need {
                    break;
                }
            }
            if freed < need {
                let st = &state.tiers[tier];
                return Err(StoreError::NoSpace {
                    tier: dir.alias.clone(),
                    requested: bytes,
                    capacity: dir.capacity,
                    committed: st.committed,
                    reserved: st.reserved,
                    evictable: freed,
                });
            }
            for id in victims {
                let len = state.tiers[tier].lru.pop(&id).unwrap_or(0);
                state.tiers[tier].committed -= len;
                state.deltas.remove(id);
                let path = dir.block_path(id);
                if let Err(e) = remove_file_if_exists(&path) {
                    warn!("evicting block {id}: cannot remove {}: {e}", path.display());
                }
                info!("evicted block {id} ({len} bytes) from tier {}", dir.alias);
            }
        }
        state.tiers[tier].reserved += bytes;
        Ok(())
    }
}

/// A cached block opened for reading; the block stays pinned while it lives.
pub struct OpenBlock {
    /// The block file, positioned at its start.
    pub file: fs::File,
    /// Length of the block in bytes.
    pub length: u64,
    /// Tier holding the block.
    pub tier_alias: String,
    _pin: PinGuard,
}

struct PinGuard {
    inner: Arc<Inner>,
    block_id: u64,
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if let Some(count) = state.pins.get_mut(&self.block_id) {
            *count -= 1;
            if *count == 0 {
                state.pins.remove(&self.block_id);
            }
        }
    }
}

/// A block being written: a staging file plus a space reservation that grows
/// with it. Dropping it without committing deletes the file and releases the
/// reservation.
pub struct TempBlock {
    inner: Arc<Inner>,
    block_id: u64,
    tier: usize,
    path: PathBuf,
    reserved: u64,
    committed: bool,
    /// Commit the block as the only copy of its data (never evicted).
    only_copy: bool,
}

impl TempBlock {
    /// Makes the block, once committed, the only copy of its data: it is
    /// never evicted (a write that needs its space fails with NoSpace) and
    /// goes only when the master frees it. Kept across restarts by a marker
    /// file written before the block is published.
    pub fn mark_only_copy(&mut self) {
        self.only_copy = true;
    }

    /// Id of the block being written.
    pub fn block_id(&self) -> u64 {
        self.block_id
    }

    /// The staging file (for a short-circuit writer on this machine).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes sure the reservation covers `total` bytes, evicting if needed.
    pub fn reserve_to(&mut self, total: u64) -> Result<(), StoreError> {
        if total <= self.reserved {
            return Ok(());
        }
        let more = total - self.reserved;
        let mut state = self.inner.lock();
        self.inner.reserve(&mut state, self.tier, more)?;
        self.reserved = total;
        Ok(())
    }

    /// Publishes the staged file as the block, replacing any earlier version,
    /// and returns its length.
    pub fn commit(mut self) -> Result<u64, StoreError> {
        let length = fs::metadata(&self.path)
            .map_err(io_err(format!(
                "reading the length of {}",
                self.path.display()
            )))?
            .len();
        self.reserve_to(length)?;
        let dir = &self.inner.tiers[self.tier];
        let target = dir.block_path(self.block_id);
        if self.only_copy {
            // The marker first: a crash may leave a marker without its
            // block (dropped at the next start), never the reverse.
            let marker = dir.only_copy_marker(self.block_id);
            fs::File::create(&marker)
                .and_then(|_| fs::File::open(dir.dir.join(ONLY_COPY_DIR))?.sync_all())
                .map_err(io_err(format!("writing {}", marker.display())))?;
        }
        let mut state = self.inner.lock();
        // Renaming under the lock keeps the file and the index in step.
        fs::rename(&self.path, &target).map_err(io_err(format!(
            "renaming {} to {}",
            self.path.display(),
            target.display()
        )))?;
        state.tiers[self.tier].reserved -= self.reserved;
        self.reserved = 0;
        self.committed = true;
        if let Some(old_tier) = state.find(self.block_id) {
            let old = state.tiers[old_tier].lru.pop(&self.block_id).unwrap_or(0);
            state.tiers[old_tier].committed -= old;
            if old_tier != self.tier {
                let old_path = self.inner.tiers[old_tier].block_path(self.block_id);
                if let Err(e) = remove_file_if_exists(&old_path) {
                    warn!(
                        "replacing block {}: cannot remove {}: {e}",
                        self.block_id,
                        old_path.display()
                    );
                }
            }
        }
        if self.only_copy {
            state.only_copy.insert(self.block_id);
        } else if state.only_copy.remove(&self.block_id) {
            let _ = remove_file_if_exists(&dir.only_copy_marker(self.block_id));
        }
        let tier = &mut state.tiers[self.tier];
        tier.lru.put(self.block_id, length);
        tier.committed += length;
        state.deltas.add(self.block_id);
        Ok(length)
    }
}

impl Drop for TempBlock {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Err(e) = remove_file_if_exists(&self.path) {
            warn!(
                "cannot remove abandoned temporary block {}: {e}",
                self.path.display()
            );
        }
        let mut state = self.inner.lock();
        state.tiers[self.tier].reserved -= self.reserved;
    }
}

fn remove_file_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

mod identity;
mod scan;
#[cfg(test)]
mod tests;
