//! Reading the log back: one batch at a time by point reads (no listing on
//! the hot path), with the checks that make replay trustworthy — every frame's
//! CRC, known entry types, and no gap after the last batch.

use alluxio_proto::journal::JournalEntry;
use bytes::Bytes;
use prost::Message;

use super::error::JournalError;
use super::frame::Frames;
use super::store::JournalStore;
use super::{log_name, parse_seq, CHECKPOINT_DIR, LOG_DIR};

/// A decoded batch object.
#[derive(Debug)]
pub struct Batch {
    pub first_seq: u64,
    /// `(term, entry)` in sequence order.
    pub entries: Vec<(u64, JournalEntry)>,
}

impl Batch {
    /// Sequence number of the last entry.
    pub fn last_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64 - 1
    }
}

/// Decodes the batch object `name` holding entries from `first_seq`.
pub fn decode_batch(name: &str, first_seq: u64, data: Bytes) -> Result<Batch, JournalError> {
    let mut entries = Vec::new();
    for frame in Frames::new(data) {
        let (offset, term, payload) = frame.map_err(|e| JournalError::Corrupt {
            file: name.to_string(),
            offset: e.offset,
            reason: e.reason,
        })?;
        let corrupt = |reason: String| JournalError::Corrupt {
            file: name.to_string(),
            offset,
            reason,
        };
        let entry = JournalEntry::decode(payload)
            .map_err(|e| corrupt(format!("undecodable entry: {e}")))?;
        if entry.entry.is_none() {
            return Err(corrupt(
                "unknown entry type (written by a newer version of the master?)".to_string(),
            ));
        }
        entries.push((term, entry));
    }
    if entries.is_empty() {
        return Err(JournalError::Corrupt {
            file: name.to_string(),
            offset: 0,
            reason: "empty batch object".to_string(),
        });
    }
    Ok(Batch { first_seq, entries })
}

/// Reads the batch starting at `seq`; `None` if that slot is empty.
pub async fn read_batch(store: &JournalStore, seq: u64) -> Result<Option<Batch>, JournalError> {
    let name = log_name(seq);
    match store.read(&name).await? {
        Some(data) => decode_batch(&name, seq, data).map(Some),
        None => Ok(None),
    }
}

/// What lies beyond the first empty slot.
#[derive(Debug, PartialEq, Eq)]
pub enum Tail {
    /// Nothing: the slot is the true end of the log.
    End,
    /// The log was garbage-collected under us; reload from this checkpoint.
    NewerCheckpoint(u64),
}

/// Checks that the empty slot `seq` really is the end of the log. A later
/// batch means either a garbage-collection race (a checkpoint covers the
/// slot) or a hole in the journal, which is an error: taking the slot would
/// fork history.
pub async fn check_tail(store: &JournalStore, seq: u64) -> Result<Tail, JournalError> {
    let later = store
        .list(LOG_DIR)
        .await?
        .into_iter()
        .filter_map(|n| parse_seq(&n))
        .find(|s| *s > seq);
    let Some(later) = later else {
        return Ok(Tail::End);
    };
    let newest_checkpoint = store
        .list(CHECKPOINT_DIR)
        .await?
        .into_iter()
        .filter_map(|n| parse_seq(&n))
        .max();
    match newest_checkpoint {
        Some(cp) if cp >= seq => Ok(Tail::NewerCheckpoint(cp)),
        _ => Err(JournalError::Gap {
            expected: log_name(seq),
            found: log_name(later),
        }),
    }
}
