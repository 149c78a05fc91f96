//! What this master is right now, as seen by its RPC services: the leader
//! (serving through its `FsMaster`), a standby (answering "not the leader,
//! try X" at once), or not serving (between roles). Role changes swap one
//! value; a request sees either the old role or the new, never a mix.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use alluxio_common::{FsError, FsResult};

use crate::block_master::BlockMaster;
use crate::fs_master::FsMaster;

/// The state of a leading master.
pub struct Leadership {
    pub fs: Arc<FsMaster>,
    pub blocks: Arc<BlockMaster>,
}

/// This master's role.
#[derive(Clone)]
pub enum Role {
    /// Recovering or between roles.
    NotServing,
    /// Tailing the journal; `leader` is the address clients should use.
    Standby,
    /// Serving.
    Leader(Arc<Leadership>),
}

impl Role {
    /// The name reported by `GetMasterInfo`.
    pub fn name(&self) -> &'static str {
        match self {
            Role::NotServing => "NOT_SERVING",
            Role::Standby => "STANDBY",
            Role::Leader(_) => "LEADER",
        }
    }
}

/// A time-bounded right to serve as leader, renewed by ZooKeeper round trips.
/// Without ZooKeeper the lease never expires.
pub struct Lease {
    origin: Instant,
    /// Milliseconds since `origin` until which the lease holds; `u64::MAX`
    /// means forever.
    until_ms: AtomicU64,
}

impl Lease {
    /// A lease that holds until renewed otherwise.
    pub fn forever() -> Self {
        Lease {
            origin: Instant::now(),
            until_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// A lease that has already expired.
    pub fn expired() -> Self {
        Lease {
            origin: Instant::now(),
            until_ms: AtomicU64::new(0),
        }
    }

    /// Extends the lease to `until` (never shortens it).
    pub fn renew(&self, until: Instant) {
        let ms = until.saturating_duration_since(self.origin).as_millis() as u64;
        self.until_ms.fetch_max(ms, Ordering::AcqRel);
    }

    /// Ends the lease now.
    pub fn revoke(&self) {
        self.until_ms.store(0, Ordering::Release);
    }

    /// Whether the lease holds now.
    pub fn valid(&self) -> bool {
        let until = self.until_ms.load(Ordering::Acquire);
        until == u64::MAX || (self.origin.elapsed().as_millis() as u64) < until
    }
}

/// Shared by the services and the role loop.
pub struct RoleCell {
    role: RwLock<Role>,
    leader_hint: RwLock<Option<String>>,
    /// Why this master refuses requests instead of sending clients
    /// elsewhere (its journal folder is full): the answer they get.
    refusal: RwLock<Option<FsError>>,
    /// Journal position, for `GetMasterInfo` (also on standbys).
    journal_seq: AtomicU64,
    term: AtomicU64,
    pub lease: Lease,
    pub address: String,
    pub start_time_ms: i64,
}

impl RoleCell {
    /// A cell for the master at `address`, not serving yet.
    pub fn new(address: String, lease: Lease) -> Self {
        RoleCell {
            role: RwLock::new(Role::NotServing),
            leader_hint: RwLock::new(None),
            refusal: RwLock::new(None),
            journal_seq: AtomicU64::new(0),
            term: AtomicU64::new(0),
            lease,
            address,
            start_time_ms: alluxio_common::time::now_ms(),
        }
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.role.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Switches role.
    pub fn set(&self, role: Role) {
        if let Role::Leader(_) = role {
            *self.leader_hint.write().unwrap_or_else(|p| p.into_inner()) =
                Some(self.address.clone());
        }
        tracing::info!("role: {}", role.name());
        *self.role.write().unwrap_or_else(|p| p.into_inner()) = role;
    }

    /// Answers every request with `err` until `set_refusal(None)`.
    pub fn set_refusal(&self, err: Option<FsError>) {
        *self.refusal.write().unwrap_or_else(|p| p.into_inner()) = err;
    }

    /// Records the leader other masters should be pointed at.
    pub fn set_leader_hint(&self, leader: Option<String>) {
        *self.leader_hint.write().unwrap_or_else(|p| p.into_inner()) = leader;
    }

    /// The leader this master knows of.
    pub fn leader_hint(&self) -> Option<String> {
        self.leader_hint
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records how far the journal has been applied.
    pub fn set_position(&self, seq: u64, term: u64) {
        self.journal_seq.store(seq, Ordering::Release);
        self.term.store(term, Ordering::Release);
    }

    /// `(sequence, term)` applied so far.
    pub fn position(&self) -> (u64, u64) {
        (
            self.journal_seq.load(Ordering::Acquire),
            self.term.load(Ordering::Acquire),
        )
    }

    /// `(sequence, term)` as this master reports it: what the leader has
    /// made durable, or what a standby has applied.
    pub fn journal_position(&self) -> (u64, u64) {
        match self.role() {
            Role::Leader(l) => {
                let term =
                    l.fs.namespace()
                        .read()
                        .unwrap_or_else(|p| p.into_inner())
                        .term();
                (l.fs.writer().durable_seq(), term)
            }
            _ => self.position(),
        }
    }

    /// The leadership, if this master may serve now; otherwise the error
    /// that sends the client elsewhere.
    pub fn leader(&self) -> FsResult<Arc<Leadership>> {
        if let Some(err) = self
            .refusal
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(err);
        }
        match self.role() {
            Role::Leader(l) if self.lease.valid() && l.fs.writer().failure().is_none() => Ok(l),
            Role::Leader(_) => Err(FsError::NotLeader { leader: None }),
            _ => {
                let hint = self.leader_hint().filter(|h| *h != self.address);
                Err(FsError::NotLeader { leader: hint })
            }
        }
    }
}
