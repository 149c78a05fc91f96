//! Journal behaviour in-process, on both kinds of store — a local folder
//! (segments appended by one leader, fenced by term claims) and an object
//! store (opendal's fs service: one object per batch, fenced by slots):
//! group commit, fencing of an old writer, replay equality, a standby that
//! follows the tail, checkpoints with garbage collection, torn writes, and
//! corruption reports naming file and offset.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use alluxio_journal::{format, log_name, terms, JournalError, JournalStore, JournalWriter};
use alluxio_master::checkpointer::checkpoint_now;
use alluxio_master::namespace::Namespace;
use alluxio_master::recovery::{catch_up, follow, recover, replay, Tail};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{
    ufs_intent, ufs_step, CreateInode, DeleteIntent, InodeRecord, JournalEntry, TermStart,
    UfsIntent, UfsIntentDone, UfsIntentProgress, UfsMove, UfsStep,
};
use alluxio_proto::FileType;

fn term_start(term: u64) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::TermStart(TermStart {
            term,
            address: "test".into(),
            time_ms: 0,
        })),
    }
}

fn dir(id: u64, parent: u64, name: &str) -> JournalEntry {
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
                persisted: true,
                ..Default::default()
            }),
        })),
    }
}

async fn formatted() -> (tempfile::TempDir, JournalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
    format::format(&store).await.unwrap();
    (dir, store)
}

/// A formatted journal on an object store that cannot append.
async fn formatted_objects() -> (tempfile::TempDir, JournalStore) {
    let dir = tempfile::tempdir().unwrap();
    let op =
        opendal::Operator::new(opendal::services::Fs::default().root(dir.path().to_str().unwrap()))
            .unwrap();
    let store = JournalStore::from_operator(op, dir.path().display().to_string());
    assert!(!store.appends());
    format::format(&store).await.unwrap();
    (dir, store)
}

/// Both kinds of store.
async fn both() -> Vec<(&'static str, tempfile::TempDir, JournalStore)> {
    let (a, sa) = formatted().await;
    let (b, sb) = formatted_objects().await;
    assert!(sa.appends());
    vec![("local", a, sa), ("objects", b, sb)]
}

/// Applies and journals `entries` like the master does.
async fn commit(
    ns: &RwLock<Namespace>,
    w: &JournalWriter,
    entries: Vec<JournalEntry>,
) -> Result<(), JournalError> {
    let fut = {
        let mut ns = ns.write().unwrap();
        let first = ns.last_seq() + 1;
        for (i, e) in entries.iter().enumerate() {
            ns.apply(first + i as u64, w.term(), e).unwrap();
        }
        w.append(first, entries)
    };
    fut.await
}

fn snapshot(ns: &Namespace) -> Vec<(u64, u64, String)> {
    let mut v: Vec<_> = (1..10_000)
        .filter_map(|id| ns.inode(id).map(|i| (i.id, i.parent_id, i.name.clone())))
        .collect();
    v.sort();
    v
}

async fn objects(store: &JournalStore) -> Vec<String> {
    store.list("log").await.unwrap()
}

/// A writer of term 1 with the root directory journaled.
async fn first_term(store: &JournalStore) -> (Arc<RwLock<Namespace>>, JournalWriter) {
    let ns = Arc::new(RwLock::new(Namespace::new()));
    terms::claim_next(store, 0, "test").await.unwrap();
    let w = JournalWriter::start(store.clone(), 1, 1);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    (ns, w)
}

/// What a new leader does: claim, read to the end, publish its TermStart.
async fn take_over(store: &JournalStore) -> (Namespace, JournalWriter) {
    let mut replica = replay(store).await.unwrap();
    let term = terms::claim_next(store, replica.ns.term(), "new")
        .await
        .unwrap();
    assert_eq!(catch_up(store, &mut replica).await.unwrap(), Tail::End);
    let mut ns = replica.ns;
    let next = ns.last_seq() + 1;
    let w = JournalWriter::start(store.clone(), term, next);
    ns.apply(next, term, &term_start(term)).unwrap();
    w.append(next, vec![term_start(term)]).await.unwrap();
    (ns, w)
}

