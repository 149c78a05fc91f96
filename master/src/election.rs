//! Leader election through ZooKeeper (docs/design.md, "Leader election"): every master owns an
//! ephemeral sequential node under `alluxio.zookeeper.election.path` whose
//! data is its address; the lowest sequence leads. A waiting master watches
//! only its predecessor, so a leader's exit wakes exactly one standby. The
//! leader also owns an ephemeral `<host>:<port>` node under
//! `alluxio.zookeeper.leader.path`, which clients and workers read.
//!
//! ZooKeeper decides who may try to lead; it does not decide who may write:
//! the journal's create-if-absent slots fence an old leader (see
//! docs/decisions/0001-journal-batches.md).

use std::time::{Duration, Instant};

use zookeeper_client::{Acls, Client, CreateMode, SessionState};

/// ZooKeeper settings of a master.
#[derive(Debug, Clone)]
pub struct ZkSettings {
    pub address: String,
    pub session_timeout: Duration,
    pub election_path: String,
    pub leader_path: String,
}

/// Failures talking to ZooKeeper.
#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    #[error("ZooKeeper {address}: {message}")]
    ZooKeeper { address: String, message: String },
    #[error("ZooKeeper session lost ({0:?})")]
    SessionLost(SessionState),
}

/// This master's membership in the election.
pub struct Elector {
    client: Client,
    settings: ZkSettings,
    address: String,
    /// Full path of our election node.
    node: String,
}

const ELECTION_PREFIX: &str = "n_";

impl Elector {
    /// Connects and joins the election as `address` (`host:port`).
    pub async fn join(settings: &ZkSettings, address: &str) -> Result<Elector, ElectionError> {
        let err = |e: zookeeper_client::Error| ElectionError::ZooKeeper {
            address: settings.address.clone(),
            message: e.to_string(),
        };
        let client = tokio::time::timeout(
            settings.session_timeout.max(Duration::from_secs(2)) * 2,
            Client::connector()
                .with_session_timeout(settings.session_timeout)
                .connect(&settings.address),
        )
        .await
        .map_err(|_| ElectionError::ZooKeeper {
            address: settings.address.clone(),
            message: "connection timed out".into(),
        })?
        .map_err(err)?;
        let dir = CreateMode::Persistent.with_acls(Acls::anyone_all());
        client
            .mkdir(&settings.election_path, &dir)
            .await
            .map_err(err)?;
        client
            .mkdir(&settings.leader_path, &dir)
            .await
            .map_err(err)?;
        let prefix = format!(
            "{}/{ELECTION_PREFIX}",
            settings.election_path.trim_end_matches('/')
        );
        let (_, seq) = client
            .create(
                &prefix,
                address.as_bytes(),
                &CreateMode::EphemeralSequential.with_acls(Acls::anyone_all()),
            )
            .await
            .map_err(err)?;
        let node = format!("{prefix}{seq}");
        tracing::info!(
            "joined the election as {node} (session {:?})",
            client.session_id()
        );
        Ok(Elector {
            client,
            settings: settings.clone(),
            address: address.to_string(),
            node,
        })
    }

    fn err(&self, e: zookeeper_client::Error) -> ElectionError {
        match e {
            zookeeper_client::Error::SessionExpired => {
                ElectionError::SessionLost(SessionState::Expired)
            }
            e => ElectionError::ZooKeeper {
                address: self.settings.address.clone(),
                message: e.to_string(),
            },
        }
    }

    /// The session's state stream.
    pub fn state_watcher(&self) -> zookeeper_client::StateWatcher {
        self.client.state_watcher()
    }

    /// The session's current state.
    pub fn state(&self) -> SessionState {
        self.client.state()
    }

    /// Waits until this master holds the lowest election node.
    pub async fn wait_until_leader(&self) -> Result<(), ElectionError> {
        let my_name = self.node.rsplit('/').next().unwrap_or_default().to_string();
        loop {
            let mut children = self
                .client
                .list_children(&self.settings.election_path)
                .await
                .map_err(|e| self.err(e))?;
            children.retain(|c| c.starts_with(ELECTION_PREFIX));
            children.sort_by_key(|c| sequence(c));
            let Some(pos) = children.iter().position(|c| *c == my_name) else {
                return Err(ElectionError::SessionLost(self.client.state()));
            };
            if pos == 0 {
                return Ok(());
            }
            let predecessor = format!("{}/{}", self.settings.election_path, children[pos - 1]);
            let (stat, watcher) = self
                .client
                .check_and_watch_stat(&predecessor)
                .await
                .map_err(|e| self.err(e))?;
            if stat.is_some() {
                watcher.changed().await;
            }
        }
    }

    /// Publishes this master as the leader clients should use.
    pub async fn publish_leader(&self) -> Result<(), ElectionError> {
        let node = self.leader_node();
        let ephemeral = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
        match self.client.create(&node, b"", &ephemeral).await {
            Ok(_) => Ok(()),
            Err(zookeeper_client::Error::NodeExists) => {
                // Left by an earlier session of ours that has not expired yet.
                let _ = self.client.delete(&node, None).await;
                self.client
                    .create(&node, b"", &ephemeral)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.err(e))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    fn leader_node(&self) -> String {
        format!(
            "{}/{}",
            self.settings.leader_path.trim_end_matches('/'),
            self.address
        )
    }

    /// The leader currently published, if any (another master's or ours).
    pub async fn current_leader(&self) -> Option<String> {
        let children = self
            .client
            .list_children(&self.settings.leader_path)
            .await
            .ok()?;
        children.into_iter().next()
    }

    /// The session timeout the server granted: it clamps the requested one
    /// to its `minSessionTimeout`..`maxSessionTimeout`, and the quorum
    /// expires this session that long after it last heard of it.
    pub fn session_timeout(&self) -> Duration {
        self.client.session_timeout()
    }

    /// A write the ZooKeeper quorum must commit (an empty `setData` on the
    /// leader folder, which nobody watches for data): proof that this
    /// session was alive at the ensemble's leader when it was sent. A read
    /// would not do: the server this master talks to answers reads alone,
    /// also while it is cut off from the quorum, which may meanwhile have
    /// expired the session and let another master lead.
    pub async fn touch_quorum(&self) -> bool {
        self.client
            .set_data(self.settings.leader_path.trim_end_matches('/'), b"", None)
            .await
            .is_ok()
    }

    /// Leaves the election: deletes our nodes and closes the session, so a
    /// standby wins at once.
    pub async fn resign(self) {
        let _ = self.client.delete(&self.leader_node(), None).await;
        let _ = self.client.delete(&self.node, None).await;
        drop(self.client);
    }
}

fn sequence(name: &str) -> i64 {
    name.trim_start_matches(ELECTION_PREFIX)
        .parse()
        .unwrap_or(i64::MAX)
}

/// Renews the leader's read lease for as long as it runs: a quorum write
/// ([`Elector::touch_quorum`]) every quarter of the session timeout, each
/// given at most that long. The quorum cannot expire the session earlier
/// than the timeout after a write that went through was sent, so the lease
/// holds until two thirds of it after that send. The timeout is the
/// negotiated one: the server may have granted less than was configured.
pub async fn renew_lease(elector: &Elector, lease: &crate::role::Lease) {
    let timeout = elector.session_timeout();
    let period = (timeout / 4).max(Duration::from_millis(50));
    loop {
        let sent = Instant::now();
        if let Ok(true) = tokio::time::timeout(period, elector.touch_quorum()).await {
            lease.renew(sent + timeout * 2 / 3);
        }
        tokio::time::sleep_until((sent + period).into()).await;
    }
}
