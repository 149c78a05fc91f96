//! Group commit. Mutations hand their entries to one writer task in sequence
//! order; the task packs whatever has queued into one batch, makes it
//! durable, and only then acknowledges the mutations in it.
//!
//! On an object store every batch is a new object published create-if-absent
//! at its slot. On a local or NFS folder the writer publishes a segment that
//! way and appends later batches to it (one `fdatasync` each), rolling to a
//! new segment at a checkpoint barrier or past [`SEGMENT_BYTES`]. After
//! every durable write, on either kind of store, it checks that no master
//! has claimed a newer term (`terms.rs`) before acknowledging anything. A small append on a local
//! disk runs inline in the writer task (`short_calls.rs`: a hand-off to the
//! blocking pool cost more CPU than the `fdatasync`).
//!
//! A write that fails — above all a slot another master took or a newer
//! term's claim — poisons the writer: nothing after it is acknowledged and
//! the master must stop serving.

use std::sync::{Arc, OnceLock};

use alluxio_common::short_calls::ShortCalls;
use alluxio_proto::journal::JournalEntry;
use bytes::BytesMut;
use prost::Message;
use tokio::sync::{mpsc, oneshot, watch};

use super::error::JournalError;
use super::frame;
use super::log_name;
use super::store::{JournalStore, Publish, Segment};
use super::terms;

/// Upper bound of one batch.
const MAX_BATCH_BYTES: usize = 8 << 20;
/// A segment this long is closed and the next batch starts a new one.
pub const SEGMENT_BYTES: u64 = 64 << 20;
/// Largest append that runs where the store's short calls do (inline on a
/// local disk: `short_calls.rs`); larger ones go to the blocking pool.
const SHORT_APPEND_BYTES: usize = 64 << 10;

enum Command {
    Append {
        first_seq: u64,
        entries: Vec<JournalEntry>,
        done: Option<oneshot::Sender<Result<(), JournalError>>>,
    },
    /// Ends the current batch here; with `segment`, the segment too (used
    /// before a checkpoint, so that the objects it covers end where it
    /// does).
    Barrier { segment: bool },
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct JournalWriter {
    tx: mpsc::UnboundedSender<Command>,
    durable: watch::Receiver<u64>,
    failure: Arc<OnceLock<JournalError>>,
    /// Changes once, when the writer stops: waiting on it costs no wake-up
    /// per batch, as waiting on `durable` would.
    stopped: watch::Receiver<()>,
    term: u64,
}

/// Statistics of published batches, for benchmarks and status.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriterStats {
    pub batches: u64,
    pub entries: u64,
}

impl JournalWriter {
    /// Starts a writer that publishes entries of `term`, the next one being
    /// `next_seq`.
    pub fn start(store: JournalStore, term: u64, next_seq: u64) -> JournalWriter {
        Self::start_with_segments_of(store, term, next_seq, SEGMENT_BYTES)
    }

