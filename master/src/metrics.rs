//! The master's metrics and its web pages (`/metrics` and the status page
//! at `/`, served by `alluxio_common::web`).
//!
//! The journal's event metrics (publish latency, batch sizes) are its own
//! (`alluxio_journal::metrics`), registered in the same registry; state
//! metrics (leadership,
//! journal position, workers) are read from the role cell just before each
//! scrape, so they cannot drift from what `GetMasterInfo` reports. A standby
//! learns its lag by asking the leader for its position once a second.

use std::fmt::Write;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use alluxio_common::config::units::format_bytes;
use alluxio_common::metrics::{self, Gauge};
use alluxio_common::web::Pages;
use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use alluxio_proto::GetMasterInfoRequest;

use crate::role::{Role, RoleCell};
use crate::service::fs::ClusterFacts;

/// The master's own metrics (RPC metrics are `alluxio_common::metrics::rpc`).
pub struct MasterMetrics {
    /// 1 while this master leads and may serve, else 0.
    pub is_leader: Gauge,
    /// Last journal sequence number durable (leader) or applied (standby).
    pub journal_sequence: Gauge,
    /// Journal term of that position.
    pub journal_term: Gauge,
    /// Entries the leader has published that this standby has not applied.
    pub standby_lag: Gauge,
    /// Workers the leader hears from / has lost.
    pub workers_live: Gauge,
    pub workers_lost: Gauge,
    /// Sum of the live workers' tier capacities and use.
    pub cluster_capacity_bytes: Gauge,
    pub cluster_used_bytes: Gauge,
}

/// The metrics, registered on first use.
pub static METRICS: LazyLock<MasterMetrics> = LazyLock::new(|| {
    MasterMetrics {
    is_leader: metrics::register(
        "master_is_leader",
        "1 while this master is the serving leader, 0 otherwise.",
        Gauge::default(),
    ),
    journal_sequence: metrics::register(
        "master_journal_sequence",
        "Last journal sequence number durable (leader) or applied (standby).",
        Gauge::default(),
    ),
    journal_term: metrics::register(
        "master_journal_term",
        "Journal term of this master's position.",
        Gauge::default(),
    ),
    standby_lag: metrics::register(
        "master_standby_lag_entries",
        "Journal entries the leader has published that this standby has not applied (0 on the leader).",
        Gauge::default(),
    ),
    workers_live: metrics::register(
        "master_workers_live",
        "Workers the leader hears from.",
        Gauge::default(),
    ),
    workers_lost: metrics::register(
        "master_workers_lost",
        "Workers the leader has lost contact with.",
        Gauge::default(),
    ),
    cluster_capacity_bytes: metrics::register(
        "master_cluster_capacity_bytes",
        "Sum of the live workers' tier capacities.",
        Gauge::default(),
    ),
    cluster_used_bytes: metrics::register(
        "master_cluster_used_bytes",
        "Sum of the live workers' used bytes.",
        Gauge::default(),
    ),
}
});

/// Registers every master metric so all show before their first event.
pub fn init() {
    LazyLock::force(&METRICS);
    alluxio_journal::metrics::init();
    metrics::rpc::init();
}

/// Brings the state gauges up to date.
fn refresh(role: &RoleCell) {
    let m = &*METRICS;
    let leading = role.leader().ok();
    m.is_leader.set(i64::from(leading.is_some()));
    let (seq, term) = role.journal_position();
    m.journal_sequence.set(seq as i64);
    m.journal_term.set(term as i64);
    if let Some(leadership) = leading {
        m.standby_lag.set(0);
        let workers = leadership.blocks.worker_infos();
        let live: Vec<_> = workers.iter().filter(|w| w.live).collect();
        m.workers_live.set(live.len() as i64);
        m.workers_lost.set((workers.len() - live.len()) as i64);
        let tiers = || live.iter().flat_map(|w| w.tiers.iter());
        m.cluster_capacity_bytes
            .set(tiers().map(|t| t.capacity_bytes).sum::<u64>() as i64);
        m.cluster_used_bytes
            .set(tiers().map(|t| t.used_bytes).sum::<u64>() as i64);
    }
}

