//! The faults of a campaign, drawn from its seed, and their injection into
//! a running cluster: one fault at a time, each held for a while, then
//! healed (the process restarted or let go on).

use std::time::{Duration, Instant};

use super::rng::Rng;
use crate::Cluster;

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
}

pub const ALL: [Fault; 5] = [
    Fault::KillLeader,
    Fault::PauseLeader,
    Fault::KillStandby,
    Fault::KillWorker,
    Fault::PauseWorker,
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
pub fn schedule(rng: &mut Rng, length: Duration, workers: usize) -> Vec<Planned> {
    let mut plan = Vec::new();
    let mut t = Duration::from_millis(rng.between(500, 3000));
    while t + Duration::from_secs(5) < length {
        let fault = *rng.pick(&ALL);
        let hold = Duration::from_millis(match fault {
            Fault::PauseLeader => rng.between(2_500, 8_000),
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
/// after its hold. Returns a line per fault for the report.
pub async fn inject(cluster: &mut Cluster, plan: &[Planned], start: Instant) -> Vec<String> {
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
        };
        log.push(format!(
            "{:>7.1}s {what} for {:.1}s",
            p.at.as_secs_f64(),
            p.hold.as_secs_f64()
        ));
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_keeps_faults_apart_and_inside_the_run() {
        let plan = schedule(&mut Rng::new(5), Duration::from_secs(120), 2);
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
