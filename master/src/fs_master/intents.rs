//! UFS changes journaled before they are made (decision 0013).
//!
//! A rename, a delete or a mkdir changes the UFS, then journals its entries. A
//! master that died in between left the UFS changed and the namespace not:
//! a name whose object had moved or vanished, a retried rename failing with
//! NotFound. Such an operation now first journals its UFS steps as an
//! intent, makes them, and commits its entries followed by the intent's
//! end in one batch. Every step is safe to make again — a move moves what
//! is still at its source, a delete of what is gone succeeds — and where
//! making one again could undo a later one (a swap's three moves) the
//! progress is journaled between them. A new leader completes every intent
//! left open — the remaining steps, then the entries the operation would
//! have committed, with its result for the retry cache — before it serves
//! anything, so nobody sees the operation half done and a retry gets the
//! original answer.

use std::time::Duration;

use alluxio_common::{AlluxioPath, FsError, FsResult};
use alluxio_proto::journal::journal_entry::Entry;
use alluxio_proto::journal::{
    ufs_intent, ufs_step, JournalEntry, UfsIntent, UfsIntentDone, UfsIntentProgress, UfsMove,
    UfsStep,
};
use alluxio_proto::OperationId;

use super::FsMaster;
use crate::namespace::Namespace;

/// What an intent's operation commits once its UFS steps are made: its
/// entries and the blocks they free, or `None` when the namespace shows
/// them applied already (a batch cut short after them, before the end).
pub(super) type Completion = Option<(Vec<JournalEntry>, Vec<u64>)>;

/// A move of the object at `from` to `to`.
pub(super) fn move_step(from: &AlluxioPath, to: &AlluxioPath) -> UfsStep {
    UfsStep {
        step: Some(ufs_step::Step::Move(UfsMove {
            from: from.to_string(),
            to: to.to_string(),
            replace_dir: false,
            empty_file: false,
        })),
    }
}

/// The creation of directory `path` and its missing parents.
pub(super) fn create_dir_step(path: &AlluxioPath) -> UfsStep {
    UfsStep {
        step: Some(ufs_step::Step::CreateDir(path.to_string())),
    }
}

/// The delete of file (or, with `dir`, directory tree) `path`.
pub(super) fn delete_step(path: &AlluxioPath, dir: bool) -> UfsStep {
    let p = path.to_string();
    UfsStep {
        step: Some(if dir {
            ufs_step::Step::DeleteDir(p)
        } else {
            ufs_step::Step::DeleteFile(p)
        }),
    }
}

fn body(e: Entry) -> JournalEntry {
    JournalEntry {
        op_id: None,
        op_result: 0,
        entry: Some(e),
    }
}

/// `done`, the commit of an operation's entries; when they complete
/// intent `seq`, a failure is not a refusal: the intent is durable and the
/// next leader completes it, so the client must retry (the same operation
/// id then gets the original result), never hear "did not happen".
async fn completion_outcome(
    done: impl std::future::Future<Output = FsResult<()>> + Send + 'static,
    seq: Option<u64>,
) -> FsResult<()> {
    match (done.await, seq) {
        (Err(e), Some(seq)) => Err(FsError::Unavailable(format!(
            "{e}; the UFS change (intent {seq}) is journaled and will be completed: retry"
        ))),
        (r, _) => r,
    }
}

/// Whether a failed step may succeed if made again (the store did not
/// answer, an I/O error) rather than never (the source is gone, the store
/// refuses).
fn transient(e: &FsError) -> bool {
    matches!(
        e,
        FsError::Unavailable(_) | FsError::Ufs(_) | FsError::DataUnavailable(_)
    )
}

/// The path step `s` creates something at, if any.
fn creates(s: &UfsStep) -> Option<&str> {
    match &s.step {
        Some(ufs_step::Step::Move(m)) => Some(&m.to),
        Some(ufs_step::Step::CreateDir(p)) => Some(p),
        _ => None,
    }
}

/// The path step `s` takes away.
fn takes(s: &UfsStep) -> &str {
    match &s.step {
        Some(ufs_step::Step::Move(m)) => &m.from,
        Some(ufs_step::Step::DeleteFile(p)) | Some(ufs_step::Step::DeleteDir(p)) => p,
        Some(ufs_step::Step::CreateDir(_)) | None => "",
    }
}

fn overlap(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner == outer
            || outer == "/"
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    within(a, b) || within(b, a)
}

/// Whether step `i` of `steps` must be journaled as made before the next:
/// a later step puts something where it took something away, so making it
/// again after that would take the wrong thing.
fn needs_progress(steps: &[UfsStep], i: usize) -> bool {
    let taken = takes(&steps[i]);
    steps[i + 1..]
        .iter()
        .filter_map(creates)
        .any(|c| overlap(c, taken))
}

