//! Term claims: how a new leader fences an old one.
//!
//! Slot fencing (publish create-if-absent at the next sequence number) stops
//! a zombie that publishes every batch as a new object only while the slot
//! stays taken: once a checkpoint covers it, garbage collection deletes the
//! newer term's object and the slot is open again (decision 0011). A leader
//! that appends to an open segment publishes nothing per batch. So a new leader
//! first *claims* its term by publishing `terms/<term>` create-if-absent,
//! and only then reads the log to its end. The old leader checks after every
//! durable write that `terms/<its term + 1>` does not exist before it
//! acknowledges anything. A batch whose check came before the claim was
//! durable before the new leader started reading, so the new leader has it;
//! a batch written later may be lost, but was never acknowledged. Replay
//! ignores what an old term wrote past the start of the next term's segment.
//!
//! Terms are claimed densely (one above the highest claim or term seen), so
//! checking the next term alone is enough; claims are never deleted.

use bytes::Bytes;

use super::error::JournalError;
use super::store::{JournalStore, Publish};

/// Folder of term claims.
pub const TERMS_DIR: &str = "terms";

/// Object name of the claim of `term`.
pub fn claim_name(term: u64) -> String {
    format!("{TERMS_DIR}/{term:020}")
}

/// The highest claimed term, if any.
pub async fn highest_claim(store: &JournalStore) -> Result<Option<u64>, JournalError> {
    Ok(store.list_seqs(TERMS_DIR).await?.last().copied())
}

/// Claims the lowest term above both `known` (the newest term in the log
/// this master replayed) and every existing claim. `owner` is recorded in
/// the claim for operators.
pub async fn claim_next(
    store: &JournalStore,
    known: u64,
    owner: &str,
) -> Result<u64, JournalError> {
    for _ in 0..100 {
        let term = highest_claim(store).await?.unwrap_or(0).max(known) + 1;
        let text = format!("term={term}\nowner={owner}\n");
        match store.publish(&claim_name(term), Bytes::from(text)).await? {
            Publish::Published => return Ok(term),
            Publish::Taken => continue,
        }
    }
    Err(JournalError::io(
        store.describe(),
        "could not claim a new term: other masters keep claiming them",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn claims_are_dense_and_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
        assert_eq!(highest_claim(&store).await.unwrap(), None);
        assert_eq!(claim_next(&store, 3, "a").await.unwrap(), 4);
        // A master that replayed less still claims above every claim.
        assert_eq!(claim_next(&store, 1, "b").await.unwrap(), 5);
        assert_eq!(claim_next(&store, 7, "c").await.unwrap(), 8);
        assert_eq!(highest_claim(&store).await.unwrap(), Some(8));
        assert!(store.exists(&claim_name(5)).await.unwrap());
        assert!(!store.exists(&claim_name(6)).await.unwrap());
    }
}
