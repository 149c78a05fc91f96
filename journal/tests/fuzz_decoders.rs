//! Bad input to every decoder of bytes the journal reads back (issue 18):
//! log objects (frames and entries) and checkpoints, built valid and then
//! damaged at random from a seed — bits flipped, bytes inserted, cut or
//! overwritten, length fields set to huge values — both as raw damage
//! (which the CRC catches) and re-framed with a correct CRC (garbage that
//! reaches the protobuf decoder). A decoder must never panic, never trust
//! a length beyond the data it has, and report damage with the object and
//! an offset inside it.
//!
//! Every test run tries a bounded number of cases;
//! `ALLUXIO_FUZZ_CASES=1000000 cargo test -p alluxio-journal --test
//! fuzz_decoders --release` runs longer.

use alluxio_common::seeded::Rng;
use alluxio_journal::checkpoint::{self, CheckpointEncoder};
use alluxio_journal::{format, frame, reader, JournalError, JournalStore};
use alluxio_proto::journal::checkpoint_record::Record;
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::*;
use bytes::{Bytes, BytesMut};
use prost::Message;

fn cases() -> u64 {
    std::env::var("ALLUXIO_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

/// A valid entry of a kind drawn from `rng`.
fn entry(rng: &mut Rng) -> JournalEntry {
    let name = format!("n{}", rng.below(1000));
    let e = match rng.below(6) {
        0 => Entry::TermStart(TermStart {
            term: rng.below(10),
            address: "m:1".into(),
            time_ms: rng.next_u64() as i64,
        }),
        1 => Entry::CreateInode(CreateInode {
            inode: Some(InodeRecord {
                id: rng.below(100),
                parent_id: rng.below(100),
                name,
                length: rng.next_u64(),
                symlink_target: "x".repeat(rng.below(300) as usize),
                ..Default::default()
            }),
        }),
        2 => Entry::Rename(RenameEntry {
            src_parent_id: rng.below(100),
            src_name: name.clone(),
            dst_parent_id: rng.below(100),
            dst_name: name,
            time_ns: 1,
        }),
        3 => Entry::RemoveEntry(RemoveEntry {
            parent_id: rng.below(100),
            name,
            time_ns: 2,
        }),
        4 => Entry::UfsIntent(UfsIntent {
            op_id: Some(alluxio_proto::OperationId {
                high: rng.next_u64(),
                low: rng.next_u64(),
            }),
            steps: (0..rng.below(4))
                .map(|_| UfsStep {
                    step: Some(ufs_step::Step::DeleteFile(format!("/{name}"))),
                })
                .collect(),
            op: Some(ufs_intent::Op::Delete(DeleteIntent {
                path: format!("/{name}"),
                id: rng.below(100),
            })),
        }),
        _ => Entry::AddMount(AddMount {
            alluxio_path: format!("/{name}"),
            ufs_uri: "s3://b/p".into(),
            options: [("k".to_string(), "v".repeat(rng.below(50) as usize))]
                .into_iter()
                .collect(),
        }),
    };
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(e),
    }
}

/// Damages `data` in one of several ways.
fn damage(rng: &mut Rng, data: &mut Vec<u8>) {
    if data.is_empty() {
        data.push(rng.next_u64() as u8);
        return;
    }
    let at = rng.below(data.len() as u64) as usize;
    match rng.below(6) {
        0 => data[at] ^= 1 << rng.below(8),
        1 => data.truncate(at),
        2 => data.insert(at, rng.next_u64() as u8),
        3 => {
            let n = rng.between(1, 16) as usize;
            data.drain(at..(at + n).min(data.len()));
        }
        4 => {
            // A length-like field set to something huge.
            let end = (at + 4).min(data.len());
            data[at..end].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f][..end - at]);
        }
        _ => {
            for b in &mut data[at..] {
                *b = rng.next_u64() as u8;
            }
        }
    }
}

fn framed(term: u64, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for p in payloads {
        frame::encode(&mut buf, term, p);
    }
    buf.to_vec()
}

/// Decodes a log object to its end; checks what a bad frame reports.
fn decode_all(data: Vec<u8>) -> usize {
    let len = data.len() as u64;
    let mut good = 0;
    for item in reader::decode(Bytes::from(data), 0) {
        match item {
            Ok(f) => {
                assert!(f.end <= len, "a frame ends at {} past {len} bytes", f.end);
                good += 1;
            }
            Err(bad) => {
                assert!(bad.offset <= len, "bad frame at {} of {len}", bad.offset);
                assert!(!bad.reason.is_empty());
            }
        }
    }
    good
}

