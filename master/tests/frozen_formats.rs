//! Formats guarded by frozen data: bytes written once by the code of their
//! day (`tests/fixtures/`) and never changed, decoded by today's code.
//!
//! A journal on disk and a checkpoint outlive the binary that wrote them, so
//! a renumbered protobuf field, a changed frame layout or a new meaning of an
//! old field must fail here before it ships, not during a customer's replay.
//! Each fixture is checked both ways where that is meaningful: the frozen
//! bytes decode to the value the test builds, and that value encodes to the
//! frozen bytes.
//!
//! The fixtures were written by `write_fixtures` (ignored; it refuses to
//! overwrite a file): `cargo test -p alluxio-master --test frozen_formats --
//! --ignored write_fixtures`. Add a fixture for a new kind of entry or
//! record the same way; never regenerate an existing one.

use std::path::{Path, PathBuf};

use alluxio_journal::checkpoint::CheckpointEncoder;
use alluxio_journal::{format, frame, terms, JournalStore, JournalWriter};
use alluxio_master::namespace::Namespace;
use alluxio_master::recovery::recover;
use alluxio_proto::journal::checkpoint_record::Record;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::*;
use alluxio_proto::{FileType, OperationId};
use bytes::BytesMut;
use prost::Message;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_fixture(rel: &str) -> Vec<u8> {
    let path = fixtures().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "frozen fixture {} is missing ({e}); fixtures are written once by \
             `write_fixtures` and never regenerated",
            path.display()
        )
    })
}

