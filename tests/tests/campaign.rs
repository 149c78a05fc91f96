//! The fault campaign of issue 18 (`alluxio_tests::campaign`): three
//! masters electing through ZooKeeper, two workers, two library clients
//! and one FUSE mount, each in a network namespace of its own
//! (`alluxio_tests::netns`), run a mixed workload while faults drawn from a
//! seed kill and freeze leaders, standbys and workers and cut links
//! between them. Afterwards every client's directory must hold exactly
//! what it was told, the UFS exactly the persisted files, and a fresh
//! replay of the journal the leader's namespace.
//!
//! `scripts/test` runs a few fixed seeds for a bounded time. A longer run:
//!
//!     ALLUXIO_CAMPAIGN_SEEDS=1-40 ALLUXIO_CAMPAIGN_SECS=90 \
//!       cargo nextest run --features alluxio-master/failpoints \
//!       --test campaign --no-capture
//!
//! Each run prints its seed, its schedule and its figures; a failing one is
//! replayed with `ALLUXIO_CAMPAIGN_SEEDS=<seed>`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alluxio_common::seeded::Rng;
use alluxio_tests::campaign::check::{compare, compare_ufs, read_dir, Actual};
use alluxio_tests::campaign::faults::{inject, schedule, Injected};
use alluxio_tests::campaign::workload::{run, Access, ClientRun, Outcome};
use alluxio_tests::fuse::{Floor, FuseMount};
use alluxio_tests::netns::Net;
use alluxio_tests::{Cluster, ClusterOptions};

const WORKERS: usize = 2;

/// `alluxio.master.incomplete.file.timeout` of the campaign's masters:
/// longer than any operation waits for its answer (27 s at most in the
/// long runs of `docs/campaign.md`), so that no live writer's version is
/// ended, and short enough that versions whose writer was killed or gave
/// up are ended before the checks, which then expect the file before the
/// write (or empty, where the write created it).
const INCOMPLETE_TIMEOUT: Duration = Duration::from_secs(40);

/// The network nodes: the test's own clients run in `client`.
const NODES: [&str; 8] = [
    "master0", "master1", "master2", "worker0", "worker1", "zk", "fuse", "client",
];

/// Seeds from `ALLUXIO_CAMPAIGN_SEEDS` (`3`, `1-40` or `1,5,9`), else the
/// fixed ones of every test run.
fn seeds() -> Vec<u64> {
    let Ok(spec) = std::env::var("ALLUXIO_CAMPAIGN_SEEDS") else {
        return vec![1, 2, 3, 4];
    };
    spec.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.trim().parse().unwrap(), b.trim().parse().unwrap());
                (a..=b).collect::<Vec<_>>()
            }
            None => vec![part.trim().parse().unwrap()],
        })
        .collect()
}

fn workload_length() -> Duration {
    let secs = std::env::var("ALLUXIO_CAMPAIGN_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    Duration::from_secs(secs)
}

#[test]
fn fault_campaign_keeps_what_clients_were_told() {
    let net = Arc::new(Net::new(&NODES));
    net.runtime_in("client").block_on(async {
        let mut totals = Figures::default();
        let mut failed = Vec::new();
        for seed in seeds() {
            match campaign(seed, workload_length(), net.clone()).await {
                Ok(figures) => {
                    eprintln!("seed {seed}: {figures:?}");
                    totals.add(&figures);
                }
                Err(report) => {
                    eprintln!("{report}");
                    failed.push(seed);
                }
            }
        }
        eprintln!("all seeds: {totals:?}");
        assert!(
            failed.is_empty(),
            "anomalies with seeds {failed:?} (reports above)"
        );
    });
}

/// What one or more runs did.
#[derive(Debug, Default)]
struct Figures {
    runs: u64,
    faults: BTreeMap<String, u64>,
    operations: u64,
    acknowledged: u64,
    unknown: u64,
    entries_checked: u64,
    staged_left: u64,
    /// Incomplete file versions (their writer killed, or given up) the
    /// master ended after the run.
    versions_ended: u64,
    /// The longest any operation waited for its answer.
    longest_wait: Duration,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.runs += o.runs;
        for (k, v) in &o.faults {
            *self.faults.entry(k.clone()).or_default() += v;
        }
        self.operations += o.operations;
        self.acknowledged += o.acknowledged;
        self.unknown += o.unknown;
        self.entries_checked += o.entries_checked;
        self.staged_left += o.staged_left;
        self.versions_ended += o.versions_ended;
        self.longest_wait = self.longest_wait.max(o.longest_wait);
    }
}

