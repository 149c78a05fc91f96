//! Rebuilding the namespace from the journal: the newest checkpoint, then
//! the log after it.
//!
//! The log is read object by object in sequence order. An object holds
//! entries from the sequence number in its name on; they are valid up to the
//! start of the next object of the same or a newer term. What an old term
//! wrote past that point (a fenced leader still appending, see `terms.rs`)
//! is void, and an object of an older term that starts after a newer term
//! began is a fenced leader's and skipped whole. A frame cut short at the
//! very end of the log is a torn write that was never acknowledged (only a
//! store that appends can have one); anywhere else a bad frame is corruption
//! and a missing range is a gap — both stop replay with the object and
//! offset.

use std::collections::HashMap;

use alluxio_proto::journal::JournalEntry;
use bytes::Bytes;
use futures::StreamExt;

use crate::namespace::Namespace;
use alluxio_journal::checkpoint;
use alluxio_journal::reader::{self, Cursor, Decoder};
use alluxio_journal::{format, log_name, JournalError, JournalStore, LOG_DIR};

/// How a read of the log ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Tail {
    /// At the end of the log.
    End,
    /// The log was garbage-collected under the reader; reload from this
    /// checkpoint.
    NewerCheckpoint(u64),
    /// Entries this namespace applied were voided by a newer term (a standby
    /// that read a fenced leader's last writes); rebuild it.
    Diverged,
}

/// A namespace rebuilt from the journal, and where in the log its last
/// entry was read: a standby's follow position, kept here rather than in
/// the namespace, which holds only replicated state.
pub struct Replica {
    /// The state.
    pub ns: Namespace,
    /// Where the last applied entry came from (`None` after a checkpoint
    /// load, and for a namespace not read from the log).
    cursor: Option<Cursor>,
}

impl Replica {
    /// A replica of `ns`, whose position in the log is not known: the next
    /// [`catch_up`] finds the object holding its next entry by listing.
    pub fn new(ns: Namespace) -> Replica {
        Replica { ns, cursor: None }
    }
}

/// Replays the journal in `store` into a fresh namespace.
pub async fn recover(store: &JournalStore) -> Result<Namespace, JournalError> {
    Ok(replay(store).await?.ns)
}

