//! Start-up of a tier: dropping the staging files of an earlier run and
//! loading the committed blocks it left, so a restarted worker reports and
//! serves what it still holds.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use lru::LruCache;
use tracing::{info, warn};

use super::{io_err, remove_file_if_exists, StoreError, TierDir, TierState, TEMP_DIR};

/// Empties (or creates) the staging directory: temporary blocks of an earlier
/// run were never committed and nobody will finish them.
pub(super) fn clean_temp_dir(tmp: &Path) -> Result<(), StoreError> {
    match fs::read_dir(tmp) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(io_err(format!("listing {}", tmp.display())))?;
                let path = entry.path();
                let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                removed.map_err(io_err(format!("removing stale {}", path.display())))?;
                info!("removed stale temporary block {}", path.display());
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(tmp).map_err(io_err(format!("creating {}", tmp.display())))
        }
        Err(e) => Err(io_err(format!("listing {}", tmp.display()))(e)),
    }
}

/// Loads the committed blocks of one tier, least recently modified first so
/// that the LRU order survives a restart approximately. `seen` maps block ids
/// already found in upper tiers; a duplicate in a lower tier is deleted. If
/// the quota shrank since the last run, the oldest blocks are evicted.
pub(super) fn load_tier(
    dir: &TierDir,
    level: usize,
    seen: &mut HashMap<u64, usize>,
) -> Result<TierState, StoreError> {
    let mut found = Vec::new();
    let entries =
        fs::read_dir(&dir.dir).map_err(io_err(format!("listing {}", dir.dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io_err(format!("listing {}", dir.dir.display())))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == TEMP_DIR
            || name == super::ONLY_COPY_DIR
            || name == super::identity::IDENTITY_FILE
        {
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(io_err(format!("stat {}", entry.path().display())))?;
        match name.parse::<u64>() {
            Ok(id) if meta.is_file() && id.to_string() == name => {
                if let Some(upper) = seen.get(&id) {
                    warn!("block {id} is in tiers {upper} and {level}; dropping the copy in tier {level}");
                    remove_file_if_exists(&entry.path())
                        .map_err(io_err(format!("removing {}", entry.path().display())))?;
                    continue;
                }
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((mtime, id, meta.len()));
            }
            _ => warn!(
                "ignoring unexpected file {} in the block store",
                entry.path().display()
            ),
        }
    }
    found.sort();
    let mut state = TierState {
        lru: LruCache::unbounded(),
        committed: 0,
        reserved: 0,
    };
    for (_, id, len) in found {
        seen.insert(id, level);
        state.lru.put(id, len);
        state.committed += len;
    }
    while state.committed > dir.capacity {
        let Some((id, len)) = state.lru.pop_lru() else {
            break;
        };
        state.committed -= len;
        seen.remove(&id);
        remove_file_if_exists(&dir.block_path(id))
            .map_err(io_err(format!("removing {}", dir.block_path(id).display())))?;
        warn!(
            "evicted block {id} at start: tier {} holds more than its quota",
            dir.alias
        );
    }
    info!(
        "tier {} ({}): {} blocks, {} of {} bytes used",
        dir.alias,
        dir.dir.display(),
        state.lru.len(),
        state.committed,
        dir.capacity
    );
    Ok(state)
}