#[tokio::test]
async fn group_commit_replays_to_the_same_state() {
    for (kind, _d, store) in both().await {
        let (ns, w) = first_term(&store).await;
        let mut tasks = Vec::new();
        for i in 0..200u64 {
            let (ns, w) = (ns.clone(), w.clone());
            tasks.push(tokio::spawn(async move {
                commit(&ns, &w, vec![dir(100 + i, 1, &format!("d{i}"))]).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let count = objects(&store).await.len();
        if store.appends() {
            assert_eq!(count, 1, "{kind}: one segment");
        } else {
            assert!(count < 201, "{kind}: no grouping happened: {count} batches");
        }
        let replayed = recover(&store).await.unwrap();
        assert_eq!(replayed.last_seq(), 202, "{kind}");
        assert_eq!(snapshot(&replayed), snapshot(&ns.read().unwrap()), "{kind}");
    }
}

#[tokio::test]
async fn a_fenced_writer_acknowledges_nothing() {
    for (kind, _d, store) in both().await {
        let (ns, old) = first_term(&store).await;
        commit(&ns, &old, vec![dir(2, 1, "before")]).await.unwrap();
        // A healthy writer has not stopped, however many batches it makes.
        assert!(
            tokio::time::timeout(Duration::from_millis(100), old.stopped())
                .await
                .is_err(),
            "{kind}"
        );

        // A new leader claims term 2, reads to the end and opens its term.
        let (new_ns, new) = take_over(&store).await;
        assert_eq!(new.term(), 2, "{kind}");

        // The old leader's next write is refused: on an object store its
        // slot is taken, on a local folder it sees the claim after its
        // append (which replay then ignores).
        let err = commit(&ns, &old, vec![dir(3, 1, "zombie")])
            .await
            .unwrap_err();
        assert!(matches!(err, JournalError::Fenced { .. }), "{kind}: {err}");
        // ...and so is everything after it, without touching the journal.
        let next = ns.read().unwrap().last_seq() + 1;
        let err = old.append(next, vec![dir(4, 1, "z2")]).await.unwrap_err();
        assert!(matches!(err, JournalError::Fenced { .. }), "{kind}: {err}");
        // The fenced writer has stopped (what makes its master step down).
        tokio::time::timeout(Duration::from_secs(5), old.stopped())
            .await
            .unwrap_or_else(|_| panic!("{kind}: the fenced writer did not stop"));

        // The new leader keeps going past the void entries' numbers.
        let new_ns = RwLock::new(new_ns);
        commit(&new_ns, &new, vec![dir(5, 1, "after")])
            .await
            .unwrap();
        commit(&new_ns, &new, vec![dir(6, 1, "after2")])
            .await
            .unwrap();
        let replayed = recover(&store).await.unwrap();
        assert!(
            replayed.resolve(&"/zombie".parse_path()).is_err(),
            "{kind}: zombie entry was replayed"
        );
        assert!(replayed.resolve(&"/before".parse_path()).is_ok(), "{kind}");
        assert_eq!(replayed.term(), 2, "{kind}");
        assert_eq!(
            snapshot(&replayed),
            snapshot(&new_ns.read().unwrap()),
            "{kind}"
        );
    }
}

/// A write the old leader made after the claim but before the new leader
/// read the log is durable and in the log: it was not acknowledged, and the
/// new leader has it (a client's retry finds it in the retry cache).
#[tokio::test]
async fn a_write_between_claim_and_read_is_kept_by_the_new_leader() {
    let (_d, store) = formatted().await;
    let (ns, old) = first_term(&store).await;
    let mut replica = replay(&store).await.unwrap();
    let term = terms::claim_next(&store, replica.ns.term(), "new")
        .await
        .unwrap();
    let err = commit(&ns, &old, vec![dir(3, 1, "late")])
        .await
        .unwrap_err();
    assert!(matches!(err, JournalError::Fenced { .. }), "{err}");
    assert_eq!(catch_up(&store, &mut replica).await.unwrap(), Tail::End);
    let mut new_ns = replica.ns;
    assert!(new_ns.resolve(&"/late".parse_path()).is_ok());
    let next = new_ns.last_seq() + 1;
    let w = JournalWriter::start(store.clone(), term, next);
    new_ns.apply(next, term, &term_start(term)).unwrap();
    w.append(next, vec![term_start(term)]).await.unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(snapshot(&replayed), snapshot(&new_ns));
}

/// A standby follows appends to the open segment and across segments by
/// point reads; entries a newer term voided are noticed and rebuilt.
#[tokio::test]
async fn a_standby_follows_the_tail_and_notices_void_entries() {
    let (_d, store) = formatted().await;
    let (ns, old) = first_term(&store).await;
    let mut standby = replay(&store).await.unwrap();
    for i in 0..5u64 {
        commit(&ns, &old, vec![dir(10 + i, 1, &format!("a{i}"))])
            .await
            .unwrap();
        assert!(follow(&store, &mut standby).await.unwrap());
        assert_eq!(standby.ns.last_seq(), ns.read().unwrap().last_seq());
    }
    // A new segment (as before a checkpoint); the standby finds it at its
    // slot.
    old.end_segment();
    commit(&ns, &old, vec![dir(20, 1, "b")]).await.unwrap();
    assert_eq!(objects(&store).await.len(), 2);
    assert!(follow(&store, &mut standby).await.unwrap());
    assert!(!follow(&store, &mut standby).await.unwrap());
    assert_eq!(snapshot(&standby.ns), snapshot(&ns.read().unwrap()));

    // A new leader takes over; the old one then appends an entry that the
    // standby reads before it sees the new term: void, noticed by the
    // listing check, and rebuilt away.
    let (new_ns, new) = take_over(&store).await;
    let err = commit(&ns, &old, vec![dir(21, 1, "void")])
        .await
        .unwrap_err();
    assert!(matches!(err, JournalError::Fenced { .. }), "{err}");
    follow(&store, &mut standby).await.unwrap();
    assert!(standby.ns.resolve(&"/void".parse_path()).is_ok());
    assert_eq!(
        catch_up(&store, &mut standby).await.unwrap(),
        Tail::Diverged
    );
    let mut standby = replay(&store).await.unwrap();
    assert!(standby.ns.resolve(&"/void".parse_path()).is_err());
    let new_ns = RwLock::new(new_ns);
    commit(&new_ns, &new, vec![dir(22, 1, "c")]).await.unwrap();
    assert!(follow(&store, &mut standby).await.unwrap());
    assert_eq!(snapshot(&standby.ns), snapshot(&new_ns.read().unwrap()));
    assert_eq!(catch_up(&store, &mut standby).await.unwrap(), Tail::End);
}

/// Segments close once past their size limit; replay and a standby that
/// follows the tail go across them, and garbage collection removes only
/// the covered ones.
#[tokio::test]
async fn segments_roll_at_their_size_limit() {
    let (_d, store) = formatted().await;
    let ns = Arc::new(RwLock::new(Namespace::new()));
    terms::claim_next(&store, 0, "test").await.unwrap();
    let w = JournalWriter::start_with_segments_of(store.clone(), 1, 1, 2048);
    commit(&ns, &w, vec![term_start(1), dir(1, 0, "")])
        .await
        .unwrap();
    let mut standby = replay(&store).await.unwrap();
    for i in 0..200u64 {
        commit(&ns, &w, vec![dir(10 + i, 1, &format!("a{i}"))])
            .await
            .unwrap();
        if i % 50 == 0 {
            follow(&store, &mut standby).await.unwrap();
        }
    }
    let count = objects(&store).await.len();
    assert!(count >= 4, "only {count} segments");
    follow(&store, &mut standby).await.unwrap();
    assert_eq!(standby.ns.last_seq(), 202);
    assert_eq!(snapshot(&standby.ns), snapshot(&ns.read().unwrap()));
    assert_eq!(catch_up(&store, &mut standby).await.unwrap(), Tail::End);
    let replayed = recover(&store).await.unwrap();
    assert_eq!(snapshot(&replayed), snapshot(&ns.read().unwrap()));
    assert_eq!(checkpoint_now(&ns, &w, &store).await.unwrap(), 202);
    assert_eq!(objects(&store).await.len(), 1, "covered segments remain");
    commit(&ns, &w, vec![dir(500, 1, "after")]).await.unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(snapshot(&replayed), snapshot(&ns.read().unwrap()));
}

trait ParsePath {
    fn parse_path(&self) -> alluxio_common::AlluxioPath;
}
impl ParsePath for str {
    fn parse_path(&self) -> alluxio_common::AlluxioPath {
        alluxio_common::AlluxioPath::parse(self).unwrap()
    }
}

#[tokio::test]
async fn checkpoint_collects_garbage_and_replays() {
    for (kind, _d, store) in both().await {
        let (ns, w) = first_term(&store).await;
        for i in 0..50u64 {
            commit(&ns, &w, vec![dir(10 + i, 1, &format!("a{i}"))])
                .await
                .unwrap();
        }
        let cp = checkpoint_now(&ns, &w, &store).await.unwrap();
        assert_eq!(cp, 52, "{kind}");
        // Only the object holding the checkpoint's last entry stays, until
        // the next one exists.
        assert_eq!(objects(&store).await.len(), 1, "{kind}");
        for i in 0..5u64 {
            commit(&ns, &w, vec![dir(100 + i, 1, &format!("b{i}"))])
                .await
                .unwrap();
        }
        let replayed = recover(&store).await.unwrap();
        assert_eq!(replayed.last_seq(), 57, "{kind}");
        assert_eq!(snapshot(&replayed), snapshot(&ns.read().unwrap()), "{kind}");
        assert_eq!(checkpoint_now(&ns, &w, &store).await.unwrap(), 57, "{kind}");
        let left = objects(&store).await;
        assert_eq!(left.len(), 1, "{kind}: {left:?}");
        let replayed = recover(&store).await.unwrap();
        assert_eq!(snapshot(&replayed), snapshot(&ns.read().unwrap()), "{kind}");
    }
}

/// Offsets of the frames of a log object.
fn frame_offsets(data: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 16 <= data.len() {
        out.push(pos);
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 16 + len;
    }
    out
}

fn rewrite(path: &std::path::Path, data: &[u8]) {
    // A new inode: the writer's open segment is left alone.
    std::fs::remove_file(path).unwrap();
    std::fs::write(path, data).unwrap();
}

#[tokio::test]
async fn corruption_is_reported_with_file_and_offset() {
    for (kind, d, store) in both().await {
        let (ns, w) = first_term(&store).await;
        commit(&ns, &w, vec![dir(2, 1, "x"), dir(3, 1, "y")])
            .await
            .unwrap();
        // Entry 5 in an object of its own: what precedes it is mid-log.
        w.end_segment();
        commit(&ns, &w, vec![dir(4, 1, "z")]).await.unwrap();
        // The object holding entry 3: the segment from 1, or batch 3.
        let name = if store.appends() {
            log_name(1)
        } else {
            log_name(3)
        };
        let path = d.path().join(&name);
        let data = std::fs::read(&path).unwrap();
        let offsets = frame_offsets(&data);
        let victim = if store.appends() {
            offsets[2]
        } else {
            offsets[0]
        };
        let mut bad = data.clone();
        bad[victim + 20] ^= 1;
        rewrite(&path, &bad);
        let err = recover(&store).await.unwrap_err().to_string();
        assert!(
            err.contains(&name)
                && err.contains(&format!("offset {victim}"))
                && err.contains("checksum"),
            "{kind}: {err}"
        );
        // An object cut short before the log's end is damage too (at the
        // very end it would be a torn write, below).
        rewrite(&path, &data[..data.len() - 3]);
        let err = recover(&store).await.unwrap_err().to_string();
        assert!(
            err.contains("truncated") && err.contains(&name),
            "{kind}: {err}"
        );
        rewrite(&path, &data);
        assert_eq!(recover(&store).await.unwrap().last_seq(), 5, "{kind}");
    }
}

/// On a local folder the last frame of the log cut short is a write the
/// crash interrupted, never acknowledged: replay stops before it, and the
/// next term starts there.
#[tokio::test]
async fn a_torn_last_write_is_ignored_and_overwritten_by_the_next_term() {
    let (d, store) = formatted().await;
    let (ns, w) = first_term(&store).await;
    commit(&ns, &w, vec![dir(2, 1, "x")]).await.unwrap();
    commit(&ns, &w, vec![dir(3, 1, "torn")]).await.unwrap();
    drop(w);
    let path = d.path().join(log_name(1));
    let data = std::fs::read(&path).unwrap();
    for cut in [1, 10, 17, 25] {
        rewrite(&path, &data[..data.len() - cut]);
        let replayed = recover(&store).await.unwrap();
        assert_eq!(replayed.last_seq(), 3, "cut {cut}");
        assert!(replayed.resolve(&"/torn".parse_path()).is_err());
    }
    let (new_ns, new) = take_over(&store).await;
    assert_eq!(new_ns.last_seq(), 4);
    let new_ns = RwLock::new(new_ns);
    commit(&new_ns, &new, vec![dir(5, 1, "after")])
        .await
        .unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(snapshot(&replayed), snapshot(&new_ns.read().unwrap()));
    assert!(replayed.resolve(&"/torn".parse_path()).is_err());
}

/// An object of an older term published after a newer term began (a fenced
/// leader's) is skipped, not applied.
#[tokio::test]
async fn an_older_terms_object_after_a_newer_term_is_skipped() {
    let (_d, store) = formatted().await;
    let (_ns, _old) = first_term(&store).await;
    let (new_ns, new) = take_over(&store).await;
    let new_ns = RwLock::new(new_ns);
    commit(&new_ns, &new, vec![dir(5, 1, "a")]).await.unwrap();
    let stray_seq = new_ns.read().unwrap().last_seq() + 1;
    // Term 1 writes into the slot after the new term's last entry.
    let stray = JournalWriter::start(store.clone(), 1, stray_seq);
    let _ = stray.append(stray_seq, vec![dir(6, 1, "stray")]).await;
    assert!(store.exists(&log_name(stray_seq)).await.unwrap());
    commit(&new_ns, &new, vec![dir(7, 1, "b")]).await.unwrap();
    let replayed = recover(&store).await.unwrap();
    assert!(replayed.resolve(&"/stray".parse_path()).is_err());
    assert_eq!(snapshot(&replayed), snapshot(&new_ns.read().unwrap()));
}

#[tokio::test]
async fn a_gap_in_the_log_is_an_error() {
    for (kind, d, store) in both().await {
        let (ns, w) = first_term(&store).await;
        w.end_segment();
        commit(&ns, &w, vec![dir(2, 1, "x")]).await.unwrap();
        w.end_segment();
        commit(&ns, &w, vec![dir(3, 1, "y")]).await.unwrap();
        assert_eq!(objects(&store).await.len(), 3, "{kind}");
        std::fs::remove_file(d.path().join(log_name(3))).unwrap();
        let err = recover(&store).await.unwrap_err();
        assert!(matches!(err, JournalError::Gap { .. }), "{kind}: {err}");
    }
}

#[tokio::test]
async fn unformatted_and_future_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = JournalStore::open(dir.path().to_str().unwrap(), &Default::default()).unwrap();
    let err = recover(&store).await.unwrap_err().to_string();
    assert!(
        err.contains("not formatted") && err.contains("alluxio format"),
        "{err}"
    );
}

#[tokio::test]
async fn retry_cache_survives_replay_and_checkpoints() {
    let (_d, store) = formatted().await;
    let (ns, w) = first_term(&store).await;
    let op = |n: u64| alluxio_proto::OperationId { high: 7, low: n };
    let with_op = |mut e: JournalEntry, n: u64| {
        e.op_id = Some(op(n));
        e.op_result = 1000 + n;
        e
    };
    commit(&ns, &w, vec![with_op(dir(2, 1, "a"), 1)])
        .await
        .unwrap();
    checkpoint_now(&ns, &w, &store).await.unwrap();
    commit(&ns, &w, vec![with_op(dir(3, 1, "b"), 2)])
        .await
        .unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(
        replayed.retried(&op(1)),
        Some(1001),
        "lost through the checkpoint"
    );
    assert_eq!(replayed.retried(&op(2)), Some(1002), "lost through replay");
    assert_eq!(replayed.retried(&op(3)), None);
}

fn file(id: u64, parent: u64, name: &str, container_id: u64) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(Entry::CreateInode(CreateInode {
            inode: Some(InodeRecord {
                id,
                parent_id: parent,
                name: name.into(),
                file_type: FileType::Regular as i32,
                nlink: 1,
                mode: 0o644,
                block_size: 1 << 20,
                container_id,
                ..Default::default()
            }),
        })),
    }
}

fn entry(e: Entry) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(e),
    }
}