impl FsMaster {
    /// Journals `steps` as the intent of operation `op_id` (kind `op`) and
    /// makes them; returns the intent's sequence number, `None` when there
    /// is nothing to change in the UFS. On an error that making the steps
    /// again cannot fix the intent is ended; when this master stopped
    /// leading it stays for the next leader to complete.
    pub(super) async fn change_ufs(
        &self,
        op_id: Option<OperationId>,
        steps: Vec<UfsStep>,
        op: ufs_intent::Op,
    ) -> FsResult<Option<u64>> {
        if steps.is_empty() {
            return Ok(None);
        }
        let intent = UfsIntent {
            op_id,
            steps,
            op: Some(op),
        };
        let (seq, done) = {
            let mut ns = self.write();
            let done = self.commit(
                &mut ns,
                vec![body(Entry::UfsIntent(intent.clone()))],
                None,
                0,
            );
            (ns.last_seq(), done)
        };
        done.await?;
        if let Err(e) = self.make_steps(seq, &intent.steps, 0).await {
            // While this term lasts, no intent may stay open behind an
            // answer: this master would go on serving the paths it names,
            // and a later leader completing it would undo what it served
            // since (delete a file created there again).
            if !self.term_over() {
                tracing::warn!("UFS change {seq} failed, nothing journaled for it: {e}");
                drop(self.abandon(&mut self.write(), seq));
            }
            return Err(e);
        }
        Ok(Some(seq))
    }

    /// Commits `completion` of intent `seq` (if the operation has one) with
    /// the result `op_result` of operation `op_id`; on `Err`, ends the
    /// intent without entries and returns the error. Returns the commit's
    /// durability and the blocks the entries free.
    pub(super) fn complete(
        &self,
        ns: &mut Namespace,
        seq: Option<u64>,
        completion: FsResult<Completion>,
        op_id: Option<OperationId>,
        op_result: u64,
    ) -> FsResult<(
        impl std::future::Future<Output = FsResult<()>> + Send + 'static,
        Vec<u64>,
    )> {
        let (mut entries, freed) = match completion {
            Ok(c) => c.unwrap_or_default(),
            Err(e) => {
                if let Some(seq) = seq {
                    drop(self.abandon(ns, seq));
                }
                return Err(e);
            }
        };
        let Some(seq) = seq else {
            return Ok((
                completion_outcome(self.commit(ns, entries, op_id, op_result), None),
                freed,
            ));
        };
        entries.push(body(Entry::UfsIntentDone(UfsIntentDone { intent: seq })));
        Ok((
            completion_outcome(self.commit(ns, entries, op_id, op_result), Some(seq)),
            freed,
        ))
    }