/// Writes `data` at `rel` unless a file is there already.
fn freeze(rel: &str, data: &[u8]) {
    let path = fixtures().join(rel);
    if path.exists() {
        eprintln!("kept {}", path.display());
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    eprintln!("wrote {}", path.display());
}

fn inode_record() -> InodeRecord {
    InodeRecord {
        id: 7,
        parent_id: 1,
        name: "file.txt".into(),
        file_type: FileType::Regular as i32,
        mode: 0o640,
        owner: "alice".into(),
        group: "staff".into(),
        nlink: 2,
        atime_ns: 1_700_000_000_000_000_001,
        mtime_ns: 1_700_000_000_000_000_002,
        ctime_ns: 1_700_000_000_000_000_003,
        crtime_ns: 1_700_000_000_000_000_004,
        length: 123_456_789,
        block_size: 64 << 20,
        container_id: 42,
        completed: true,
        persisted: true,
        symlink_target: "target/of/link".into(),
        rdev: 0x0801,
        ufs_loaded: true,
    }
}

/// An intent with a step of every kind.
fn ufs_intent() -> UfsIntent {
    let step = |s| UfsStep { step: Some(s) };
    UfsIntent {
        op_id: Some(OperationId { high: 3, low: 4 }),
        steps: vec![
            step(ufs_step::Step::Move(UfsMove {
                from: "/a".into(),
                to: "/b".into(),
                replace_dir: true,
                empty_file: true,
            })),
            step(ufs_step::Step::DeleteFile("/c".into())),
            step(ufs_step::Step::DeleteDir("/d".into())),
        ],
        op: Some(ufs_intent::Op::Rename(RenameIntent {
            src: "/a".into(),
            dst: "/b".into(),
            src_id: 7,
            no_replace: true,
        })),
    }
}

/// One entry of every kind, with every field set to a value its default
/// would not hide.
fn entries() -> Vec<(&'static str, JournalEntry)> {
    let op = Some(OperationId {
        high: 0x0123_4567_89ab_cdef,
        low: 0xfedc_ba98_7654_3210,
    });
    let kinds: Vec<(&'static str, Entry)> = vec![
        (
            "term_start",
            Entry::TermStart(TermStart {
                term: 9,
                address: "m1:19998".into(),
                time_ms: 1_700_000_000_123,
            }),
        ),
        (
            "create_inode",
            Entry::CreateInode(CreateInode {
                inode: Some(inode_record()),
            }),
        ),
        (
            "complete_file",
            Entry::CompleteFile(CompleteFile {
                id: 7,
                length: 99,
                mtime_ns: 5,
                persisted: true,
            }),
        ),
        (
            "remove_entry",
            Entry::RemoveEntry(RemoveEntry {
                parent_id: 1,
                name: "gone".into(),
                time_ns: 6,
            }),
        ),
        (
            "rename",
            Entry::Rename(RenameEntry {
                src_parent_id: 1,
                src_name: "a".into(),
                dst_parent_id: 2,
                dst_name: "b".into(),
                time_ns: 7,
            }),
        ),
        (
            "set_attribute",
            Entry::SetAttribute(SetAttribute {
                id: 7,
                mode: Some(0o600),
                owner: Some("bob".into()),
                group: Some("wheel".into()),
                mtime_ns: Some(8),
                atime_ns: Some(9),
                ctime_ns: 10,
            }),
        ),
        (
            "add_mount",
            Entry::AddMount(AddMount {
                alluxio_path: "/mnt/s3".into(),
                ufs_uri: "s3://bucket/prefix".into(),
                options: [(
                    "s3a.endpoint".to_string(),
                    "http://127.0.0.1:9000".to_string(),
                )]
                .into_iter()
                .collect(),
            }),
        ),
        (
            "delete_mount",
            Entry::DeleteMount(DeleteMount {
                alluxio_path: "/mnt/s3".into(),
            }),
        ),
        (
            "set_directory_loaded",
            Entry::SetDirectoryLoaded(SetDirectoryLoaded { id: 3 }),
        ),
        (
            "commit_version",
            Entry::CommitVersion(CommitVersion {
                id: 7,
                container_id: 44,
                block_size: 1 << 21,
                length: 12_345,
                persisted: true,
                mtime_ns: 15,
                ctime_ns: 16,
                mode: Some(0o640),
                owner: Some("carol".into()),
                group: Some("staff".into()),
                atime_ns: Some(17),
            }),
        ),
        (
            "new_version",
            Entry::NewVersion(NewVersion {
                id: 7,
                container_id: 43,
                block_size: 1 << 20,
                mtime_ns: 11,
            }),
        ),
        (
            "add_link",
            Entry::AddLink(AddLink {
                id: 7,
                parent_id: 2,
                name: "hardlink".into(),
                time_ns: 12,
            }),
        ),
        (
            "exchange",
            Entry::Exchange(ExchangeEntries {
                a_parent_id: 1,
                a_name: "x".into(),
                b_parent_id: 2,
                b_name: "y".into(),
                time_ns: 13,
            }),
        ),
        ("ufs_intent", Entry::UfsIntent(ufs_intent())),
        (
            "ufs_intent_mkdir",
            Entry::UfsIntent(UfsIntent {
                op_id: Some(OperationId { high: 5, low: 6 }),
                steps: vec![UfsStep {
                    step: Some(ufs_step::Step::CreateDir("/m/n".into())),
                }],
                op: Some(ufs_intent::Op::Mkdir(MkdirIntent {
                    path: "/m/n".into(),
                    recursive: true,
                    mode: 0o750,
                    owner: "alice".into(),
                    group: "staff".into(),
                })),
            }),
        ),
        (
            "ufs_intent_progress",
            Entry::UfsIntentProgress(UfsIntentProgress {
                intent: 14,
                steps_done: 2,
            }),
        ),
        (
            "ufs_intent_done",
            Entry::UfsIntentDone(UfsIntentDone { intent: 14 }),
        ),
    ];
    kinds
        .into_iter()
        .map(|(name, entry)| {
            (
                name,
                JournalEntry {
                    op_id: op,
                    op_result: 77,
                    entry: Some(entry),
                },
            )
        })
        .collect()
}

/// One checkpoint record of every kind.
fn records() -> Vec<(&'static str, CheckpointRecord)> {
    let kinds = vec![
        (
            "header",
            Record::Header(CheckpointHeader {
                last_sequence: 1000,
                term: 3,
                next_inode_id: 500,
                next_container_id: 600,
                time_ms: 1_700_000_000_456,
            }),
        ),
        ("inode", Record::Inode(inode_record())),
        (
            "mount",
            Record::Mount(AddMount {
                alluxio_path: "/".into(),
                ufs_uri: "/var/lib/alluxio/ufs".into(),
                options: Default::default(),
            }),
        ),
        (
            "footer",
            Record::Footer(CheckpointFooter { record_count: 5 }),
        ),
        (
            "retry",
            Record::Retry(RetryCacheEntry {
                op_id: Some(OperationId { high: 1, low: 2 }),
                result: 7,
            }),
        ),
        (
            "link",
            Record::Link(AddLink {
                id: 7,
                parent_id: 2,
                name: "hardlink".into(),
                time_ns: 0,
            }),
        ),
        (
            "intent",
            Record::Intent(PendingIntent {
                seq: 14,
                steps_done: 1,
                intent: Some(ufs_intent()),
            }),
        ),
    ];
    kinds
        .into_iter()
        .map(|(name, record)| {
            (
                name,
                CheckpointRecord {
                    record: Some(record),
                },
            )
        })
        .collect()
}

fn dir_entry(id: u64, parent: u64, name: &str) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::CreateInode(CreateInode {
            inode: Some(InodeRecord {
                id,
                parent_id: parent,
                name: name.into(),
                file_type: FileType::Directory as i32,
                nlink: 1,
                mode: 0o755,
                owner: "root".into(),
                group: "root".into(),
                persisted: true,
                ..Default::default()
            }),
        })),
    }
}

