//! Bad input to the namespace state machine (issue 18): journal entries
//! and checkpoint records that decode but make no sense — the frozen
//! fixture of every kind with its bytes damaged at random from a seed —
//! applied to a small namespace. Applying must never panic, and an entry it
//! refuses must leave the namespace exactly as it was (never half applied).
//!
//! `ALLUXIO_FUZZ_CASES=1000000 cargo test -p alluxio-master --test
//! fuzz_apply --release` runs longer than the bounded default.

use std::path::Path;

use alluxio_common::seeded::Rng;
use alluxio_master::namespace::Namespace;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::*;
use alluxio_proto::FileType;
use prost::Message;

fn cases() -> u64 {
    std::env::var("ALLUXIO_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

fn create(id: u64, parent: u64, name: &str, kind: FileType) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::CreateInode(CreateInode {
            inode: Some(InodeRecord {
                id,
                parent_id: parent,
                name: name.into(),
                file_type: kind as i32,
                nlink: 1,
                mode: 0o755,
                block_size: 1 << 20,
                container_id: id,
                completed: kind != FileType::Regular || id.is_multiple_of(2),
                persisted: true,
                ..Default::default()
            }),
        })),
    }
}

/// Root, two directories, files in them (ids the fixtures name), a mount.
fn base() -> Namespace {
    let mut ns = Namespace::new();
    let entries = [
        create(1, 0, "", FileType::Directory),
        create(2, 1, "d", FileType::Directory),
        create(3, 2, "e", FileType::Directory),
        create(7, 1, "file.txt", FileType::Regular),
        create(8, 2, "x", FileType::Regular),
        create(9, 3, "y", FileType::Regular),
        JournalEntry {
            op_id: None,
            op_result: 0,
            entry: Some(Entry::AddMount(AddMount {
                alluxio_path: "/".into(),
                ufs_uri: "/tmp/ufs".into(),
                options: Default::default(),
            })),
        },
    ];
    for (i, e) in entries.iter().enumerate() {
        ns.apply(i as u64 + 1, 1, e).unwrap();
    }
    ns
}

fn damage(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..rng.between(1, 3) {
        if data.is_empty() {
            data.push(rng.next_u64() as u8);
            continue;
        }
        let at = rng.below(data.len() as u64) as usize;
        match rng.below(4) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = *rng.pick(&[0, 1, 2, 3, 7, 8, 9, 0x7f, 0xff]),
            2 => data.truncate(at),
            _ => data.insert(at, rng.next_u64() as u8),
        }
    }
}

/// The frozen encodings of every kind of `what` (`entries` or
/// `checkpoint-records`).
fn fixtures(what: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(what);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn nonsense_entries_are_refused_whole_never_panic() {
    let fixtures = fixtures("entries");
    assert!(fixtures.len() >= 15, "{fixtures:?}");
    let mut rng = Rng::new(0x18a);
    let (mut applied, mut refused) = (0, 0);
    let mut ns = base();
    for case in 0..cases() {
        if case.is_multiple_of(500) {
            ns = base();
        }
        let (name, bytes) = rng.pick(&fixtures);
        let mut bytes = bytes.clone();
        damage(&mut rng, &mut bytes);
        let Ok(entry) = JournalEntry::decode(&bytes[..]) else {
            continue;
        };
        let before = format!("{ns:?}");
        let seq = ns.last_seq() + 1;
        match ns.apply(seq, ns.term(), &entry) {
            Ok(()) => applied += 1,
            Err(reason) => {
                refused += 1;
                assert!(!reason.is_empty());
                assert_eq!(
                    format!("{ns:?}"),
                    before,
                    "case {case}: {name} damaged to {entry:?} was refused ({reason}) \
                     but changed the namespace"
                );
            }
        }
    }
    eprintln!("of damaged entries that decode, {applied} applied, {refused} refused");
    assert!(
        refused > cases() / 20,
        "too few refusals ({refused}) to mean anything"
    );
}

#[test]
fn nonsense_checkpoint_records_are_refused_never_panic() {
    let fixtures = fixtures("checkpoint-records");
    let mut rng = Rng::new(0x18b);
    for _ in 0..cases() / 4 {
        let header = CheckpointHeader {
            last_sequence: 10,
            term: 2,
            next_inode_id: 20,
            next_container_id: 20,
            time_ms: 0,
        };
        let mut records = Vec::new();
        for _ in 0..rng.between(1, 6) {
            let (_, bytes) = rng.pick(&fixtures);
            let mut bytes = bytes.clone();
            if rng.chance(70) {
                damage(&mut rng, &mut bytes);
            }
            if let Ok(CheckpointRecord { record: Some(r) }) = CheckpointRecord::decode(&bytes[..]) {
                records.push(r);
            }
        }
        if let Err(reason) = Namespace::from_checkpoint(&header, records) {
            assert!(reason.starts_with("record "), "{reason}");
        }
    }
}
