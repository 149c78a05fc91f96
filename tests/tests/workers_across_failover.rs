//! Workers across a master failover (issue 17). Point 11: a worker's id is
//! its own stable identity, kept in its top tier, so it is the same under
//! every leader. With ids counted by each leader, the worker that
//! registered first with the old leader and last with the new one swapped
//! ids with the other, and whatever it had sent under its old id — a
//! heartbeat, a block commit still in flight — was taken for the other
//! worker's. Point 13: a read of cache-only data waits for the worker
//! holding it to register with the new leader.

use std::time::{Duration, Instant};

use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

/// The ids a worker was registered under, in order, from its log.
fn registrations(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|l| l.split(" as worker ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

async fn wait_registrations(cluster: &Cluster, i: usize, n: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = registrations(&cluster.worker_log(i));
        if ids.len() >= n {
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "worker{i} did not register {n} times:\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_ids_survive_a_failover() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 2)).await;
    let old = cluster.leader().await;
    let before = [
        wait_registrations(&cluster, 0, 1).await[0],
        wait_registrations(&cluster, 1, 1).await[0],
    ];
    assert_ne!(before[0], before[1]);
    // Worker `a` (the lower id: first in a leader's count) stays away until
    // `b` has registered with the new leader.
    let a = if before[0] < before[1] { 0 } else { 1 };
    let b = 1 - a;
    cluster.pause_worker(a);
    cluster.kill_master_i(old);
    let new = cluster.wait_new_leader(old, Duration::from_secs(30)).await;
    wait_registrations(&cluster, b, 2).await;
    cluster.resume_worker(a);
    let after = [
        *wait_registrations(&cluster, 0, 2).await.last().unwrap(),
        *wait_registrations(&cluster, 1, 2).await.last().unwrap(),
    ];
    assert_eq!(after, before, "worker ids changed across the failover");
    cluster.wait_live_workers(2, Duration::from_secs(30)).await;

    // A block commit `a` sent to the old leader and that reaches the new one
    // late (the same message, replayed): the block is located at `a`.
    let fs = cluster.client();
    let mut out = fs.create_file("/late", Default::default()).await.unwrap();
    out.write(&test_bytes(1, 1000)).await.unwrap();
    out.close().await.unwrap();
    let block = fs.get_status("/late").await.unwrap().blocks[0].block_id;
    let mut master = alluxio_proto::block_master_client::BlockMasterClient::connect(format!(
        "http://127.0.0.1:{}",
        cluster.master_ports[new]
    ))
    .await
    .unwrap();
    master
        .commit_block(alluxio_proto::CommitBlockRequest {
            worker_id: before[a],
            block_id: block,
            length: 1000,
            tier_alias: "MEM".into(),
            tiers: vec![],
        })
        .await
        .unwrap();
    let locations = fs.get_status("/late").await.unwrap().blocks[0]
        .locations
        .clone();
    let ports: Vec<u32> = locations
        .iter()
        .map(|l| l.address.as_ref().unwrap().rpc_port)
        .collect();
    assert!(
        ports.contains(&u32::from(cluster.worker_ports[a])),
        "the commit of worker{a} (id {}) was recorded at {ports:?}; worker{a} is on port {}",
        before[a],
        cluster.worker_ports[a]
    );
    for l in &locations {
        let port = l.address.as_ref().unwrap().rpc_port;
        let i = cluster
            .worker_ports
            .iter()
            .position(|p| u32::from(*p) == port)
            .unwrap();
        assert_eq!(l.worker_id, after[i], "location {l:?}");
    }
}

/// Point 13 of issue 17: right after a failover the new leader knows a
/// block's locations only once the worker holding it registered again. A
/// read of a file held only in the cache (MUST_CACHE) waits for that
/// instead of failing at once (EIO through the mount).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_a_failover_waits_for_the_worker_to_register() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 1)).await;
    let fs = cluster.client();
    let opts = alluxio_client::CreateFileOptions {
        write_type: Some(alluxio_proto::WriteType::MustCache),
        ..Default::default()
    };
    let mut out = fs.create_file("/cached-only", opts).await.unwrap();
    out.write(&test_bytes(5, 300_000)).await.unwrap();
    out.close().await.unwrap();

    let old = cluster.leader().await;
    cluster.pause_worker(0);
    cluster.kill_master_i(old);
    cluster.wait_new_leader(old, Duration::from_secs(30)).await;
    let reader = tokio::spawn(async move {
        let mut input = fs.open_file("/cached-only").await?;
        input.read_to_end().await
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !reader.is_finished(),
        "the read gave up: {:?}",
        reader.await
    );
    cluster.resume_worker(0);
    let bytes = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the read did not finish")
        .unwrap()
        .expect("the read failed");
    assert_eq!(&bytes[..], &test_bytes(5, 300_000)[..]);
}