fn term_start(term: u64) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::TermStart(TermStart {
            term,
            address: "fixture:19998".into(),
            time_ms: 1_700_000_000_000,
        })),
    }
}

/// The batches of the frozen journal folders: (first sequence, entries).
fn batches() -> Vec<(u64, Vec<JournalEntry>)> {
    vec![
        (1, vec![term_start(1), dir_entry(1, 0, "")]),
        (3, vec![dir_entry(2, 1, "a")]),
        (4, vec![dir_entry(3, 2, "b"), dir_entry(4, 1, "c")]),
    ]
}

/// The names under the root of a namespace replayed from `batches()`.
fn assert_replayed(ns: &Namespace, what: &str) {
    assert_eq!(ns.last_seq(), 5, "{what}: last sequence");
    assert_eq!(ns.term(), 1, "{what}: term");
    let mut names: Vec<(u64, u64, String)> = (1..10)
        .filter_map(|id| ns.inode(id).map(|i| (i.id, i.parent_id, i.name.clone())))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            (1, 0, String::new()),
            (2, 1, "a".into()),
            (3, 2, "b".into()),
            (4, 1, "c".into()),
        ],
        "{what}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Replays a frozen journal folder from a scratch copy (replay may add
/// staging folders; the fixture stays untouched).
async fn replay_fixture(rel: &str) -> Result<Namespace, alluxio_journal::JournalError> {
    let source = fixtures().join(rel);
    assert!(
        source.join("FORMAT").exists(),
        "frozen fixture {rel} is missing"
    );
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(&source, scratch.path());
    let store = JournalStore::open(scratch.path().to_str().unwrap(), &Default::default()).unwrap();
    recover(&store).await
}

#[test]
fn every_journal_entry_kind_decodes_as_frozen() {
    for (name, expected) in entries() {
        let frozen = read_fixture(&format!("entries/{name}.pb"));
        let decoded = JournalEntry::decode(frozen.as_slice())
            .unwrap_or_else(|e| panic!("entry {name}: frozen bytes no longer decode: {e}"));
        assert_eq!(
            decoded, expected,
            "entry {name}: frozen bytes mean something else"
        );
        assert_eq!(
            expected.encode_to_vec(),
            frozen,
            "entry {name}: today's encoding differs from the frozen one"
        );
    }
}

#[test]
fn every_checkpoint_record_kind_decodes_as_frozen() {
    for (name, expected) in records() {
        let frozen = read_fixture(&format!("checkpoint-records/{name}.pb"));
        let decoded = CheckpointRecord::decode(frozen.as_slice())
            .unwrap_or_else(|e| panic!("record {name}: frozen bytes no longer decode: {e}"));
        assert_eq!(
            decoded, expected,
            "record {name}: frozen bytes mean something else"
        );
        assert_eq!(
            expected.encode_to_vec(),
            frozen,
            "record {name}: today's encoding differs from the frozen one"
        );
    }
}

/// A folder holding only a checkpoint (the log it covers collected), as
/// today's encoder wrote it: it still loads into the namespace it holds.
#[tokio::test]
async fn a_frozen_checkpoint_loads() {
    let log = fixtures().join("journal-v2-checkpoint/log");
    let objects = std::fs::read_dir(&log).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        objects, 0,
        "the checkpoint fixture must hold no log objects"
    );
    let ns = replay_fixture("journal-v2-checkpoint").await.unwrap();
    assert_replayed(&ns, "the frozen checkpoint");
}

/// A folder in format version 1 (one batch per object, no term claims), as
/// masters before segments wrote it, replays to its state.
#[tokio::test]
async fn a_format_version_1_folder_replays() {
    let ns = replay_fixture("journal-v1").await.unwrap();
    assert_replayed(&ns, "the version 1 folder");
}

