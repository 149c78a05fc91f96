//! Unit tests of the block store: quota, LRU eviction, pins, restart scan.

use std::io::{Read, Write};

use super::*;

fn tier(dir: &Path, quota: u64) -> Vec<TierSettings> {
    vec![TierSettings {
        level: 0,
        alias: "MEM".into(),
        path: dir.to_path_buf(),
        quota,
    }]
}

fn open(dir: &Path, quota: u64) -> BlockStore {
    BlockStore::open(&tier(dir, quota)).unwrap()
}

/// Writes a block the way the RPC service does: reserve as it grows, then commit.
fn put(store: &BlockStore, id: u64, len: usize) -> Result<u64, StoreError> {
    let (mut temp, mut file) = store.create_temp(id, 0)?;
    let data = vec![id as u8; len];
    for chunk in data.chunks(7) {
        let total = file.metadata().unwrap().len() + chunk.len() as u64;
        temp.reserve_to(total)?;
        file.write_all(chunk).unwrap();
    }
    temp.commit()
}

fn used(store: &BlockStore) -> u64 {
    store.tier_usage()[0].used
}

#[test]
fn quota_is_respected_and_lru_block_evicted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 100);
    put(&store, 1, 40).unwrap();
    put(&store, 2, 40).unwrap();
    assert_eq!(used(&store), 80);
    put(&store, 3, 40).unwrap();
    assert!(used(&store) <= 100);
    assert!(!store.contains(1));
    assert!(store.contains(2) && store.contains(3));
    assert!(!dir.path().join("alluxioworker/1").exists());
}

#[test]
fn reads_refresh_lru_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 90);
    for id in 1..=3 {
        put(&store, id, 30).unwrap();
    }
    drop(store.open_block(1).unwrap().unwrap());
    put(&store, 4, 30).unwrap();
    assert!(store.contains(1));
    assert!(!store.contains(2));
    assert!(store.contains(3) && store.contains(4));
}

#[test]
fn pinned_blocks_are_never_evicted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 90);
    for id in 1..=3 {
        put(&store, id, 30).unwrap();
    }
    let reader = store.open_block(1).unwrap().unwrap();
    // Reading made block 1 the most recent; make it the least recent again.
    drop(store.open_block(2).unwrap().unwrap());
    drop(store.open_block(3).unwrap().unwrap());
    put(&store, 4, 30).unwrap();
    assert!(store.contains(1), "pinned block was evicted");
    assert!(!store.contains(2));
    let mut buf = Vec::new();
    let mut file = &reader.file;
    file.read_to_end(&mut buf).unwrap();
    assert_eq!(buf, vec![1u8; 30]);
    assert_eq!(reader.length, 30);
}

#[test]
fn no_space_names_the_tier_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 100);
    put(&store, 1, 60).unwrap();
    let _pin = store.open_block(1).unwrap().unwrap();
    let err = match store.create_temp(2, 50) {
        Err(e) => e,
        Ok(_) => panic!("reservation beyond the quota succeeded"),
    };
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            StoreError::NoSpace {
                requested: 50,
                capacity: 100,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("MEM") && msg.contains("100") && msg.contains("50"),
        "{msg}"
    );
    assert!(matches!(FsError::from(err), FsError::NoSpace(_)));
    // A writer that grows past the quota fails the same way and frees its space.
    assert!(matches!(
        put(&store, 3, 41),
        Err(StoreError::NoSpace { .. })
    ));
    assert_eq!(used(&store), 60);
    assert!(store.contains(1));
}

#[test]
fn request_larger_than_the_tier_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 100);
    put(&store, 1, 10).unwrap();
    assert!(matches!(
        store.create_temp(2, 101),
        Err(StoreError::NoSpace { .. })
    ));
    assert!(
        store.contains(1),
        "a hopeless request must not evict anything"
    );
}

#[test]
fn abandoned_writes_release_space_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 100);
    let (temp, mut file) = store.create_temp(7, 80).unwrap();
    file.write_all(b"partial").unwrap();
    assert_eq!(used(&store), 80);
    drop(temp);
    assert_eq!(used(&store), 0);
    assert!(!store.contains(7));
    let tmp = dir.path().join("alluxioworker/.tmp");
    assert_eq!(fs::read_dir(tmp).unwrap().count(), 0);
}

#[test]
fn rewriting_a_block_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 100);
    put(&store, 5, 30).unwrap();
    put(&store, 5, 50).unwrap();
    assert_eq!(used(&store), 50);
    assert_eq!(store.block_info(5), Some((50, "MEM".to_string())));
    // Replacing a block whose old version fills the tier evicts the old version.
    let store2_dir = tempfile::tempdir().unwrap();
    let store2 = open(store2_dir.path(), 60);
    put(&store2, 9, 60).unwrap();
    put(&store2, 9, 60).unwrap();
    assert_eq!(used(&store2), 60);
    assert!(store2.contains(9));
}

