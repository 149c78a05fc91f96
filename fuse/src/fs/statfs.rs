//! statfs: the cluster's capacity as the size of the file system.
//!
//! Blocks are the live workers' tier capacity and use (what `df` shows for
//! the cache). Inode counts are not limited by the master, so the free count
//! is reported as large.

use fuser::ReplyStatfs;

use super::Inner;
use crate::errno::errno;

const BSIZE: u64 = 4096;

impl Inner {
    pub(super) async fn statfs(&self, reply: ReplyStatfs) {
        match self.fs.cluster_info().await {
            Ok(info) => {
                let (mut cap, mut used) = (0u64, 0u64);
                for w in info.workers.iter().filter(|w| w.live) {
                    for t in &w.tiers {
                        cap += t.capacity_bytes;
                        used += t.used_bytes.min(t.capacity_bytes);
                    }
                }
                let blocks = cap / BSIZE;
                let free = (cap - used) / BSIZE;
                let files = info.inode_count;
                reply.statfs(
                    blocks,
                    free,
                    free,
                    files + (1 << 32),
                    1 << 32,
                    BSIZE as u32,
                    255,
                    BSIZE as u32,
                );
            }
            Err(e) => reply.error(errno(&e)),
        }
    }
}