    /// [`start`](Self::start) with segments closed past `segment_bytes`
    /// (tests use small ones).
    pub fn start_with_segments_of(
        store: JournalStore,
        term: u64,
        next_seq: u64,
        segment_bytes: u64,
    ) -> JournalWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        let (durable_tx, durable) = watch::channel(next_seq - 1);
        // Never sent to: dropped when the writer task ends, which is what
        // `stopped` waits for.
        let (stopped_tx, stopped) = watch::channel(());
        let failure = Arc::new(OnceLock::new());
        let task = run(
            store,
            term,
            next_seq,
            segment_bytes,
            rx,
            durable_tx,
            failure.clone(),
        );
        tokio::spawn(async move {
            task.await;
            drop(stopped_tx);
        });
        JournalWriter {
            tx,
            durable,
            failure,
            stopped,
            term,
        }
    }

    /// The term this writer publishes in.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// Queues `entries` (sequence numbers `first_seq..`) and returns a future
    /// that resolves once they are durable. Must be called in sequence order.
    pub fn append(
        &self,
        first_seq: u64,
        entries: Vec<JournalEntry>,
    ) -> impl std::future::Future<Output = Result<(), JournalError>> + Send + 'static {
        let (done, rx) = oneshot::channel();
        let sent = self.tx.send(Command::Append {
            first_seq,
            entries,
            done: Some(done),
        });
        let failure = self.failure.clone();
        async move {
            if sent.is_err() {
                return Err(failure.get().cloned().unwrap_or(JournalError::Closed));
            }
            rx.await
                .unwrap_or_else(|_| Err(failure.get().cloned().unwrap_or(JournalError::Closed)))
        }
    }

    /// Makes the current batch end here.
    pub fn barrier(&self) {
        let _ = self.tx.send(Command::Barrier { segment: false });
    }

    /// Makes the current batch and segment end here (before a checkpoint):
    /// the next batch starts a new log object.
    pub fn end_segment(&self) {
        let _ = self.tx.send(Command::Barrier { segment: true });
    }

    /// Waits until every entry up to `seq` is durable.
    pub async fn wait_durable(&self, seq: u64) -> Result<(), JournalError> {
        let mut rx = self.durable.clone();
        loop {
            if let Some(err) = self.failure.get() {
                return Err(err.clone());
            }
            if *rx.borrow_and_update() >= seq {
                return Ok(());
            }
            if rx.changed().await.is_err() {
                return Err(self.failure.get().cloned().unwrap_or(JournalError::Closed));
            }
        }
    }

    /// Returns once the writer has stopped (it stops only on a failure,
    /// or when every handle is gone).
    pub async fn stopped(&self) {
        let mut rx = self.stopped.clone();
        while rx.changed().await.is_ok() {}
    }

    /// The last durable sequence number.
    pub fn durable_seq(&self) -> u64 {
        *self.durable.borrow()
    }

    /// Why the writer stopped, if it has.
    pub fn failure(&self) -> Option<JournalError> {
        self.failure.get().cloned()
    }
}

async fn run(
    store: JournalStore,
    term: u64,
    mut next_seq: u64,
    segment_bytes: u64,
    mut rx: mpsc::UnboundedReceiver<Command>,
    durable: watch::Sender<u64>,
    failure: Arc<OnceLock<JournalError>>,
) {
    let mut segment: Option<Segment> = None;
    let mut roll = false;
    while let Some(first) = rx.recv().await {
        let mut buf = BytesMut::new();
        let mut waiters = Vec::new();
        let batch_start = next_seq;
        let mut cmd = Some(first);
        let mut barrier = false;
        while let Some(c) = cmd.take() {
            match c {
                Command::Barrier { segment } => {
                    barrier = segment;
                    break;
                }
                Command::Append {
                    first_seq,
                    entries,
                    done,
                } => {
                    if first_seq != next_seq {
                        let err = JournalError::io(
                            "journal writer",
                            format!("entries out of order: got {first_seq}, expected {next_seq}"),
                        );
                        fail(&failure, &durable, err, done, waiters, &mut rx);
                        return;
                    }
                    for e in &entries {
                        frame::encode(&mut buf, term, &e.encode_to_vec());
                    }
                    next_seq += entries.len() as u64;
                    waiters.extend(done);
                }
            }
            if buf.len() >= MAX_BATCH_BYTES {
                break;
            }
            match rx.try_recv() {
                Ok(Command::Barrier { segment }) => {
                    barrier = segment;
                    break;
                }
                Ok(c) => cmd = Some(c),
                Err(_) => break,
            }
        }
        if buf.is_empty() {
            roll |= barrier;
            continue;
        }
        let name = log_name(batch_start);
        let (entries, bytes) = (next_seq - batch_start, buf.len());
        let started = std::time::Instant::now();
        let open = segment
            .take()
            .filter(|s| !roll && s.bytes() < segment_bytes);
        let (result, kept) = write_batch(&store, term, &name, open, buf.freeze()).await;
        segment = kept;
        roll = barrier;
        let m = &*crate::metrics::METRICS;
        m.publish_seconds.observe(started.elapsed().as_secs_f64());
        m.batch_entries.observe(entries as f64);
        m.batch_bytes.observe(bytes as f64);
        match result {
            Ok(Written::Published) => {
                durable.send_replace(next_seq - 1);
                for w in waiters {
                    let _ = w.send(Ok(()));
                }
            }
            Ok(Written::Taken) => {
                fail(
                    &failure,
                    &durable,
                    JournalError::Fenced { slot: name },
                    None,
                    waiters,
                    &mut rx,
                );
                return;
            }
            Ok(Written::Claimed(slot)) => {
                fail(
                    &failure,
                    &durable,
                    JournalError::Fenced { slot },
                    None,
                    waiters,
                    &mut rx,
                );
                return;
            }
            Err(err) => {
                fail(&failure, &durable, err, None, waiters, &mut rx);
                return;
            }
        }
    }
}