/// The pages of the master's web port.
pub fn pages(role: Arc<RoleCell>, cluster: Arc<ClusterFacts>) -> Pages {
    let for_refresh = role.clone();
    Pages {
        status: Arc::new(move || status(&role, &cluster)),
        refresh: Some(Arc::new(move || refresh(&for_refresh))),
    }
}

/// The status page: who this master is, who leads, how far the journal
/// is, and (on the leader) the workers.
fn status(role: &RoleCell, cluster: &ClusterFacts) -> String {
    let mut out = String::new();
    let (seq, term) = role.journal_position();
    let leading = role.leader().ok();
    let name = match (&leading, role.role()) {
        (Some(_), _) => "LEADER",
        (None, Role::Leader(_)) => "NOT_SERVING",
        (None, other) => other.name(),
    };
    let _ = writeln!(out, "Alluxio master {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "role:            {name}");
    let _ = writeln!(out, "address:         {}", role.address);
    let leader = role.leader_hint().unwrap_or_else(|| "unknown".into());
    let _ = writeln!(out, "leader:          {leader}");
    let _ = writeln!(out, "journal:         sequence {seq}, term {term}");
    let _ = writeln!(out, "journal folder:  {}", cluster.journal_folder);
    let _ = writeln!(out, "root ufs:        {}", cluster.root_ufs);
    let _ = writeln!(out, "cluster id:      {}", cluster.cluster_id);
    if role.role().name() == "STANDBY" {
        let lag = METRICS.standby_lag.get();
        let _ = writeln!(out, "standby lag:     {lag} entries");
    }
    let Some(leadership) = leading else {
        let _ = writeln!(out, "workers:         known to the leader only");
        return out;
    };
    let workers = leadership.blocks.worker_infos();
    let live = workers.iter().filter(|w| w.live).count();
    let _ = writeln!(
        out,
        "workers:         {live} live, {} lost",
        workers.len() - live
    );
    let (mut capacity, mut used) = (0u64, 0u64);
    for w in &workers {
        let address = w
            .address
            .as_ref()
            .map(|a| format!("{}:{}", a.host, a.rpc_port))
            .unwrap_or_default();
        let state = if w.live { "live" } else { "lost" };
        let _ = write!(
            out,
            "  worker {:<4} {address:<22} {state:<5} blocks {:<6}",
            w.id, w.block_count
        );
        for t in &w.tiers {
            let _ = write!(
                out,
                " {} {}/{}",
                t.alias,
                format_bytes(t.used_bytes),
                format_bytes(t.capacity_bytes)
            );
            if w.live {
                capacity += t.capacity_bytes;
                used += t.used_bytes;
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "capacity:        {} used of {}",
        format_bytes(used),
        format_bytes(capacity)
    );
    out
}

/// While this master is a standby, asks the leader for its journal position
/// once a second and records how far behind this master is.
pub async fn track_standby_lag(role: Arc<RoleCell>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut client: Option<(String, FileSystemMasterClient<tonic::transport::Channel>)> = None;
    loop {
        tick.tick().await;
        if !matches!(role.role(), Role::Standby) {
            continue;
        }
        let Some(leader) = role.leader_hint().filter(|l| *l != role.address) else {
            continue;
        };
        if client
            .as_ref()
            .is_none_or(|(address, _)| *address != leader)
        {
            let Ok(channel) = alluxio_common::channel::channel(&leader, None) else {
                continue;
            };
            client = Some((leader.clone(), FileSystemMasterClient::new(channel)));
        }
        let Some((_, c)) = client.as_mut() else {
            continue;
        };
        let asked = tokio::time::timeout(
            Duration::from_secs(1),
            c.get_master_info(GetMasterInfoRequest {}),
        )
        .await;
        match asked {
            Ok(Ok(reply)) => {
                let leader_seq = reply.into_inner().journal_sequence;
                let own = role.position().0;
                METRICS
                    .standby_lag
                    .set(leader_seq.saturating_sub(own) as i64);
            }
            Ok(Err(e)) => tracing::debug!("standby lag: {leader} answered {e}"),
            Err(_) => tracing::debug!("standby lag: {leader} did not answer within 1s"),
        }
    }
}
