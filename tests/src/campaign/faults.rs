//! The faults of a campaign, drawn from its seed, and their injection into
//! a running cluster: one fault at a time, each held for a while, then
//! healed (the process restarted or let go on, the links restored).

use std::time::{Duration, Instant};

use crate::Cluster;
use alluxio_common::seeded::Rng;

/// A fault the campaign injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL the leading master; restarted when healed.
    KillLeader,
    /// SIGSTOP the leading master (a long pause, longer than its ZooKeeper
    /// session); SIGCONT when healed: a zombie that must acknowledge
    /// nothing more.
    PauseLeader,
    /// SIGKILL a standby master; restarted when healed.
    KillStandby,
    /// SIGKILL a worker; restarted when healed.
    KillWorker,
    /// SIGSTOP a worker; SIGCONT when healed.
    PauseWorker,
    /// Cut the leader from ZooKeeper, not from clients, workers or the
    /// other masters: it must stop acknowledging within its lease while a
    /// new leader takes over.
    LeaderFromZooKeeper,
    /// Cut the leader from clients and workers, not from ZooKeeper: clients
    /// wait and retry until the link heals.
    LeaderFromClients,
    /// Cut the leader from everything.
    IsolateLeader,
    /// Cut a worker from every master past its heartbeat timeout: it is
    /// marked lost and registers again once healed.
    WorkerFromMasters,
    /// Cut the FUSE daemon from everything (shorter than the clients'
    /// retry budget): no error may reach the programs using the mount.
    IsolateFuse,
}

/// Faults that need no network namespaces.
pub const PROCESS_FAULTS: [Fault; 5] = [
    Fault::KillLeader,
    Fault::PauseLeader,
    Fault::KillStandby,
    Fault::KillWorker,
    Fault::PauseWorker,
];

/// Faults that cut links between network namespaces.
pub const PARTITIONS: [Fault; 5] = [
    Fault::LeaderFromZooKeeper,
    Fault::LeaderFromClients,
    Fault::IsolateLeader,
    Fault::WorkerFromMasters,
    Fault::IsolateFuse,
];

/// One fault of a schedule.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    /// When it starts, from the campaign's start.
    pub at: Duration,
    pub fault: Fault,
    /// How long it lasts before it is healed.
    pub hold: Duration,
    /// Which worker (for worker faults), drawn with the schedule.
    pub worker: usize,
}

/// A schedule of faults for a workload of `length`: one at a time, with a
/// quiet gap after each, none starting in the last five seconds.
pub fn schedule(rng: &mut Rng, length: Duration, workers: usize, partitions: bool) -> Vec<Planned> {
    let mut kinds = PROCESS_FAULTS.to_vec();
    if partitions {
        kinds.extend(PARTITIONS);
    }
    let mut plan = Vec::new();
    let mut t = Duration::from_millis(rng.between(500, 3000));
    while t + Duration::from_secs(5) < length {
        let fault = *rng.pick(&kinds);
        let hold = Duration::from_millis(match fault {
            Fault::PauseLeader | Fault::LeaderFromZooKeeper => rng.between(2_500, 8_000),
            Fault::WorkerFromMasters => rng.between(3_500, 8_000),
            Fault::IsolateFuse => rng.between(2_000, 10_000),
            _ => rng.between(300, 6_000),
        });
        plan.push(Planned {
            at: t,
            fault,
            hold,
            worker: rng.below(workers as u64) as usize,
        });
        t += hold + Duration::from_millis(rng.between(1_000, 5_000));
    }
    plan
}

/// Injects `plan` into `cluster` (started at `start`), healing each fault
/// after its hold. Returns each fault with a line for the report.
pub async fn inject(
    cluster: &mut Cluster,
    plan: &[Planned],
    start: Instant,
) -> Vec<(Fault, String)> {
    let mut log = Vec::new();
    for p in plan {
        tokio::time::sleep_until((start + p.at).into()).await;
        let leader = cluster.leader().await;
        let masters = cluster.master_count();
        let what = match p.fault {
            Fault::KillLeader => {
                cluster.kill_master_i(leader);
                tokio::time::sleep(p.hold).await;
                cluster.start_master_i(leader).await;
                format!("killed leader master{leader}")
            }
            Fault::PauseLeader => {
                cluster.pause_master(leader);
                tokio::time::sleep(p.hold).await;
                cluster.resume_master(leader);
                format!("paused leader master{leader}")
            }
            Fault::KillStandby => {
                let standby = (leader + 1) % masters;
                cluster.kill_master_i(standby);
                tokio::time::sleep(p.hold).await;
                cluster.start_master_i(standby).await;
                format!("killed standby master{standby}")
            }
            Fault::KillWorker => {
                cluster.kill_worker(p.worker);
                tokio::time::sleep(p.hold).await;
                cluster.start_worker(p.worker);
                format!("killed worker{}", p.worker)
            }
            Fault::PauseWorker => {
                cluster.pause_worker(p.worker);
                tokio::time::sleep(p.hold).await;
                cluster.resume_worker(p.worker);
                format!("paused worker{}", p.worker)
            }
            partition => {
                let net = cluster.net().expect("partitions need network namespaces");
                let leader = format!("master{leader}");
                let worker = format!("worker{}", p.worker);
                let workers = cluster.worker_ports.len();
                let mut links: Vec<(String, String)> = Vec::new();
                let what = match partition {
                    Fault::LeaderFromZooKeeper => {
                        links.push((leader.clone(), "zk".into()));
                        format!("cut {leader} from zk")
                    }
                    Fault::LeaderFromClients => {
                        for other in ["client".to_string(), "fuse".to_string()]
                            .into_iter()
                            .chain((0..workers).map(|w| format!("worker{w}")))
                        {
                            links.push((leader.clone(), other));
                        }
                        format!("cut {leader} from clients and workers")
                    }
                    Fault::IsolateLeader => {
                        net.isolate(&leader);
                        format!("cut {leader} from everything")
                    }
                    Fault::WorkerFromMasters => {
                        for m in 0..masters {
                            links.push((worker.clone(), format!("master{m}")));
                        }
                        format!("cut {worker} from the masters")
                    }
                    Fault::IsolateFuse => {
                        net.isolate("fuse");
                        "cut fuse from everything".to_string()
                    }
                    _ => unreachable!("not a partition: {partition:?}"),
                };
                for (a, b) in &links {
                    net.cut(a, b);
                }
                tokio::time::sleep(p.hold).await;
                net.heal_all();
                what
            }
        };
        log.push((
            p.fault,
            format!(
                "{:>7.1}s {what} for {:.1}s",
                p.at.as_secs_f64(),
                p.hold.as_secs_f64()
            ),
        ));
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_keeps_faults_apart_and_inside_the_run() {
        let plan = schedule(&mut Rng::new(5), Duration::from_secs(120), 2, true);
        assert!(plan.len() > 5);
        for w in plan.windows(2) {
            assert!(w[0].at + w[0].hold < w[1].at, "{w:?}");
        }
        assert!(plan
            .iter()
            .all(|p| p.at + Duration::from_secs(5) < Duration::from_secs(120)));
        assert!(plan.iter().all(|p| p.worker < 2));
    }
}