/// What became of one batch.
enum Written {
    /// Durable and ours to acknowledge.
    Published,
    /// Another master holds the slot.
    Taken,
    /// Durable, but a newer term was claimed (this object names the claim):
    /// the batch may be void, so it must not be acknowledged.
    Claimed(String),
}

/// Makes `data` durable: appended to `open` when there is one, else
/// published as the object `name` (kept open as the next segment on a store
/// that appends). Returns the segment to append to next.
async fn write_batch(
    store: &JournalStore,
    term: u64,
    name: &str,
    open: Option<Segment>,
    data: bytes::Bytes,
) -> (Result<Written, JournalError>, Option<Segment>) {
    // Slow journal storage, for tests of what waits for durability.
    alluxio_common::failpoint::delay("journal_write_delay").await;
    let fence = terms::claim_name(term + 1);
    match (store, open) {
        (JournalStore::Local(local), Some(mut seg)) => {
            let local = local.clone();
            let place = if data.len() <= SHORT_APPEND_BYTES {
                local.short_calls()
            } else {
                ShortCalls::Pool
            };
            let joined = place
                .run(move || {
                    let result = seg.append(&data).and_then(|()| {
                        Ok(if local.exists_blocking(&fence)? {
                            Written::Claimed(fence)
                        } else {
                            Written::Published
                        })
                    });
                    (result, seg)
                })
                .await;
            match joined {
                Ok((result, seg)) => (result, Some(seg)),
                Err(e) => (Err(JournalError::io("append task", e)), None),
            }
        }
        (_, _) => match store.publish_segment(name, data).await {
            Ok((Publish::Taken, _)) => (Ok(Written::Taken), None),
            Ok((Publish::Published, seg)) if store.appends() => {
                // An appending zombie may publish a new segment after a newer
                // term's claim: its check comes after the write, as above.
                match store.exists(&fence).await {
                    Ok(true) => (Ok(Written::Claimed(fence)), None),
                    Ok(false) => (Ok(Written::Published), seg),
                    Err(e) => (Err(e), None),
                }
            }
            Ok((Publish::Published, _)) => {
                // On an object store the slot alone does not fence: once a
                // checkpoint covers it, garbage collection deletes the
                // newer term's object there and a paused old leader can
                // publish into it. Term claims are never deleted.
                match store.exists(&fence).await {
                    Ok(true) => (Ok(Written::Claimed(fence)), None),
                    Ok(false) => (Ok(Written::Published), None),
                    Err(e) => (Err(e), None),
                }
            }
            Err(e) => (Err(e), None),
        },
    }
}

fn fail(
    failure: &OnceLock<JournalError>,
    durable: &watch::Sender<u64>,
    err: JournalError,
    extra: Option<oneshot::Sender<Result<(), JournalError>>>,
    waiters: Vec<oneshot::Sender<Result<(), JournalError>>>,
    rx: &mut mpsc::UnboundedReceiver<Command>,
) {
    match err {
        // Another master took over: the normal end of a deposed leader's
        // term, not a fault of this one (it steps down and follows).
        JournalError::Fenced { .. } => {
            tracing::warn!("journal writer stopped: {err}; another master leads now")
        }
        _ => tracing::error!("journal writer stopped: {err}"),
    }
    let _ = failure.set(err.clone());
    for w in waiters.into_iter().chain(extra) {
        let _ = w.send(Err(err.clone()));
    }
    rx.close();
    while let Ok(c) = rx.try_recv() {
        if let Command::Append { done: Some(d), .. } = c {
            let _ = d.send(Err(err.clone()));
        }
    }
    // Wake readers waiting for durability so they see the failure.
    durable.send_modify(|_| {});
}
