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

/// How long a temporary block may wait for its writer's commit.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// Temporary blocks being written by local clients, by block id.
#[derive(Default)]
pub struct LocalWrites {
    open: Mutex<HashMap<u64, (TempBlock, Instant)>>,
}

impl LocalWrites {
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
    ) -> FsResult<CreateLocalBlockResponse> {
        let (temp, file) = match store.create_temp(block_id, hint) {
            Err(StoreError::NoSpace { .. }) if hint > 0 => store.create_temp(block_id, 0)?,
            created => created?,
        };
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
        open.retain(|_, (_, since)| now.duration_since(*since) < ABANDONED_AFTER);
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