    /// Ends intent `seq` without entries; the returned future resolves once
    /// that is durable (a caller that replies may drop it: its reply waits
    /// for durability anyway).
    fn abandon(
        &self,
        ns: &mut Namespace,
        seq: u64,
    ) -> impl std::future::Future<Output = FsResult<()>> + Send + 'static {
        self.commit(
            ns,
            vec![body(Entry::UfsIntentDone(UfsIntentDone { intent: seq }))],
            None,
            0,
        )
    }

    /// Makes `steps[start..]` of intent `seq`. A step that fails for a
    /// passing reason is made again, with backoff, until this master's term
    /// is over — a lapse of its lease included (a ZooKeeper pause), after
    /// which it may lead on: the UFS must not be left half changed, and the
    /// intent not left open while this master serves.
    async fn make_steps(&self, seq: u64, steps: &[UfsStep], start: usize) -> FsResult<()> {
        let policy = alluxio_common::retry::RetryPolicy {
            base_sleep: Duration::from_millis(100),
            max_sleep: Duration::from_secs(5),
            max_duration: Duration::MAX,
        };
        for (i, step) in steps.iter().enumerate().skip(start) {
            let mut backoff = policy.start();
            loop {
                match self.make_step(step).await {
                    Ok(()) => break,
                    Err(e) if transient(&e) && !self.term_over() => {
                        let delay = backoff.next_delay().unwrap_or(policy.max_sleep);
                        tracing::warn!(
                            "UFS change {seq}, step {}: {e}; trying again in {delay:?}",
                            i + 1
                        );
                        tokio::time::sleep(delay).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            if i + 1 < steps.len() && needs_progress(steps, i) {
                let done = {
                    let mut ns = self.write();
                    let progress = UfsIntentProgress {
                        intent: seq,
                        steps_done: (i + 1) as u32,
                    };
                    self.commit(
                        &mut ns,
                        vec![body(Entry::UfsIntentProgress(progress))],
                        None,
                        0,
                    )
                };
                done.await?;
            }
        }
        // A master dying (or held) after the UFS changed, before the commit.
        alluxio_common::failpoint::hit("ufs_step_crash");
        alluxio_common::failpoint::delay("ufs_step_before_commit").await;
        Ok(())
    }

    /// Makes one step; making it again after it was made changes nothing.
    async fn make_step(&self, step: &UfsStep) -> FsResult<()> {
        let location = |p: &str| -> FsResult<alluxio_proto::UfsLocation> {
            self.read().mounts().ufs_location(&AlluxioPath::parse(p)?)
        };
        match &step.step {
            Some(ufs_step::Step::Move(m)) => {
                let (from, to) = (location(&m.from)?, location(&m.to)?);
                let ufs = self.ufs_to_change(&from).await?;
                if ufs.stat(&from.path).await?.is_some() {
                    if m.replace_dir && ufs.stat(&to.path).await?.is_some_and(|s| s.is_dir) {
                        ufs.delete_dir_all(&to.path).await?;
                    }
                    ufs.rename(&from.path, &to.path).await
                } else if m.empty_file {
                    // An empty file whose object was never written (its
                    // master stopped first, `empty_objects.rs`).
                    ufs.write_all(&to.path, bytes::Bytes::new()).await
                } else {
                    // Moved already: this step is being made again, maybe
                    // after a try whose fsync failed; make both names
                    // durable before the move is acknowledged.
                    ufs.sync_parent(&to.path).await?;
                    ufs.sync_parent(&from.path).await
                }
            }
            Some(ufs_step::Step::DeleteFile(p)) => {
                let loc = location(p)?;
                self.ufs_to_change(&loc).await?.delete_file(&loc.path).await
            }
            Some(ufs_step::Step::CreateDir(p)) => {
                // No empty file's object can be pending below a directory
                // that does not exist yet: no need to wait for them.
                let loc = location(p)?;
                self.ufs_fenced(&loc)?.create_dir(&loc.path).await
            }
            Some(ufs_step::Step::DeleteDir(p)) => {
                let loc = location(p)?;
                self.ufs_to_change(&loc)
                    .await?
                    .delete_dir_all(&loc.path)
                    .await
            }
            None => Err(FsError::Corrupt("a UFS step without a body".into())),
        }
    }

    /// Completes every intent the previous leader left open: makes its
    /// remaining steps and commits what its operation would have. Runs
    /// before this master serves. An intent whose steps fail for good is
    /// ended without entries (logged); an error while this master leads no
    /// more is returned.
    pub async fn complete_intents(&self) -> FsResult<()> {
        let pending: Vec<_> = self.read().pending_intents().cloned().collect();
        for p in pending {
            let Some(intent) = p.intent else { continue };
            let Some(op) = &intent.op else {
                return Err(FsError::Corrupt(format!(
                    "intent {} names no operation",
                    p.seq
                )));
            };
            tracing::info!(
                "completing UFS change {} of the previous leader ({} of {} steps made): {op:?}",
                p.seq,
                p.steps_done,
                intent.steps.len()
            );
            if let Err(e) = self
                .make_steps(p.seq, &intent.steps, p.steps_done as usize)
                .await
            {
                if self.term_over() {
                    return Err(e);
                }
                tracing::error!(
                    "UFS change {} cannot be completed, leaving the namespace as it was \
                     before it: {e}",
                    p.seq
                );
                let done = self.abandon(&mut self.write(), p.seq);
                done.await?;
                continue;
            }
            let (done, freed) = {
                let mut ns = self.write();
                let (completion, result) = match op {
                    ufs_intent::Op::Rename(r) => {
                        (super::rename::rename_completion(self, &ns, r), 0)
                    }
                    ufs_intent::Op::Delete(d) => {
                        (super::remove::delete_completion(self, &ns, d), 0)
                    }
                    ufs_intent::Op::Exchange(x) => (super::rename::exchange_completion(&ns, x), 0),
                    ufs_intent::Op::Mkdir(m) => match self.mkdir_completion(&ns, m) {
                        Ok((c, id)) => (Ok(c), id),
                        Err(e) => (Err(e), 0),
                    },
                };
                if let Err(e) = &completion {
                    tracing::error!(
                        "UFS change {} was made but its entries no longer fit: {e}",
                        p.seq
                    );
                }
                match self.complete(&mut ns, Some(p.seq), completion, intent.op_id, result) {
                    Ok(c) => c,
                    Err(_) => continue,
                }
            };
            done.await?;
            self.blocks.free_blocks(&freed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> AlluxioPath {
        AlluxioPath::parse(s).unwrap()
    }

    #[test]
    fn progress_is_journaled_where_a_later_step_refills_a_source() {
        // A swap through a temporary name: every move but the last.
        let swap = [
            move_step(&p("/a"), &p("/t")),
            move_step(&p("/b"), &p("/a")),
            move_step(&p("/t"), &p("/b")),
        ];
        assert!(needs_progress(&swap, 0));
        assert!(needs_progress(&swap, 1));
        // Links moved out of a directory, then the directory deleted: each
        // step can be made again at any time.
        let delete = [move_step(&p("/d/x"), &p("/y")), delete_step(&p("/d"), true)];
        assert!(!needs_progress(&delete, 0));
        // A name below a moved-away one refilled later counts too.
        let nested = [
            move_step(&p("/d"), &p("/e")),
            move_step(&p("/f"), &p("/d/x")),
        ];
        assert!(needs_progress(&nested, 0));
        assert!(!needs_progress(
            &[
                move_step(&p("/ab"), &p("/c")),
                move_step(&p("/x"), &p("/a"))
            ],
            0
        ));
    }
}