/// One run: its figures, or a report of its anomalies naming the seed and
/// the schedule.
async fn campaign(seed: u64, length: Duration, net: Arc<Net>) -> Result<Figures, String> {
    let mut rng = Rng::new(seed);
    let plan = schedule(&mut rng.fork(), length, WORKERS, true);
    eprintln!("campaign seed {seed}, {length:?}, schedule: {plan:#?}");
    net.heal_all();
    let mut cluster = Cluster::start(ClusterOptions {
        net: Some(net),
        properties: vec![(
            "alluxio.master.incomplete.file.timeout".into(),
            format!("{}s", INCOMPLETE_TIMEOUT.as_secs()),
        )],
        ..ClusterOptions::ha(3, WORKERS)
    })
    .await;
    cluster.leader().await;
    cluster
        .wait_live_workers(WORKERS, Duration::from_secs(30))
        .await;
    let fs = cluster.client();
    for dir in ["/c0", "/c1", "/f0"] {
        fs.create_directory(dir, Default::default()).await.unwrap();
    }
    // Beneath the mount, so that nothing lands on the local disk while a
    // killed daemon's mount is being made again.
    let floor = Floor::lay(&cluster, "mnt");
    let mut fuse = FuseMount::start(&cluster, "/f0", "");
    let clients = [
        ("c0", Access::Library(cluster.client()), "/c0"),
        ("c1", Access::Library(cluster.client()), "/c1"),
        ("f0", Access::Fuse(fuse.mnt.clone()), "/f0"),
    ];
    let start = Instant::now();
    let until = start + length;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(name, access, root)| {
            tokio::spawn(run(
                name.to_string(),
                access,
                root.to_string(),
                rng.fork(),
                start,
                until,
            ))
        })
        .collect();
    let injected = inject(&mut cluster, &mut fuse, &plan, start).await;
    let mut runs: Vec<ClientRun> = Vec::new();
    for t in tasks {
        runs.push(t.await.expect("a client panicked"));
    }
    // Healed: every process runs again. Let operations still in flight
    // inside the cluster end before looking, and commits the FUSE daemon
    // tries again in the background (every 2 s at most) land.
    cluster.leader().await;
    cluster
        .wait_live_workers(WORKERS, Duration::from_secs(60))
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;

    let mut anomalies: Vec<String> = runs.iter().flat_map(|r| r.anomalies.clone()).collect();
    anomalies.extend(unexcused_errors(&runs, &injected));
    let mut figures = Figures {
        runs: 1,
        ..Default::default()
    };
    let roots: Vec<&str> = runs.iter().map(|r| r.root.as_str()).collect();
    match versions_ended(&fs, &roots).await {
        Ok(n) => figures.versions_ended = n,
        Err(e) => anomalies.push(e),
    }
    for i in &injected {
        *figures.faults.entry(format!("{:?}", i.fault)).or_default() += 1;
    }
    let mut live = BTreeMap::new();
    for r in &runs {
        figures.operations += r.events.len() as u64;
        for e in &r.events {
            figures.longest_wait = figures.longest_wait.max(e.took);
        }
        figures.acknowledged += r.events.iter().filter(|e| e.outcome == Outcome::Ok).count() as u64;
        figures.unknown += r
            .events
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Unknown(_)))
            .count() as u64;
        let actual = match read_dir(&fs, &r.root).await {
            Ok(a) => a,
            Err(e) => {
                anomalies.push(e);
                continue;
            }
        };
        figures.entries_checked += actual.len() as u64;
        anomalies.extend(compare(r, &actual));
        let (ufs, staged) = compare_ufs(&cluster.ufs_dir(), &r.root, &actual);
        anomalies.extend(ufs);
        figures.staged_left += staged as u64;
        live.insert(r.root.clone(), actual);
    }
    anomalies.extend(replay_matches(&cluster, &live).await);

    if !anomalies.is_empty() {
        // Every operation that was not acknowledged, then the last ones.
        let mut events: Vec<(Duration, String)> = runs
            .iter()
            .flat_map(|r| {
                r.events.iter().map(move |e| {
                    (
                        e.at,
                        format!(
                            "{:>7.2}s {} {:?} -> {:?} ({:?})",
                            e.at.as_secs_f64(),
                            r.name,
                            e.op,
                            e.outcome,
                            e.took
                        ),
                    )
                })
            })
            .collect();
        events.sort_by_key(|(at, _)| *at);
        let mut history: Vec<String> = events
            .iter()
            .filter(|(_, line)| !line.contains("-> Ok"))
            .map(|(_, line)| line.clone())
            .collect();
        history.push("...".into());
        history.extend(
            events[events.len().saturating_sub(30)..]
                .iter()
                .map(|(_, line)| line.clone()),
        );
        return Err(format!(
            "campaign seed {seed}: {} anomalies:\n{}\n\nfaults:\n{}\n\nhistory (not acknowledged, then the last):\n{}\n\n\
             server warnings (tail):\n{}\nevery log: {}\n\
             replay with ALLUXIO_CAMPAIGN_SEEDS={seed} ALLUXIO_CAMPAIGN_SECS={}",
            anomalies.len(),
            anomalies.join("\n"),
            injected
                .iter()
                .map(|i| i.line.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            history.join("\n"),
            cluster.warnings(15),
            save_logs(&cluster, seed).display(),
            length.as_secs()
        ));
    }
    drop(fuse);
    drop(floor);
    Ok(figures)
}

