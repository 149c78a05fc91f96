//! The faults of a campaign, drawn from its seed, and their injection into
//! a running cluster: one fault at a time, each held for a while, then
//! healed (the process restarted or let go on, the links restored, the
//! failpoints disarmed).

use std::time::{Duration, Instant};

use crate::fuse::FuseMount;
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
    /// SIGKILL the ZooKeeper server; restarted (same data) when healed.
    KillZooKeeper,
    /// SIGSTOP the ZooKeeper server; SIGCONT when healed.
    PauseZooKeeper,
    /// SIGKILL the FUSE daemon; the mount is detached and made again when
    /// healed. Programs using it meanwhile get errors (ENOTCONN).
    KillFuse,
    /// Every UFS call of every master and worker takes half a second more.
    SlowUfs,
    /// Every UFS `fsync` of every master and worker fails with EIO: writes
    /// fail (through FUSE, with EIO); namespace changes wait and retry.
    FailingUfsFsync,
    /// Every journal write of the leader takes half a second more.
    SlowJournal,
    /// The leader's next journal `fdatasync` fails with EIO: it must stop
    /// (never acknowledging that batch); restarted, as a supervisor would.
    JournalFsyncEio,
}

impl Fault {
    /// Whether programs using the FUSE mount may see errors while the
    /// fault lasts (it is not one the clients' retries can hide).
    pub fn reaches_programs(self) -> bool {
        matches!(self, Fault::KillFuse | Fault::FailingUfsFsync)
    }
}

/// Faults that need no network namespaces.
pub const PROCESS_FAULTS: [Fault; 12] = [
    Fault::KillLeader,
    Fault::PauseLeader,
    Fault::KillStandby,
    Fault::KillWorker,
    Fault::PauseWorker,
    Fault::KillZooKeeper,
    Fault::PauseZooKeeper,
    Fault::KillFuse,
    Fault::SlowUfs,
    Fault::FailingUfsFsync,
    Fault::SlowJournal,
    Fault::JournalFsyncEio,
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
            Fault::PauseZooKeeper => rng.between(1_000, 8_000),
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

/// A fault as it was injected.
#[derive(Debug, Clone)]
pub struct Injected {
    pub fault: Fault,
    /// When it began and when it was healed, from the campaign's start.
    pub from: Duration,
    pub to: Duration,
    /// A line for the report.
    pub line: String,
}

/// Every process that reads failpoints: the masters and the workers.
fn every_server(cluster: &Cluster) -> Vec<String> {
    (0..cluster.master_count())
        .map(|m| format!("master{m}"))
        .chain((0..cluster.worker_ports.len()).map(|w| format!("worker{w}")))
        .collect()
}

/// Names `points` in every master and worker for `hold`, then disarms
/// them; returns when the hold ended (the heal began).
async fn arm_everywhere(cluster: &Cluster, points: &str, hold: Duration) -> Instant {
    let servers = every_server(cluster);
    for s in &servers {
        cluster.arm(s, points);
    }
    tokio::time::sleep(hold).await;
    let healing = Instant::now();
    for s in &servers {
        cluster.arm(s, "");
    }
    healing
}

/// Injects `plan` into `cluster` (started at `start`) and its FUSE mount,
/// healing each fault after its hold.
pub async fn inject(
    cluster: &mut Cluster,
    fuse: &mut FuseMount,
    plan: &[Planned],
    start: Instant,
) -> Vec<Injected> {
    let mut log = Vec::new();
    for p in plan {
        tokio::time::sleep_until((start + p.at).into()).await;
        let leader = cluster.leader().await;
        let masters = cluster.master_count();
        let from = start.elapsed();
        // When the hold ended and the heal began: a heal that takes long
        // (a restart, many route changes) shows in the report.
        let healing;
        let what = match p.fault {
            Fault::KillLeader => {
                cluster.kill_master_i(leader);
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                cluster.start_master_i(leader).await;
                format!("killed leader master{leader}")
            }
            Fault::PauseLeader => {
                cluster.pause_master(leader);
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                cluster.resume_master(leader);
                format!("paused leader master{leader}")
            }
            Fault::KillStandby => {
                let standby = (leader + 1) % masters;
                cluster.kill_master_i(standby);
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                cluster.start_master_i(standby).await;
                format!("killed standby master{standby}")
            }
            Fault::KillWorker => {
                cluster.kill_worker(p.worker);
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                cluster.start_worker(p.worker);
                format!("killed worker{}", p.worker)
            }
            Fault::PauseWorker => {
                cluster.pause_worker(p.worker);
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                cluster.resume_worker(p.worker);
                format!("paused worker{}", p.worker)
            }
            Fault::KillZooKeeper => {
                cluster.zk_server().kill();
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                tokio::task::block_in_place(|| cluster.zk_server().restart());
                "killed zookeeper".to_string()
            }
            Fault::PauseZooKeeper => {
                cluster.zk_server().pause();
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                cluster.zk_server().resume();
                "paused zookeeper".to_string()
            }
            Fault::KillFuse => {
                fuse.kill_daemon();
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                tokio::task::block_in_place(|| {
                    fuse.unmount();
                    fuse.mount(cluster);
                });
                "killed the fuse daemon".to_string()
            }
            Fault::SlowUfs => {
                healing = arm_everywhere(cluster, "ufs_slow", p.hold).await;
                "slowed every UFS call".to_string()
            }
            Fault::FailingUfsFsync => {
                // A commit that fails at a file's last close for a reason
                // that retrying cannot fix is logged as an ERROR.
                cluster.expect_log("at release failed");
                healing = arm_everywhere(cluster, "ufs_fsync_eio", p.hold).await;
                "failed every UFS fsync with EIO".to_string()
            }
            Fault::SlowJournal => {
                let node = format!("master{leader}");
                cluster.arm(&node, "journal_write_delay");
                tokio::time::sleep(p.hold).await;
                healing = Instant::now();
                cluster.arm(&node, "");
                format!("slowed the journal writes of master{leader}")
            }
            Fault::JournalFsyncEio => {
                let node = format!("master{leader}");
                let hits = |c: &Cluster| {
                    c.master_log_i(leader)
                        .matches("failpoint journal_sync_eio reached")
                        .count()
                };
                let before = hits(cluster);
                cluster.expect_log("journal writer stopped");
                cluster.arm(&node, "journal_sync_eio");
                let until = Instant::now() + p.hold;
                while Instant::now() < until && !cluster.master_exited(leader) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                healing = Instant::now();
                cluster.arm(&node, "");
                let outcome = if cluster.master_exited(leader) {
                    cluster.start_master_i(leader).await;
                    "it exited and was restarted"
                } else if hits(cluster) > before {
                    "it stepped down"
                } else {
                    "it wrote nothing meanwhile"
                };
                format!("failed a journal fdatasync of master{leader} ({outcome})")
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
                healing = Instant::now();
                net.heal_all();
                what
            }
        };
        log.push(Injected {
            fault: p.fault,
            from,
            to: start.elapsed(),
            line: format!(
                "{:>7.1}s {what} for {:.1}s (planned at {:.1}s; healed at {:.1}s, the heal \
                 taking {:.1}s)",
                from.as_secs_f64(),
                p.hold.as_secs_f64(),
                p.at.as_secs_f64(),
                start.elapsed().as_secs_f64(),
                healing.elapsed().as_secs_f64()
            ),
        });
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
