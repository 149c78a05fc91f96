//! Bad input to what the worker reads back from its tiers at start-up
//! (issue 18): block files named by id, the `.identity` file, the
//! `.only-copy` markers and the `.tmp` staging directory, each drawn at
//! random from a seed — names that are not canonical ids (leading zeros,
//! signs, overflow, invalid UTF-8, 255 bytes), directories and symbolic
//! links where files belong and files where directories belong, identity
//! contents of random bytes. Opening the store must never panic: it either
//! opens holding exactly the well-named block files (the top copy of a
//! duplicate) with the markers of absent blocks removed, or fails with an
//! error naming the damaged path.
//!
//! Every test run tries a bounded number of cases;
//! `ALLUXIO_FUZZ_CASES=100000 cargo test -p alluxio-worker --test
//! fuzz_store_metadata --release` runs longer.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use alluxio_common::seeded::Rng;
use alluxio_worker::block_store::BlockStore;
use alluxio_worker::settings::TierSettings;

fn cases() -> u64 {
    std::env::var("ALLUXIO_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

/// A name that is not a canonical block id, though it may look like one.
fn junk_name(rng: &mut Rng) -> Vec<u8> {
    let id = rng.between(1, 60);
    match rng.below(9) {
        0 => format!("0{id}").into_bytes(),
        1 => format!("+{id}").into_bytes(),
        2 => format!("-{id}").into_bytes(),
        3 => b"18446744073709551616".to_vec(),
        4 => format!("{id}.part").into_bytes(),
        5 => vec![b'7'; 255],
        6 => vec![0xff, b'1', 0xfe],
        7 => format!(" {id}").into_bytes(),
        _ => {
            let name: Vec<u8> = (0..rng.between(1, 20))
                .map(|_| rng.between(1, 255) as u8)
                .filter(|b| *b != b'/')
                .collect();
            if name.is_empty() || name == b"." || name == b".." {
                b"x".to_vec()
            } else {
                name
            }
        }
    }
}

/// What a case put on disk, and what opening it must give.
struct Case {
    tiers: Vec<TierSettings>,
    /// Well-named block files, by tier.
    blocks: Vec<BTreeSet<u64>>,
    /// The identity written, if it is a valid one.
    identity: Option<u64>,
    /// Paths whose damage must make the open fail, naming them.
    fatal: Vec<PathBuf>,
    /// Marker files: (path, whether its block is in that tier).
    markers: Vec<(PathBuf, bool)>,
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn build(rng: &mut Rng, root: &Path) -> Case {
    let levels = rng.between(1, 2) as usize;
    let mut case = Case {
        tiers: Vec::new(),
        blocks: Vec::new(),
        identity: None,
        fatal: Vec::new(),
        markers: Vec::new(),
    };
    for level in 0..levels {
        let tier = TierSettings {
            level,
            alias: ["MEM", "SSD"][level].to_string(),
            path: root.join(format!("tier{level}")),
            quota: 1 << 30,
        };
        let dir = tier.block_dir();
        std::fs::create_dir_all(&dir).unwrap();
        // Blocks of upper tiers: a copy here is dropped, its marker too.
        let upper: BTreeSet<u64> = case.blocks.iter().flatten().copied().collect();
        let mut blocks = BTreeSet::new();
        for _ in 0..rng.below(12) {
            let id = rng.between(1, 60);
            let len = rng.below(100) as usize;
            write(&dir.join(id.to_string()), &vec![7u8; len]);
            blocks.insert(id);
        }
        for _ in 0..rng.below(6) {
            let name = junk_name(rng);
            let path = dir.join(OsStr::from_bytes(&name));
            match rng.below(3) {
                // A name drawn twice keeps what it got first.
                0 => drop(std::fs::write(&path, b"junk")),
                1 => drop(std::fs::create_dir(&path)),
                // Dangling, and into a directory that does not exist: a
                // write through it creates nothing (outside the case least
                // of all).
                _ => drop(std::os::unix::fs::symlink(
                    root.join("missing-dir/target"),
                    &path,
                )),
            }
        }
        // A directory or a link named like a block id is not a block.
        let id = rng.between(61, 80);
        if rng.below(2) == 0 {
            std::fs::create_dir(dir.join(id.to_string())).unwrap();
        } else {
            std::os::unix::fs::symlink(dir.join("1"), dir.join(id.to_string())).unwrap();
        }
        let markers = dir.join(".only-copy");
        match rng.below(4) {
            0 => {}
            1 => {
                write(&markers, b"not a directory");
                case.fatal.push(markers.clone());
            }
            _ => {
                std::fs::create_dir(&markers).unwrap();
                for _ in 0..rng.below(5) {
                    let id = rng.between(1, 60);
                    let path = markers.join(id.to_string());
                    write(&path, b"");
                    case.markers
                        .push((path, blocks.contains(&id) && !upper.contains(&id)));
                }
                let junk = markers.join(OsStr::from_bytes(&junk_name(rng)));
                if std::fs::write(&junk, b"").is_ok() {
                    case.markers.push((junk, false));
                }
            }
        }
        let tmp = dir.join(".tmp");
        match rng.below(4) {
            0 => {}
            1 => {
                write(&tmp, b"not a directory");
                case.fatal.push(tmp);
            }
            _ => {
                std::fs::create_dir(&tmp).unwrap();
                write(&tmp.join(OsStr::from_bytes(&junk_name(rng))), b"staged");
                std::fs::create_dir_all(tmp.join("nested/deeper")).unwrap();
            }
        }
        case.tiers.push(tier);
        case.blocks.push(blocks);
    }
    let identity = case.tiers[0].block_dir().join(".identity");
    match rng.below(6) {
        0 => {}
        1 => {
            let id = rng.between(1, i64::MAX as u64);
            write(&identity, format!("{id}\n").as_bytes());
            case.identity = Some(id);
        }
        2 => {
            std::fs::create_dir(&identity).unwrap();
            case.fatal.push(identity);
        }
        3 => {
            let bad = ["0", "-3", "9223372036854775808", "", "1 2", "0x10"];
            write(&identity, rng.pick(&bad).as_bytes());
            case.fatal.push(identity);
        }
        _ => {
            let bytes: Vec<u8> = (0..rng.below(4096)).map(|_| rng.below(256) as u8).collect();
            let valid = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .filter(|id| *id != 0 && *id <= i64::MAX as u64);
            write(&identity, &bytes);
            match valid {
                Some(id) => case.identity = Some(id),
                None => case.fatal.push(identity),
            }
        }
    }
    case
}

#[test]
fn damaged_tier_metadata_opens_cleanly_or_fails_naming_the_path() {
    let mut rng = Rng::new(18);
    let (mut opened, mut refused) = (0, 0);
    for case_no in 0..cases() {
        let root = tempfile::tempdir().unwrap();
        let case = build(&mut rng, root.path());
        let result = std::panic::catch_unwind(|| BlockStore::open(&case.tiers))
            .unwrap_or_else(|_| panic!("case {case_no}: opening the store panicked"));
        match result {
            Ok(store) => {
                assert!(
                    case.fatal.is_empty(),
                    "case {case_no}: opened although {:?} is damaged",
                    case.fatal
                );
                opened += 1;
                let mut want = BTreeSet::new();
                for blocks in &case.blocks {
                    want.extend(blocks.iter().copied());
                }
                let got: BTreeSet<u64> = store.full_report().into_iter().collect();
                assert_eq!(got, want, "case {case_no}: the blocks held");
                if let Some(id) = case.identity {
                    assert_eq!(store.identity(), id, "case {case_no}: the identity");
                }
                for (path, kept) in &case.markers {
                    assert_eq!(
                        path.exists(),
                        *kept,
                        "case {case_no}: marker {} (its block is {}in the tier)",
                        path.display(),
                        if *kept { "" } else { "not " }
                    );
                }
            }
            Err(e) => {
                refused += 1;
                let msg = e.to_string();
                assert!(
                    case.fatal
                        .iter()
                        .any(|p| msg.contains(&p.display().to_string())),
                    "case {case_no}: refused with {msg:?}, which names none of the damaged \
                     paths {:?}",
                    case.fatal
                );
            }
        }
    }
    assert!(
        opened > 0 && refused > 0,
        "{opened} opened, {refused} refused"
    );
}