#[test]
fn deltas_track_commits_removals_and_evictions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 100);
    put(&store, 1, 50).unwrap();
    put(&store, 2, 50).unwrap();
    let d = store.take_deltas();
    assert_eq!(d.added.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    assert!(d.removed.is_empty());
    put(&store, 3, 50).unwrap(); // evicts 1
    assert!(store.remove_block(2).unwrap());
    assert!(!store.remove_block(2).unwrap());
    let d = store.take_deltas();
    assert_eq!(d.added.into_iter().collect::<Vec<_>>(), vec![3]);
    assert_eq!(d.removed.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    assert!(store.take_deltas().is_empty());
    put(&store, 4, 10).unwrap();
    assert_eq!(store.full_report(), vec![3, 4]);
    assert!(
        store.take_deltas().is_empty(),
        "a full report supersedes the deltas"
    );
}

#[test]
fn merged_deltas_keep_the_last_word() {
    let mut pending = BlockDeltas::default();
    pending.add(1);
    pending.remove(2);
    let mut later = BlockDeltas::default();
    later.remove(1);
    later.add(2);
    later.add(3);
    pending.merge(later);
    assert_eq!(pending.added.into_iter().collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(pending.removed.into_iter().collect::<Vec<_>>(), vec![1]);
}

#[test]
fn restart_finds_committed_blocks_and_drops_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), 100);
        put(&store, 11, 20).unwrap();
        put(&store, 12, 30).unwrap();
        // A write in progress when the process dies.
        let (temp, mut file) = store.create_temp(13, 10).unwrap();
        file.write_all(b"half").unwrap();
        std::mem::forget(temp);
    }
    let blocks = dir.path().join("alluxioworker");
    fs::write(blocks.join("not-a-block"), b"x").unwrap();
    assert_eq!(fs::read_dir(blocks.join(".tmp")).unwrap().count(), 1);

    let store = open(dir.path(), 100);
    assert_eq!(fs::read_dir(blocks.join(".tmp")).unwrap().count(), 0);
    assert_eq!(store.full_report(), vec![11, 12]);
    assert_eq!(used(&store), 50);
    assert_eq!(store.block_info(12), Some((30, "MEM".to_string())));
    let mut data = Vec::new();
    store
        .open_block(11)
        .unwrap()
        .unwrap()
        .file
        .read_to_end(&mut data)
        .unwrap();
    assert_eq!(data, vec![11u8; 20]);
}

#[test]
fn restart_with_a_smaller_quota_evicts_down_to_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), 100);
        for id in 1..=4 {
            put(&store, id, 25).unwrap();
        }
    }
    let store = open(dir.path(), 60);
    assert!(used(&store) <= 60);
    assert_eq!(store.full_report().len(), 2);
}

/// Writes an only-copy block (a MUST_CACHE file's).
fn put_only_copy(store: &BlockStore, id: u64, len: usize) -> Result<u64, StoreError> {
    let (mut temp, mut file) = store.create_temp(id, len as u64)?;
    temp.mark_only_copy();
    file.write_all(&vec![id as u8; len]).unwrap();
    temp.commit()
}

#[test]
fn only_copies_are_never_evicted_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 100);
    put_only_copy(&store, 1, 40).unwrap();
    put(&store, 2, 40).unwrap();
    // Room is made from the evictable block only.
    put(&store, 3, 40).unwrap();
    assert!(store.contains(1) && !store.contains(2) && store.contains(3));
    // Then a write that needs the only copy's space is refused, naming why.
    put(&store, 4, 40).unwrap();
    assert!(store.contains(1) && !store.contains(3));
    let err = put(&store, 5, 70).unwrap_err().to_string();
    assert!(err.contains("only copy"), "{err}");
    assert!(store.contains(1));
    drop(store);

    // The mark is kept across a restart; a marker without its block goes.
    std::fs::write(dir.path().join("alluxioworker/.only-copy/99"), b"").unwrap();
    let store = open(dir.path(), 100);
    assert!(!dir.path().join("alluxioworker/.only-copy/99").exists());
    put(&store, 6, 60).unwrap();
    assert!(store.contains(1), "evicted after a restart");
    // Freed by the master: the block and its mark go.
    assert!(store.remove_block(1).unwrap());
    assert!(!dir.path().join("alluxioworker/.only-copy/1").exists());
    put(&store, 7, 40).unwrap();
}
