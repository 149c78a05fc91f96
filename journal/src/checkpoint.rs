//! Checkpoints bound replay time: the whole namespace as framed records,
//! published under the sequence number it covers, after which older batches
//! and checkpoints are deleted.

use alluxio_proto::journal::{
    checkpoint_record::Record, CheckpointFooter, CheckpointHeader, CheckpointRecord,
};
use bytes::BytesMut;
use prost::Message;

use super::error::JournalError;
use super::frame::{self, Frames};
use super::store::JournalStore;
use super::{checkpoint_name, log_name, CHECKPOINT_DIR, LOG_DIR};

/// Builds a checkpoint object in memory.
pub struct CheckpointEncoder {
    buf: BytesMut,
    count: u64,
    term: u64,
    last_sequence: u64,
}

impl CheckpointEncoder {
    /// Starts a checkpoint with its header.
    pub fn new(header: CheckpointHeader) -> Self {
        let mut enc = CheckpointEncoder {
            buf: BytesMut::new(),
            count: 0,
            term: header.term,
            last_sequence: header.last_sequence,
        };
        enc.push(Record::Header(header));
        enc
    }

    /// Adds one record.
    pub fn push(&mut self, record: Record) {
        let rec = CheckpointRecord {
            record: Some(record),
        };
        frame::encode(&mut self.buf, self.term, &rec.encode_to_vec());
        self.count += 1;
    }

    /// Sequence number the checkpoint covers.
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Seals the object with a footer.
    pub fn finish(mut self) -> bytes::Bytes {
        let count = self.count;
        self.push(Record::Footer(CheckpointFooter {
            record_count: count,
        }));
        self.buf.freeze()
    }
}

/// Publishes a sealed checkpoint for `seq`. If one exists already it holds
/// the same state (replay is deterministic), so that is fine.
pub async fn publish(
    store: &JournalStore,
    seq: u64,
    data: bytes::Bytes,
) -> Result<(), JournalError> {
    store.publish(&checkpoint_name(seq), data).await.map(|_| ())
}

/// The newest checkpoint's sequence number.
pub async fn latest(store: &JournalStore) -> Result<Option<u64>, JournalError> {
    Ok(store.list_seqs(CHECKPOINT_DIR).await?.last().copied())
}

/// Reads and fully verifies checkpoint `seq`: header first, footer count last.
pub async fn read(
    store: &JournalStore,
    seq: u64,
) -> Result<(CheckpointHeader, Vec<Record>), JournalError> {
    let name = checkpoint_name(seq);
    let data = store
        .read(&name)
        .await?
        .ok_or_else(|| JournalError::Vanished { name: name.clone() })?;
    let mut header = None;
    let mut body = Vec::new();
    let mut footer = None;
    for frame in Frames::new(data) {
        let (offset, _term, payload) = frame.map_err(|e| JournalError::Corrupt {
            file: name.clone(),
            offset: e.offset,
            reason: e.reason,
        })?;
        let corrupt = |reason: &str| JournalError::Corrupt {
            file: name.clone(),
            offset,
            reason: reason.into(),
        };
        let rec = CheckpointRecord::decode(payload)
            .map_err(|e| corrupt(&format!("undecodable record: {e}")))?;
        if footer.is_some() {
            return Err(corrupt("record after the footer"));
        }
        match rec.record {
            Some(Record::Header(h)) if header.is_none() => header = Some(h),
            Some(Record::Header(_)) => return Err(corrupt("second header")),
            Some(Record::Footer(f)) => footer = Some((offset, f)),
            Some(r) if header.is_some() => body.push(r),
            Some(_) => return Err(corrupt("record before the header")),
            None => return Err(corrupt("unknown record type (newer master?)")),
        }
    }
    let header = header.ok_or_else(|| JournalError::Corrupt {
        file: name.clone(),
        offset: 0,
        reason: "no header".into(),
    })?;
    match footer {
        Some((_, f)) if f.record_count == body.len() as u64 + 1 => {}
        Some((offset, f)) => {
            return Err(JournalError::Corrupt {
                file: name,
                offset,
                reason: format!(
                    "footer counts {} records, found {}",
                    f.record_count,
                    body.len() + 1
                ),
            })
        }
        None => {
            return Err(JournalError::Corrupt {
                file: name,
                offset: 0,
                reason: "truncated: no footer".into(),
            })
        }
    }
    if header.last_sequence != seq {
        return Err(JournalError::Corrupt {
            file: name,
            offset: 0,
            reason: format!("header says sequence {}", header.last_sequence),
        });
    }
    Ok((header, body))
}

/// Deletes log objects wholly covered by checkpoint `seq` (those the next
/// object starts after, at `seq + 1` at the latest) and older checkpoints.
/// The object holding `seq` itself goes once the next one exists.
pub async fn collect_garbage(store: &JournalStore, seq: u64) -> Result<usize, JournalError> {
    let mut removed = 0;
    let objects = store.list_seqs(LOG_DIR).await?;
    for pair in objects.windows(2) {
        if pair[1] <= seq + 1 {
            store.delete(&log_name(pair[0])).await?;
            removed += 1;
        }
    }
    for s in store.list_seqs(CHECKPOINT_DIR).await? {
        if s < seq {
            store.delete(&checkpoint_name(s)).await?;
        }
    }
    Ok(removed)
}