#[test]
fn damaged_log_objects_are_reported_never_panic() {
    let mut rng = Rng::new(0x18);
    for _ in 0..cases() {
        let entries: Vec<Vec<u8>> = (0..rng.between(1, 6))
            .map(|_| entry(&mut rng).encode_to_vec())
            .collect();
        let valid = framed(3, &entries);
        assert_eq!(decode_all(valid.clone()), entries.len());
        // Raw damage: the CRC (or the frame length) catches it.
        let mut raw = valid;
        damage(&mut rng, &mut raw);
        decode_all(raw.clone());
        let _ = reader::first_term("log/1", &Bytes::from(raw));
        // Damage behind a correct CRC: garbage reaches the entry decoder.
        let mut payloads = entries;
        let i = rng.below(payloads.len() as u64) as usize;
        damage(&mut rng, &mut payloads[i]);
        decode_all(framed(3, &payloads));
    }
}

#[test]
fn a_frame_length_past_the_data_is_not_trusted() {
    let mut data = framed(1, &[entry(&mut Rng::new(1)).encode_to_vec()]);
    // Length field: 256 MiB - 1, the largest accepted, on a tiny object.
    data[..4].copy_from_slice(&((frame::MAX_PAYLOAD - 1) as u32).to_le_bytes());
    let items: Vec<_> = reader::decode(Bytes::from(data), 0).collect();
    assert_eq!(items.len(), 1);
    let bad = items.into_iter().next().unwrap().unwrap_err();
    assert!(bad.truncated, "{bad:?}");
}

/// A checkpoint of a few records of every kind.
fn checkpoint_bytes(rng: &mut Rng, seq: u64) -> Vec<Vec<u8>> {
    let mut records = vec![CheckpointRecord {
        record: Some(Record::Header(CheckpointHeader {
            last_sequence: seq,
            term: 2,
            next_inode_id: 50,
            next_container_id: 60,
            time_ms: 1,
        })),
    }];
    for _ in 0..rng.between(0, 5) {
        let r = match rng.below(3) {
            0 => Record::Inode(InodeRecord {
                id: rng.below(100),
                name: "x".into(),
                ..Default::default()
            }),
            1 => Record::Retry(RetryCacheEntry {
                op_id: Some(alluxio_proto::OperationId { high: 1, low: 2 }),
                result: 3,
            }),
            _ => Record::Link(AddLink {
                id: 1,
                parent_id: 2,
                name: "l".into(),
                time_ns: 0,
            }),
        };
        records.push(CheckpointRecord { record: Some(r) });
    }
    records.push(CheckpointRecord {
        record: Some(Record::Footer(CheckpointFooter {
            record_count: records.len() as u64,
        })),
    });
    records.iter().map(|r| r.encode_to_vec()).collect()
}

#[tokio::test]
async fn damaged_checkpoints_are_reported_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
    format::format(&store).await.unwrap();
    // The encoder's own output reads back.
    let enc = CheckpointEncoder::new(CheckpointHeader {
        last_sequence: 1,
        term: 1,
        ..Default::default()
    });
    checkpoint::publish(&store, 1, enc.finish()).await.unwrap();
    checkpoint::read(&store, 1).await.unwrap();

    let mut rng = Rng::new(0x1818);
    // Each case needs an object of its own (publication is create-once).
    for seq in 2..(2 + cases() / 10) {
        let mut records = checkpoint_bytes(&mut rng, seq);
        let data = if rng.chance(50) {
            let mut raw = framed(2, &records);
            damage(&mut rng, &mut raw);
            raw
        } else {
            let i = rng.below(records.len() as u64) as usize;
            damage(&mut rng, &mut records[i]);
            framed(2, &records)
        };
        let len = data.len() as u64;
        checkpoint::publish(&store, seq, Bytes::from(data))
            .await
            .unwrap();
        match checkpoint::read(&store, seq).await {
            Ok(_) => {}
            Err(JournalError::Corrupt {
                file,
                offset,
                reason,
            }) => {
                assert!(file.contains(&seq.to_string()), "{file}");
                assert!(offset <= len, "{file}: offset {offset} of {len}");
                assert!(!reason.is_empty());
            }
            Err(e) => panic!("checkpoint {seq}: not reported as damage: {e}"),
        }
    }
}