/// Replays the journal in `store` into a fresh replica, ready to follow.
pub async fn replay(store: &JournalStore) -> Result<Replica, JournalError> {
    format::check(store).await?;
    loop {
        let mut replica = match checkpoint::latest(store).await? {
            Some(seq) => {
                alluxio_common::failpoint::pause("replay_before_checkpoint_read", "checkpoint");
                match load_checkpoint(store, seq).await {
                    Ok(ns) => Replica::new(ns),
                    // The leader published a newer one and collected this.
                    Err(JournalError::Vanished { name }) => {
                        tracing::info!(
                            "checkpoint {name} was collected while being read; \
                             reading the newer one"
                        );
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            None => Replica::new(Namespace::new()),
        };
        match catch_up(store, &mut replica).await? {
            Tail::End => return Ok(replica),
            Tail::NewerCheckpoint(_) => tracing::info!(
                "journal was compacted during replay; restarting from the new checkpoint"
            ),
            Tail::Diverged => tracing::warn!("journal changed under replay; replaying again"),
        }
    }
}

/// Objects read ahead during bulk replay on an object store (many small
/// batch objects) and on an appending store (few segments of up to 64 MiB,
/// or a version 1 folder's small batch objects).
const READ_AHEAD_OBJECTS: usize = 16;
const READ_AHEAD_SEGMENTS: usize = 4;

/// Applies everything after `replica.ns.last_seq()` up to the end of the
/// log, as the listing taken now shows it. A new leader calls this after
/// claiming its term, so nothing a fenced leader acknowledged can be
/// missing.
pub async fn catch_up(store: &JournalStore, replica: &mut Replica) -> Result<Tail, JournalError> {
    let Replica { ns, cursor } = replica;
    let objects = store.list_seqs(LOG_DIR).await?;
    let next = ns.last_seq() + 1;
    // An object of the cursor's term or newer starting inside what this
    // namespace applied means some of it was void.
    if let Some(c) = *cursor {
        for &s in objects
            .iter()
            .filter(|s| **s > c.start && **s <= ns.last_seq())
        {
            let name = log_name(s);
            if let Some(data) = store.read(&name).await? {
                if reader::first_term(&name, &data)? >= c.term {
                    return Ok(Tail::Diverged);
                }
            }
        }
    }
    // The object holding `next`: the cursor's, else the last one starting
    // at or before it.
    let at_cursor = cursor.and_then(|c| Some((objects.binary_search(&c.start).ok()?, c)));
    let (mut i, mut offset, mut term) = match at_cursor {
        Some((i, c)) => (i, c.offset, Some(c.term)),
        None => match objects.iter().rposition(|s| *s <= next) {
            Some(i) => (i, 0, None),
            None => {
                return match objects.first() {
                    None => Ok(Tail::End),
                    Some(&first) => gap_or_checkpoint(store, next, first).await,
                }
            }
        },
    };
    let depth = if store.appends() {
        READ_AHEAD_SEGMENTS
    } else {
        READ_AHEAD_OBJECTS
    };
    let mut ahead = futures::stream::iter(objects[i + 1..].to_vec())
        .map(|s| async move { (s, store.read(&log_name(s)).await) })
        .buffered(depth);
    let mut fetched: HashMap<u64, Option<Bytes>> = HashMap::new();
    let mut first = Some(store.read_from(&log_name(objects[i]), offset).await?);
    loop {
        let start = objects[i];
        let name = log_name(start);
        let data = match first.take() {
            Some(d) => d,
            None => fetched.remove(&start).flatten(),
        };
        let Some(data) = data else {
            // Deleted under us: a checkpoint must cover it.
            return gap_or_checkpoint(store, ns.last_seq() + 1, start).await;
        };
        let term = match term.take() {
            Some(t) => t,
            None => reader::first_term(&name, &data)?,
        };
        if term < ns.term() {
            // An old term's object in a slot below the newer term's state:
            // a fenced leader published it after garbage collection had
            // deleted the newer object there. Void.
            tracing::warn!(
                "skipping journal object {name}: written in term {term}, older than \
                 term {} of the state it would follow (a fenced leader's)",
                ns.term()
            );
            let Some(&next_start) = objects.get(i + 1) else {
                return Ok(Tail::End);
            };
            if !fetched.contains_key(&next_start) {
                while let Some((got, read)) = ahead.next().await {
                    fetched.insert(got, read?);
                    if got == next_start {
                        break;
                    }
                }
            }
            i += 1;
            offset = 0;
            continue;
        }
        // The next object this one's entries run up to: strays of older
        // terms are skipped.
        let mut following = None;
        for (j, &s) in objects.iter().enumerate().skip(i + 1) {
            if !fetched.contains_key(&s) {
                while let Some((got, read)) = ahead.next().await {
                    fetched.insert(got, read?);
                    if got == s {
                        break;
                    }
                }
            }
            let Some(Some(d)) = fetched.get(&s) else {
                continue; // deleted meanwhile: the checkpoint check sorts it out
            };
            let t = reader::first_term(&log_name(s), d)?;
            if t >= term {
                following = Some(j);
                break;
            }
            tracing::warn!(
                "skipping journal object {}: written in term {t} after term {term} began                  (a fenced leader's)",
                log_name(s)
            );
            fetched.remove(&s);
        }
        let limit = following.map(|j| objects[j]);
        let first_seq = if offset == 0 {
            start
        } else {
            ns.last_seq() + 1
        };
        apply_object(
            store,
            ns,
            cursor,
            &name,
            start,
            first_seq,
            term,
            limit,
            reader::decode(data, offset),
            Reading::Listed,
        )?;
        match following {
            Some(j) => {
                if ns.last_seq() + 1 < objects[j] {
                    return gap_or_checkpoint(store, ns.last_seq() + 1, objects[j]).await;
                }
                i = j;
                offset = 0;
            }
            None => return Ok(Tail::End),
        }
    }
}

/// How a bad frame at the end of what is read is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The log as listed: a cut-short frame at the very end of a local
    /// log is a torn write (a warning); anywhere else it is damage.
    Listed,
    /// A standby's poll: a cut-short frame is one still being written.
    Following,
}

/// Applies the entries of object `name` (starting at `start`, of `term`)
/// decoded from the one numbered `first_seq` on, up to `limit`, the start of
/// the next valid object.
#[allow(clippy::too_many_arguments)]
fn apply_object(
    store: &JournalStore,
    ns: &mut Namespace,
    cursor: &mut Option<Cursor>,
    name: &str,
    start: u64,
    first_seq: u64,
    term: u64,
    limit: Option<u64>,
    frames: Decoder,
    reading: Reading,
) -> Result<(), JournalError> {
    let mut seq = first_seq;
    for frame in frames {
        // Past the point where the next object took over: void.
        if limit.is_some_and(|l| seq >= l) {
            return Ok(());
        }
        let bad = match frame {
            Ok(frame) => {
                if seq > ns.last_seq() {
                    apply_entry(ns, name, seq, frame.term, &frame.entry)?;
                    *cursor = Some(Cursor {
                        start,
                        offset: frame.end,
                        term,
                    });
                }
                seq += 1;
                continue;
            }
            Err(bad) => bad,
        };
        let torn = bad.truncated && limit.is_none() && store.appends();
        return match reading {
            Reading::Following if bad.truncated => Ok(()),
            Reading::Listed if torn => {
                tracing::warn!(
                    "journal object {name} ends in a torn write at offset {} ({}); \
                     it was never acknowledged and is ignored",
                    bad.offset,
                    bad.reason
                );
                Ok(())
            }
            _ => Err(bad.error(name)),
        };
    }
    Ok(())
}

/// Applies one entry, checking that terms never go backwards.
fn apply_entry(
    ns: &mut Namespace,
    name: &str,
    seq: u64,
    term: u64,
    entry: &JournalEntry,
) -> Result<(), JournalError> {
    let corrupt = |reason: String| JournalError::Corrupt {
        file: name.to_string(),
        offset: 0,
        reason: format!("entry {seq}: {reason}"),
    };
    if term < ns.term() {
        return Err(corrupt(format!("term {term} after term {}", ns.term())));
    }
    ns.apply(seq, term, entry).map_err(corrupt)
}

/// Entries from `expected` on are missing while `found` exists: the log was
/// compacted under the reader if a checkpoint covers them, else it has a
/// hole, and taking the slot would fork history.
async fn gap_or_checkpoint(
    store: &JournalStore,
    expected: u64,
    found: u64,
) -> Result<Tail, JournalError> {
    match checkpoint::latest(store).await? {
        Some(cp) if cp >= expected => Ok(Tail::NewerCheckpoint(cp)),
        _ => Err(JournalError::Gap {
            expected: log_name(expected),
            found: log_name(found),
        }),
    }
}

/// A standby's poll: applies what was appended to the current object and
/// any objects published at the next slots, by point reads only. What it
/// applies may still be voided by a newer term; [`catch_up`], run every
/// second, notices (`Tail::Diverged`). Returns whether anything was applied.
pub async fn follow(store: &JournalStore, replica: &mut Replica) -> Result<bool, JournalError> {
    let Replica { ns, cursor } = replica;
    let mut advanced = false;
    if let (Some(c), true) = (*cursor, store.appends()) {
        let name = log_name(c.start);
        if let Some(data) = store.read_from(&name, c.offset).await? {
            let before = ns.last_seq();
            let frames = reader::decode(data, c.offset);
            apply_object(
                store,
                ns,
                cursor,
                &name,
                c.start,
                before + 1,
                c.term,
                None,
                frames,
                Reading::Following,
            )?;
            advanced |= ns.last_seq() > before;
        }
    }
    loop {
        let start = ns.last_seq() + 1;
        let name = log_name(start);
        let Some(data) = store.read(&name).await? else {
            return Ok(advanced);
        };
        let term = reader::first_term(&name, &data)?;
        if term < ns.term() {
            return Ok(advanced); // a fenced leader's object: catch_up skips it
        }
        let frames = reader::decode(data, 0);
        apply_object(
            store,
            ns,
            cursor,
            &name,
            start,
            start,
            term,
            None,
            frames,
            Reading::Following,
        )?;
        advanced = true;
    }
}

/// Reads checkpoint `seq` into a fresh namespace.
async fn load_checkpoint(store: &JournalStore, seq: u64) -> Result<Namespace, JournalError> {
    let (header, records) = checkpoint::read(store, seq).await?;
    let name = alluxio_journal::checkpoint_name(seq);
    let ns =
        Namespace::from_checkpoint(&header, records).map_err(|reason| JournalError::Corrupt {
            file: name.clone(),
            offset: 0,
            reason,
        })?;
    tracing::info!("loaded checkpoint {name} ({} inodes)", ns.inode_count());
    Ok(ns)
}
