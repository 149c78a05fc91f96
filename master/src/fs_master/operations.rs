//! Exactly-once under concurrent duplicates. A mutating RPC carries an
//! operation id; once its entries are applied, the retry cache answers a
//! retry with the original result (`FsMaster::replayed`). A duplicate that
//! arrives *while the original is still running* — the client timed out and
//! retried on a new connection, say — found nothing in the retry cache and
//! ran the operation a second time, answering AlreadyExists or NotFound.
//! Here the first arrival registers the id as in flight until it has
//! applied (or failed); a duplicate waits for it, then takes the recorded
//! result, or runs itself if the original failed without applying anything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alluxio_common::FsResult;
use alluxio_proto::OperationId;
use tokio::sync::Notify;

use super::FsMaster;

type Ops = Mutex<HashMap<(u64, u64), Arc<Notify>>>;

/// Operations in flight, by id.
#[derive(Default)]
pub(super) struct InFlight {
    ops: Arc<Ops>,
}

/// How an operation with an id is to be handled.
pub(super) enum Begin {
    /// Applied before: its recorded result, durable.
    Replayed(u64),
    /// Run it; duplicates wait until this guard drops.
    Fresh(OpGuard),
}

/// Marks an operation in flight until dropped (after it applied, or failed).
pub(super) struct OpGuard {
    registry: Option<(Arc<Ops>, (u64, u64))>,
}

impl Drop for OpGuard {
    fn drop(&mut self) {
        if let Some((ops, key)) = self.registry.take() {
            let notify = ops.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            if let Some(n) = notify {
                n.notify_waiters();
            }
        }
    }
}

impl FsMaster {
    /// Starts operation `op`: its recorded result if it was applied before
    /// (waiting for an original still in flight), else a guard under which
    /// to run it.
    pub(super) async fn begin(&self, op: &Option<OperationId>) -> FsResult<Begin> {
        let Some(op) = op else {
            return Ok(Begin::Fresh(OpGuard { registry: None }));
        };
        let key = (op.high, op.low);
        loop {
            if let Some(result) = self.replayed(&Some(*op)).await? {
                return Ok(Begin::Replayed(result));
            }
            let waiting = {
                let mut ops = self.in_flight.ops.lock().unwrap_or_else(|p| p.into_inner());
                match ops.get(&key) {
                    // Created under the lock: the original's notify_waiters
                    // (after it unregisters, under the same lock) reaches it.
                    Some(n) => Some(n.clone()),
                    None => {
                        // The original may have applied and unregistered
                        // between the retry-cache check and here.
                        if self.read().retried(op).is_some() {
                            None
                        } else {
                            ops.insert(key, Arc::new(Notify::new()));
                            return Ok(Begin::Fresh(OpGuard {
                                registry: Some((self.in_flight.ops.clone(), key)),
                            }));
                        }
                    }
                }
            };
            if let Some(n) = waiting {
                let notified = n.notified();
                tokio::pin!(notified);
                // Registered before checking again, so no wake-up is lost.
                notified.as_mut().enable();
                if self
                    .in_flight
                    .ops
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains_key(&key)
                {
                    tracing::debug!(
                        "operation {:x}{:x} is in flight: its duplicate waits",
                        op.high,
                        op.low
                    );
                    notified.await;
                }
            }
        }
    }
}