/// A version 2 segment whose last frame a crash cut short: replay stops
/// before the torn frame, with everything before it.
#[tokio::test]
async fn a_segment_with_a_torn_tail_replays_up_to_the_tear() {
    let ns = replay_fixture("journal-v2-torn-tail").await.unwrap();
    assert_replayed(&ns, "the torn segment");
}

/// The frame layout itself: `length | crc32c | term | payload`.
#[test]
fn the_frame_layout_is_frozen() {
    let frozen = read_fixture("frame.bin");
    let mut buf = BytesMut::new();
    frame::encode(&mut buf, 0x0102_0304_0506_0708, b"frozen payload");
    assert_eq!(buf.as_ref(), frozen.as_slice());
    let mut frames = frame::Frames::new(bytes::Bytes::from(frozen));
    let (offset, term, payload) = frames.next().unwrap().unwrap();
    assert_eq!(
        (offset, term, payload.as_ref()),
        (0, 0x0102_0304_0506_0708, &b"frozen payload"[..])
    );
    assert!(frames.next().is_none());
}

/// Writes the fixtures that do not exist yet (see the module comment).
#[tokio::test]
#[ignore = "writes fixtures; run by hand, once, for a new kind"]
async fn write_fixtures() {
    for (name, entry) in entries() {
        freeze(&format!("entries/{name}.pb"), &entry.encode_to_vec());
    }
    for (name, record) in records() {
        freeze(
            &format!("checkpoint-records/{name}.pb"),
            &record.encode_to_vec(),
        );
    }
    let mut buf = BytesMut::new();
    frame::encode(&mut buf, 0x0102_0304_0506_0708, b"frozen payload");
    freeze("frame.bin", &buf);

    // Version 1: the marker, and one object per batch.
    if !fixtures().join("journal-v1").exists() {
        freeze(
            "journal-v1/FORMAT",
            b"alluxio-rs-journal\nversion=1\ncluster_id=00000000000000010000000000000001\n",
        );
        for (first, batch) in batches() {
            let mut buf = BytesMut::new();
            for e in &batch {
                frame::encode(&mut buf, 1, &e.encode_to_vec());
            }
            freeze(&format!("journal-v1/log/{first:020}"), &buf);
        }
    }

    // Version 2 as today's writer writes it: a claimed term, one segment.
    for (folder, torn, checkpoint) in [
        ("journal-v2-torn-tail", true, false),
        ("journal-v2-checkpoint", false, true),
    ] {
        if fixtures().join(folder).exists() {
            continue;
        }
        let scratch = tempfile::tempdir().unwrap();
        let store =
            JournalStore::open(scratch.path().to_str().unwrap(), &Default::default()).unwrap();
        format::format(&store).await.unwrap();
        terms::claim_next(&store, 0, "fixture:19998").await.unwrap();
        let writer = JournalWriter::start(store.clone(), 1, 1);
        let mut ns = Namespace::new();
        for (first, batch) in batches() {
            for (j, e) in batch.iter().enumerate() {
                ns.apply(first + j as u64, 1, e).unwrap();
            }
            writer.append(first, batch).await.unwrap();
        }
        drop(writer);
        if torn {
            // A write of the next batch cut short by a crash: a frame
            // header and half its payload.
            let mut buf = BytesMut::new();
            frame::encode(&mut buf, 1, &dir_entry(5, 1, "torn").encode_to_vec());
            let cut = buf.len() - 7;
            let segment = scratch.path().join(alluxio_journal::log_name(1));
            let mut data = std::fs::read(&segment).unwrap();
            data.extend_from_slice(&buf[..cut]);
            std::fs::write(&segment, data).unwrap();
        }
        if checkpoint {
            let enc: CheckpointEncoder = ns.encode_checkpoint();
            let seq = enc.last_sequence();
            alluxio_journal::checkpoint::publish(&store, seq, enc.finish())
                .await
                .unwrap();
        }
        let _ = std::fs::remove_dir_all(scratch.path().join("tmp"));
        if checkpoint {
            // As after garbage collection: the checkpoint alone.
            std::fs::remove_dir_all(scratch.path().join("log")).unwrap();
        }
        copy_tree(scratch.path(), &fixtures().join(folder));
        eprintln!("wrote {folder}");
    }
}
