//! Short-circuit writes: a client on this machine asks for a temporary
//! block file (space reserved as for a streamed write), writes it itself,
//! and asks for the commit. The temporary blocks wait here between the two
//! calls; one whose writer never comes back is dropped (file deleted, space
//! released) after [`ABANDONED_AFTER`].

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alluxio_common::{FsError, FsResult};
use alluxio_proto::CreateLocalBlockResponse;

use crate::block_store::{BlockStore, StoreError, TempBlock};

/// How long a temporary block may wait for its writer's commit (checked
/// whenever another short-circuit write starts).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// Temporary blocks being written by local clients, by block id.
pub struct LocalWrites {
    open: Mutex<HashMap<u64, (TempBlock, Instant)>>,
    /// How long a temporary block may wait for its commit.
    abandoned_after: Duration,
}

impl Default for LocalWrites {
    fn default() -> Self {
        LocalWrites::new(ABANDONED_AFTER)
    }
}

impl LocalWrites {
    /// Temporary blocks dropped when their writer has not come back within
    /// `abandoned_after`.
    pub fn new(abandoned_after: Duration) -> Self {
        LocalWrites {
            open: Mutex::new(HashMap::new()),
            abandoned_after,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (TempBlock, Instant)>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates the temporary file of `block_id`, reserving `hint` bytes
    /// (or nothing, if that much does not fit: the commit checks again).
    pub fn create(
        &self,
        store: &BlockStore,
        block_id: u64,
        hint: u64,
        only_copy: bool,
    ) -> FsResult<CreateLocalBlockResponse> {
        let (mut temp, file) = match store.create_temp(block_id, hint) {
            Err(StoreError::NoSpace { .. }) if hint > 0 => store.create_temp(block_id, 0)?,
            created => created?,
        };
        if only_copy {
            temp.mark_only_copy();
        }
        let meta = file
            .metadata()
            .map_err(|e| FsError::Internal(format!("stat {}: {e}", temp.path().display())))?;
        let resp = CreateLocalBlockResponse {
            path: temp.path().to_string_lossy().into_owned(),
            device: meta.dev(),
            inode: meta.ino(),
        };
        let now = Instant::now();
        let mut open = self.lock();
        // Writers that vanished: dropping their blocks deletes the files.
        let limit = self.abandoned_after;
        open.retain(|_, (_, since)| now.duration_since(*since) < limit);
        // A second writer of the same block replaces the first one.
        open.insert(block_id, (temp, now));
        Ok(resp)
    }

    /// Takes `block_id`'s temporary block for its commit or cancellation.
    pub fn take(&self, block_id: u64) -> FsResult<TempBlock> {
        self.lock()
            .remove(&block_id)
            .map(|(temp, _)| temp)
            .ok_or_else(|| {
                FsError::NotFound(format!(
                    "no short-circuit write of block {block_id} is open on this worker"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::block_store::BlockStore;
    use crate::settings::TierSettings;

    fn store(dir: &std::path::Path) -> BlockStore {
        BlockStore::open(&[TierSettings {
            level: 0,
            alias: "MEM".into(),
            path: dir.to_path_buf(),
            quota: 1 << 20,
        }])
        .unwrap()
    }

    fn used(store: &BlockStore) -> u64 {
        store.tier_usage()[0].used
    }

    #[test]
    fn an_abandoned_write_is_dropped_when_the_next_one_starts() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let writes = LocalWrites::new(Duration::from_millis(50));
        let first = writes.create(&store, 1, 4096, false).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&first.path)
            .unwrap()
            .write_all(b"never committed")
            .unwrap();
        assert_eq!(used(&store), 4096, "the hint is reserved");

        // Within the limit a second writer leaves the first one alone.
        writes.create(&store, 2, 0, false).unwrap();
        assert!(std::path::Path::new(&first.path).exists());

        std::thread::sleep(Duration::from_millis(80));
        let third = writes.create(&store, 3, 0, false).unwrap();
        assert!(
            !std::path::Path::new(&first.path).exists(),
            "the abandoned temporary file is deleted"
        );
        assert_eq!(used(&store), 0, "its reservation is released");
        let err = writes.take(1).err().expect("block 1 is gone");
        assert!(
            err.to_string()
                .contains("no short-circuit write of block 1"),
            "{err}"
        );
        assert!(!store.contains(1), "nothing was committed");
        // Block 2 expired too (it is as old); block 3 is still open.
        assert!(writes.take(2).is_err());
        assert!(std::path::Path::new(&third.path).exists());
        writes.take(3).unwrap();
    }
}