/// Waits until no file under `roots` is incomplete: the master ends each
/// version whose writer is gone `INCOMPLETE_TIMEOUT` after it last saw a
/// sign of it (or after it became leader). Returns how many files were
/// incomplete at first; an error names those still incomplete past twice
/// the timeout and a margin.
async fn versions_ended(fs: &alluxio_client::FileSystem, roots: &[&str]) -> Result<u64, String> {
    let deadline = Instant::now() + INCOMPLETE_TIMEOUT * 2 + Duration::from_secs(20);
    let mut first = None;
    loop {
        let mut incomplete = Vec::new();
        for root in roots {
            let listing = fs
                .list_status(root, false)
                .await
                .map_err(|e| format!("listing {root}: {e}"))?;
            incomplete.extend(listing.into_iter().filter(|i| !i.completed).map(|i| i.path));
        }
        let at_first = *first.get_or_insert(incomplete.len() as u64);
        if incomplete.is_empty() {
            return Ok(at_first);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{incomplete:?} still incomplete {:?} after the run (the master ends \
                 abandoned versions after {INCOMPLETE_TIMEOUT:?})",
                INCOMPLETE_TIMEOUT * 2 + Duration::from_secs(20)
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Copies every log of `cluster` (its servers' and its FUSE daemon's) to a
/// directory that outlives it, for the report of a failed run.
fn save_logs(cluster: &Cluster, seed: u64) -> std::path::PathBuf {
    let to = std::env::temp_dir().join(format!(
        "alluxio-campaign-seed{seed}-{}",
        std::process::id()
    ));
    let _ = std::fs::create_dir_all(&to);
    for dir in [
        cluster.path().to_path_buf(),
        cluster.path().join(".alluxio/logs"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                let _ = std::fs::copy(&path, to.join(entry.file_name()));
            }
        }
    }
    to
}

/// Errors that reached a program through FUSE while no fault that
/// clients cannot hide (`Fault::reaches_programs`) was injected: the
/// retries should have hidden them. An operation counts as excused when it
/// was under way at any time from such a fault's start until a second
/// after its heal.
fn unexcused_errors(runs: &[ClientRun], injected: &[Injected]) -> Vec<String> {
    let excused = |from: Duration, to: Duration| {
        injected.iter().any(|i| {
            i.fault.reaches_programs() && from <= i.to + Duration::from_secs(1) && to >= i.from
        })
    };
    runs.iter()
        .filter(|r| r.fuse)
        .flat_map(|r| {
            r.events.iter().filter_map(move |e| match &e.outcome {
                Outcome::Unknown(err) if !excused(e.at, e.at + e.took) => Some(format!(
                    "{}: {:?} at {:.2}s: an error reached the program: {err}",
                    r.name,
                    e.op,
                    e.at.as_secs_f64()
                )),
                _ => None,
            })
        })
        .collect()
}

/// A fresh replay of the journal, alone, reaches what the leader serves
/// for every client's directory.
async fn replay_matches(
    cluster: &Cluster,
    live: &BTreeMap<String, BTreeMap<String, Actual>>,
) -> Vec<String> {
    let store = alluxio_journal::JournalStore::open(
        cluster.journal_dir().to_str().unwrap(),
        &Default::default(),
    )
    .unwrap();
    let replayed = match alluxio_master::recovery::recover(&store).await {
        Ok(ns) => ns,
        Err(e) => return vec![format!("the journal does not replay: {e}")],
    };
    let mut anomalies = Vec::new();
    for (root, entries) in live {
        let dir = alluxio_common::AlluxioPath::parse(root).unwrap();
        let Ok(inode) = replayed.resolve(&dir) else {
            anomalies.push(format!("replay: {root} is missing"));
            continue;
        };
        let names: Vec<&String> = replayed
            .children(inode.id)
            .map(|c| c.keys().collect())
            .unwrap_or_default();
        let want: Vec<&String> = entries.keys().collect();
        if names != want {
            anomalies.push(format!(
                "replay: {root} holds {names:?}, the leader {want:?}"
            ));
            continue;
        }
        for (name, actual) in entries {
            let inode = replayed.resolve(&dir.join(name).unwrap()).unwrap();
            let (mode, length) = match &actual.node {
                alluxio_tests::campaign::model::Node::File { data, mode } => {
                    (*mode, data.len() as u64)
                }
                alluxio_tests::campaign::model::Node::Dir { mode } => (*mode, 0),
            };
            let len_ok = !actual.completed || inode.length == length;
            if inode.mode & 0o7777 != mode || !len_ok || inode.completed != actual.completed {
                anomalies.push(format!(
                    "replay: {root}/{name} is mode {:o}, {} bytes, completed {}; the leader \
                     serves mode {mode:o}, {length} bytes, completed {}",
                    inode.mode & 0o7777,
                    inode.length,
                    inode.completed,
                    actual.completed
                ));
            }
        }
    }
    anomalies
}
