//! The UFS changes the namespace knows were begun and not finished
//! (decision 0013): a rename or delete journals its UFS steps as an intent
//! before making them, and ends it in the batch that holds its entries. A
//! new leader reads the intents left here and completes them before it
//! serves. They are state like any other: applied from the journal, kept
//! in checkpoints.

use alluxio_proto::journal::{PendingIntent, UfsIntent};

use super::tree::Namespace;

impl Namespace {
    /// Records intent `intent`, journaled as entry `seq`.
    pub(super) fn add_intent(&mut self, seq: u64, intent: UfsIntent) -> Result<(), String> {
        if self.intents.contains_key(&seq) {
            return Err(format!("intent {seq} recorded twice"));
        }
        self.intents.insert(
            seq,
            PendingIntent {
                seq,
                steps_done: 0,
                intent: Some(intent),
            },
        );
        Ok(())
    }

    /// Notes that the first `steps_done` steps of intent `seq` are made.
    pub(super) fn progress_intent(&mut self, seq: u64, steps_done: u32) -> Result<(), String> {
        let pending = self
            .intents
            .get_mut(&seq)
            .ok_or_else(|| format!("progress of unknown intent {seq}"))?;
        let steps = pending.intent.as_ref().map_or(0, |i| i.steps.len());
        if steps_done as usize > steps {
            return Err(format!(
                "intent {seq} has {steps} steps, not {steps_done} done"
            ));
        }
        pending.steps_done = pending.steps_done.max(steps_done);
        Ok(())
    }

    /// Ends intent `seq`.
    pub(super) fn end_intent(&mut self, seq: u64) -> Result<(), String> {
        self.intents
            .remove(&seq)
            .map(|_| ())
            .ok_or_else(|| format!("end of unknown intent {seq}"))
    }

    /// Restores a pending intent from a checkpoint.
    pub(super) fn restore_intent(&mut self, pending: PendingIntent) -> Result<(), String> {
        if pending.intent.is_none() {
            return Err(format!("pending intent {} without its body", pending.seq));
        }
        if self.intents.insert(pending.seq, pending).is_some() {
            return Err("pending intent recorded twice".into());
        }
        Ok(())
    }

    /// The intents not done yet, oldest first.
    pub fn pending_intents(&self) -> impl Iterator<Item = &PendingIntent> + '_ {
        self.intents.values()
    }
}