/// Every inode record and directory entry, for exact state comparison.
fn full_state(ns: &Namespace) -> Vec<(InodeRecord, Vec<(String, u64)>)> {
    (1..10_000)
        .filter_map(|id| ns.inode(id))
        .map(|i| {
            let entries = ns
                .children(i.id)
                .map(|c| c.iter().map(|(n, id)| (n.clone(), *id)).collect())
                .unwrap_or_default();
            (i.clone(), entries)
        })
        .collect()
}

/// The entries added for POSIX semantics (new versions in place, hard
/// links, exchange)
/// replay from the log and from a checkpoint to the same state.
#[tokio::test]
async fn posix_entries_replay_and_checkpoint() {
    use alluxio_proto::journal::{
        AddLink, CompleteFile, ExchangeEntries, NewVersion, RemoveEntry, RenameEntry,
    };
    let (_d, store) = formatted().await;
    let (ns, w) = first_term(&store).await;
    let complete = |length| {
        entry(Entry::CompleteFile(CompleteFile {
            id: 2,
            length,
            mtime_ns: 5,
            persisted: true,
        }))
    };
    commit(&ns, &w, vec![file(2, 1, "f", 1), complete(10)])
        .await
        .unwrap();
    let version = entry(Entry::NewVersion(NewVersion {
        id: 2,
        container_id: 7,
        block_size: 4096,
        mtime_ns: 9,
    }));
    commit(&ns, &w, vec![version]).await.unwrap();
    {
        let ns = ns.read().unwrap();
        let f = ns.inode(2).unwrap();
        assert_eq!((f.container_id, f.length, f.completed), (7, 0, false));
        assert_eq!(f.block_size, 4096);
    }
    // Hard links: a file with three names, its primary entry unlinked and
    // a secondary one renamed.
    let link = |parent_id, name: &str| {
        entry(Entry::AddLink(AddLink {
            id: 3,
            parent_id,
            name: name.into(),
            time_ns: 11,
        }))
    };
    commit(
        &ns,
        &w,
        vec![
            dir(4, 1, "sub"),
            file(3, 1, "g", 2),
            link(4, "g2"),
            link(1, "g3"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ns.read().unwrap().inode(3).unwrap().nlink, 3);
    let remove = entry(Entry::RemoveEntry(RemoveEntry {
        parent_id: 1,
        name: "g".into(),
        time_ns: 12,
    }));
    let rename = entry(Entry::Rename(RenameEntry {
        src_parent_id: 4,
        src_name: "g2".into(),
        dst_parent_id: 4,
        dst_name: "g4".into(),
        time_ns: 13,
    }));
    commit(&ns, &w, vec![remove, rename]).await.unwrap();
    {
        let ns = ns.read().unwrap();
        let g = ns.inode(3).unwrap();
        assert_eq!(g.nlink, 2);
        // The smallest remaining (parent, name) became the primary entry.
        assert_eq!((g.parent_id, g.name.as_str()), (1, "g3"));
        assert_eq!(ns.children(4).unwrap().get("g4"), Some(&3));
    }
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
    commit(&ns, &w, vec![complete(3)]).await.unwrap();
    checkpoint_now(&ns, &w, &store).await.unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
    assert_eq!(replayed.inode(2).unwrap().container_id, 7);
    assert_eq!(replayed.inode(3).unwrap().nlink, 2);
    // Links still work after the checkpoint: the last names go.
    for (parent_id, name) in [(4, "g4"), (1, "g3")] {
        let remove = entry(Entry::RemoveEntry(RemoveEntry {
            parent_id,
            name: name.into(),
            time_ns: 14,
        }));
        commit(&ns, &w, vec![remove]).await.unwrap();
    }
    assert!(ns.read().unwrap().inode(3).is_none());
    // Exchange: file 2 ("f" in /) and directory 4 ("sub") swap entries.
    let exchange = entry(Entry::Exchange(ExchangeEntries {
        a_parent_id: 1,
        a_name: "f".into(),
        b_parent_id: 1,
        b_name: "sub".into(),
        time_ns: 15,
    }));
    commit(&ns, &w, vec![exchange]).await.unwrap();
    {
        let ns = ns.read().unwrap();
        assert_eq!(ns.children(1).unwrap().get("f"), Some(&4));
        assert_eq!(ns.inode(2).unwrap().name, "sub");
        assert_eq!(ns.inode(4).unwrap().name, "f");
    }
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
}

/// A version committed with its attributes in one entry (decision 0014):
/// in the file's current container, then in a new one (which starts it),
/// replayed from the log and from a checkpoint to the same state.
#[tokio::test]
async fn a_committed_version_carries_its_attributes() {
    use alluxio_proto::journal::{CommitVersion, NewVersion};
    let (_d, store) = formatted().await;
    let (ns, w) = first_term(&store).await;
    let version = entry(Entry::NewVersion(NewVersion {
        id: 2,
        container_id: 7,
        block_size: 4096,
        mtime_ns: 9,
    }));
    commit(&ns, &w, vec![file(2, 1, "f", 1), version])
        .await
        .unwrap();
    let commit_version = |container_id, length, mode: Option<u32>| {
        entry(Entry::CommitVersion(CommitVersion {
            id: 2,
            container_id,
            block_size: 8192,
            length,
            persisted: true,
            mtime_ns: 20,
            ctime_ns: 21,
            mode,
            owner: Some("carol".into()),
            group: None,
            atime_ns: Some(22),
        }))
    };
    commit(&ns, &w, vec![commit_version(7, 10, Some(0o600))])
        .await
        .unwrap();
    {
        let ns = ns.read().unwrap();
        let f = ns.inode(2).unwrap();
        assert_eq!((f.container_id, f.block_size), (7, 4096));
        assert_eq!((f.length, f.completed, f.persisted), (10, true, true));
        assert_eq!((f.mode, f.owner.as_str()), (0o600, "carol"));
        assert_eq!((f.mtime_ns, f.ctime_ns, f.atime_ns), (20, 21, 22));
    }
    // A new container: the version starts and completes in one entry;
    // attributes not given stay.
    commit(&ns, &w, vec![commit_version(30, 99, None)])
        .await
        .unwrap();
    {
        let ns = ns.read().unwrap();
        let f = ns.inode(2).unwrap();
        assert_eq!((f.container_id, f.block_size, f.length), (30, 8192, 99));
        assert_eq!(f.mode, 0o600);
        assert!(ns.next_container_id() > 30);
    }
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
    checkpoint_now(&ns, &w, &store).await.unwrap();
    let replayed = recover(&store).await.unwrap();
    assert_eq!(full_state(&replayed), full_state(&ns.read().unwrap()));
    assert!(replayed.next_container_id() > 30);
}

fn intent(src: &str) -> JournalEntry {
    entry(Entry::UfsIntent(UfsIntent {
        op_id: Some(alluxio_proto::OperationId { high: 9, low: 1 }),
        steps: vec![
            UfsStep {
                step: Some(ufs_step::Step::Move(UfsMove {
                    from: src.into(),
                    to: "/t".into(),
                    ..Default::default()
                })),
            },
            UfsStep {
                step: Some(ufs_step::Step::DeleteFile("/u".into())),
            },
        ],
        op: Some(ufs_intent::Op::Delete(DeleteIntent {
            path: src.into(),
            id: 2,
        })),
    }))
}

/// Open UFS intents (decision 0013) survive replay and checkpoints with
/// their progress; ended ones are gone; an entry about an unknown intent
/// does not apply.
#[tokio::test]
async fn pending_ufs_intents_replay_and_checkpoint() {
    let (_d, store) = formatted().await;
    let (ns, w) = first_term(&store).await;
    let seq = |ns: &Arc<RwLock<Namespace>>| ns.read().unwrap().last_seq();
    commit(&ns, &w, vec![intent("/a")]).await.unwrap();
    let a = seq(&ns);
    commit(&ns, &w, vec![intent("/b")]).await.unwrap();
    let b = seq(&ns);
    let progress = |intent, steps_done| {
        entry(Entry::UfsIntentProgress(UfsIntentProgress {
            intent,
            steps_done,
        }))
    };
    commit(&ns, &w, vec![progress(b, 1)]).await.unwrap();
    commit(
        &ns,
        &w,
        vec![entry(Entry::UfsIntentDone(UfsIntentDone { intent: a }))],
    )
    .await
    .unwrap();
    let open = |ns: &Namespace| -> Vec<(u64, u32, String)> {
        ns.pending_intents()
            .map(|p| {
                let i = p.intent.as_ref().unwrap();
                let Some(ufs_intent::Op::Delete(d)) = &i.op else {
                    panic!("{i:?}")
                };
                (p.seq, p.steps_done, d.path.clone())
            })
            .collect()
    };
    let expected = vec![(b, 1, "/b".to_string())];
    assert_eq!(open(&ns.read().unwrap()), expected);
    assert_eq!(open(&recover(&store).await.unwrap()), expected, "replay");
    checkpoint_now(&ns, &w, &store).await.unwrap();
    assert_eq!(
        open(&recover(&store).await.unwrap()),
        expected,
        "checkpoint"
    );

    let mut copy = recover(&store).await.unwrap();
    let next = copy.last_seq() + 1;
    for bad in [
        progress(a, 1),
        progress(b, 3),
        entry(Entry::UfsIntentDone(UfsIntentDone { intent: a })),
    ] {
        let err = copy.apply(next, copy.term(), &bad).unwrap_err();
        assert!(err.contains("intent"), "{err}");
    }
}
