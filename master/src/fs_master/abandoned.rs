//! Versions a crashed writer left incomplete.
//!
//! A file version is incomplete from its create (or `NewVersion`) until the
//! writer's `completeFile`. A writer that dies in between — a FUSE daemon
//! killed mid-write, a client host lost — never completes it: the file
//! stayed incomplete forever, its staged UFS object and cached blocks with
//! it. The leader now ends such a version once no sign of its writer has
//! been seen for `alluxio.master.incomplete.file.timeout` (default 1h):
//! no block of its container committed, no byte added to its staged UFS
//! object, and this leader has known it that long. The file then becomes
//! what the UFS holds at its path — the previous version's object, which a
//! new version replaces only at completion, or nothing (an empty file) —
//! and its staged object and cached blocks are dropped. A writer that was
//! only paused that long gets an error at close; raise the timeout where
//! writers pause for longer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alluxio_common::{time, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{self as j, JournalEntry};

use super::FsMaster;
use crate::namespace::inode::InodeExt;

/// When this leader first saw each incomplete version, by container.
#[derive(Default)]
pub(super) struct FirstSeen(Mutex<HashMap<u64, Instant>>);

impl FsMaster {
    /// Runs on the leader until aborted, ending abandoned versions every
    /// half timeout (at most every minute, at least every second).
    pub async fn end_abandoned_versions(self: Arc<Self>, timeout: Duration) {
        let period = (timeout / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.end_abandoned(timeout).await {
                tracing::warn!("ending abandoned file versions: {e}");
            }
        }
    }

    /// One pass: ends every incomplete version with no sign of its writer
    /// for `timeout`.
    async fn end_abandoned(&self, timeout: Duration) -> FsResult<()> {
        let incomplete = self.read().incomplete_files();
        let stale: Vec<(u64, u64)> = {
            let mut seen = self.first_seen.0.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            seen.retain(|c, _| incomplete.iter().any(|(_, ic)| ic == c));
            incomplete
                .into_iter()
                .filter(|(_, c)| now.duration_since(*seen.entry(*c).or_insert(now)) > timeout)
                .collect()
        };
        for (id, container) in stale {
            if let Some(t) = self.blocks.last_commit(container, timeout) {
                if t.elapsed() <= timeout {
                    continue;
                }
            }
            self.end_version(id, container, timeout).await?;
        }
        Ok(())
    }

    /// Ends version `container` of file `id` unless its staged UFS object
    /// changed within `timeout` or the file moved on meanwhile.
    async fn end_version(&self, id: u64, container: u64, timeout: Duration) -> FsResult<()> {
        let path = match self.read().path_of(id) {
            Ok(p) => p,
            Err(FsError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let _paths = self.paths.lock(vec![path.clone()]).await;
        let (loc, staging) = {
            let ns = self.read();
            match ns.inode(id) {
                Some(i) if i.is_file() && !i.completed && i.container_id == container => {}
                _ => return Ok(()),
            }
            let loc = ns.mounts().ufs_location(&path)?;
            let staging = self.staging_path(&ns, &path, container)?;
            (loc, staging)
        };
        let ufs = self.ufs_to_change(&loc).await?;
        if staging != loc.path {
            if let Some(st) = ufs.stat(&staging).await? {
                let age = time::now_ns().saturating_sub(st.mtime_ns).max(0) as u64;
                if Duration::from_nanos(age) <= timeout {
                    return Ok(()); // its writer is still staging bytes
                }
                ufs.delete_file(&staging).await?;
            }
        }
        let (length, persisted) = match ufs.stat(&loc.path).await? {
            Some(st) if !st.is_dir => (st.length, true),
            _ => (0, false),
        };
        let done = {
            let mut ns = self.write();
            let block_size = match ns.inode(id) {
                Some(i) if i.is_file() && !i.completed && i.container_id == container => {
                    i.block_size
                }
                _ => return Ok(()),
            };
            // In a fresh container: workers may still cache blocks of the
            // abandoned one under the same ids (their free commands are on
            // the way), and must not serve them as the UFS bytes.
            let now = time::now_ns();
            let entry = |e| JournalEntry {
                op_id: None,
                op_result: 0,
                entry: Some(e),
            };
            let entries = vec![
                entry(Entry::NewVersion(j::NewVersion {
                    id,
                    container_id: ns.next_container_id,
                    block_size,
                    mtime_ns: now,
                })),
                entry(Entry::CompleteFile(j::CompleteFile {
                    id,
                    length,
                    mtime_ns: now,
                    persisted,
                })),
            ];
            self.commit(&mut ns, entries, None, 0)
        };
        done.await?;
        let freed = self.blocks.free_container(container);
        tracing::info!(
            "{path}: its writer left version {container} incomplete for over {timeout:?}; \
             the file is now the {length} bytes the UFS holds ({freed} cached blocks dropped)"
        );
        Ok(())
    }
}
