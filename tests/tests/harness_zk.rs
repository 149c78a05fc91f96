//! Tests of the harness itself: real ZooKeeper servers (single and quorum)
//! and clusters that run with ZooKeeper and several masters.

use std::time::Duration;

use alluxio_tests::zookeeper::{four_letter_word, server_mode};
use alluxio_tests::{Cluster, ClusterOptions, Zk, ZkEnsemble, ZkServer};

/// Whether process `pid` still exists (not even as a zombie).
fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn single_server_answers_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut zk = ZkServer::start(dir.path());
    assert_eq!(zk.four_letter("ruok").as_deref(), Some("imok"));
    assert_eq!(server_mode(zk.port).as_deref(), Some("standalone"));
    assert_eq!(zk.connect_string(), format!("127.0.0.1:{}", zk.port));
    let log = std::fs::read_to_string(zk.log_path()).unwrap();
    assert!(log.contains("binding to port"), "no server log:\n{log}");

    let pid = zk.proc().unwrap().pid();
    zk.kill();
    assert!(!alive(pid));
    assert!(!zk.serving());
    zk.restart();
    assert!(zk.serving());
    assert_eq!(zk.stop(), Some(143), "SIGTERM exit:\n{}", zk.log_tail(20));
    zk.restart();
    assert!(zk.serving());

    // Pause: the server stops answering; resume: it answers again.
    zk.pause();
    assert_eq!(zk.four_letter("ruok"), None);
    zk.resume();
    assert_eq!(zk.four_letter("ruok").as_deref(), Some("imok"));

    let pid = zk.proc().unwrap().pid();
    drop(zk);
    assert!(!alive(pid), "ZooKeeper outlived its handle");
}

#[test]
fn a_panicking_test_kills_its_zookeeper() {
    let dir = tempfile::tempdir().unwrap();
    let pid = std::sync::atomic::AtomicI32::new(-1);
    let result = std::panic::catch_unwind(|| {
        let mut zk = ZkServer::start(dir.path());
        pid.store(
            zk.proc().unwrap().pid(),
            std::sync::atomic::Ordering::SeqCst,
        );
        panic!("test failure");
    });
    assert!(result.is_err());
    let pid = pid.load(std::sync::atomic::Ordering::SeqCst);
    assert!(pid > 0);
    assert!(!alive(pid), "ZooKeeper outlived a panic");
}

#[test]
fn ensemble_serves_with_two_of_three_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut zk = ZkEnsemble::start(dir.path(), 3);
    assert_eq!(zk.len(), 3);
    let connect = zk.connect_string();
    assert_eq!(connect.split(',').count(), 3);
    for (i, port) in zk.ports.iter().enumerate() {
        assert!(connect.contains(&format!("127.0.0.1:{port}")));
        assert_eq!(
            four_letter_word(*port, "ruok").as_deref(),
            Some("imok"),
            "member {i}"
        );
    }
    let modes: Vec<String> = (0..3).map(|i| zk.mode(i).unwrap()).collect();
    assert_eq!(
        modes.iter().filter(|m| *m == "leader").count(),
        1,
        "{modes:?}"
    );
    assert_eq!(
        modes.iter().filter(|m| *m == "follower").count(),
        2,
        "{modes:?}"
    );
    let leader = zk.leader().unwrap();

    // Killing the leader leaves a quorum of two that elects a new one.
    let pid = zk.proc(leader).unwrap().pid();
    zk.kill(leader);
    assert!(!alive(pid));
    assert_eq!(zk.running_count(), 2);
    let new_leader = zk.wait_quorum(Duration::from_secs(60));
    assert_ne!(new_leader, leader);
    for i in (0..3).filter(|&i| i != leader) {
        let mode = zk.mode(i).unwrap();
        assert!(mode == "leader" || mode == "follower", "{i}: {mode}");
    }
    assert_eq!(zk.mode(leader), None);

    // Killing a follower too leaves one member: no quorum, nobody serves.
    let follower = (0..3).find(|&i| i != leader && i != new_leader).unwrap();
    zk.kill(follower);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(zk.mode(new_leader), None, "a lone member still serves");

    // Restarting one member brings the quorum back; the old leader rejoins.
    zk.restart(follower);
    zk.wait_quorum(Duration::from_secs(60));
    zk.restart(leader);
    zk.wait_quorum(Duration::from_secs(60));
    assert!((0..3).all(|i| zk.mode(i).is_some()));

    // Stop everything, start everything.
    zk.stop_all();
    assert_eq!(zk.running_count(), 0);
    assert!((0..3).all(|i| zk.mode(i).is_none()));
    zk.start_all();
    assert_eq!(zk.running_count(), 3);
    let leaders = (0..3)
        .filter(|&i| zk.mode(i).as_deref() == Some("leader"))
        .count();
    assert_eq!(leaders, 1);

    let pids: Vec<i32> = (0..3).map(|i| zk.proc(i).unwrap().pid()).collect();
    drop(zk);
    for pid in pids {
        assert!(!alive(pid), "a member outlived its handle");
    }
}

fn site_properties(cluster: &Cluster) -> String {
    std::fs::read_to_string(cluster.path().join("conf/alluxio-site.properties")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_master_with_zookeeper_starts() {
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        masters: 1,
        zookeeper: Zk::Single,
        properties: vec![("alluxio.zookeeper.session.timeout".into(), "3sec".into())],
        ..Default::default()
    })
    .await;
    assert!(cluster.is_ha());
    assert_eq!(cluster.master_ports, vec![cluster.master_port]);
    let props = site_properties(&cluster);
    let connect = cluster.zookeeper().connect_string();
    assert!(
        props.contains("alluxio.zookeeper.enabled=true\n"),
        "{props}"
    );
    assert!(
        props.contains(&format!("alluxio.zookeeper.address={connect}\n")),
        "{props}"
    );
    // A property given by the test replaces the harness's default.
    assert!(
        props.contains("alluxio.zookeeper.session.timeout=3sec\n"),
        "{props}"
    );
    assert!(
        !props.contains("alluxio.zookeeper.session.timeout=2sec"),
        "{props}"
    );
    assert!(!props.contains("alluxio.master.hostname"), "{props}");
    assert!(!props.contains("alluxio.master.rpc.port"), "{props}");

    assert_eq!(cluster.leader().await, 0);
    let info = cluster.master_info(0).await.expect("GetMasterInfo");
    assert_eq!(info.role, "LEADER");
    assert!(cluster.zk_server().serving());

    // Kill, restart, pause and resume through the indexed methods.
    let pid = cluster.master_i(0).pid();
    cluster.kill_master_i(0);
    assert!(!alive(pid));
    assert!(cluster.master_info(0).await.is_none());
    // Extra environment reaches the next start of that master only.
    cluster.set_master_env(0, "ALLUXIO_HARNESS_MARK", "42");
    cluster.start_master_i(0).await;
    let environ = std::fs::read(format!("/proc/{}/environ", cluster.master_i(0).pid())).unwrap();
    assert!(
        environ
            .split(|&b| b == 0)
            .any(|v| v == b"ALLUXIO_HARNESS_MARK=42"),
        "environment not passed"
    );
    assert_eq!(cluster.leader().await, 0);
    cluster.pause_master(0);
    assert!(
        cluster.master_info(0).await.is_none(),
        "a paused master answered"
    );
    cluster.resume_master(0);
    assert!(cluster.master_info(0).await.is_some());
    assert_eq!(cluster.terminate_master_i(0), Some(0), "{}", cluster.logs());
    assert!(cluster.logs().contains("--- master.log"));
    assert!(cluster.logs().contains("zookeeper.log"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_masters_on_a_quorum_elect_and_fail_over() {
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        masters: 3,
        zookeeper: Zk::Ensemble(3),
        ..Default::default()
    })
    .await;
    assert_eq!(cluster.master_count(), 3);
    let props = site_properties(&cluster);
    assert!(!props.contains("alluxio.master.rpc.addresses"), "{props}");
    let leader = cluster.leader().await;
    let roles = cluster.master_roles().await;
    for (i, role) in roles.iter().enumerate() {
        if i != leader {
            assert_eq!(role.as_deref(), Some("STANDBY"), "{roles:?}");
        }
    }
    // The leader registers itself under the leader path.
    let zk_leader = cluster.zk_ensemble().leader().unwrap();
    let dump = cluster
        .zk_ensemble()
        .four_letter(zk_leader, "dump")
        .unwrap();
    let node = format!("/alluxio/leader/127.0.0.1:{}", cluster.master_ports[leader]);
    assert!(dump.contains(&node), "{node} not in:\n{dump}");

    // SIGKILL: another master leads after the session timeout.
    cluster.kill_master_i(leader);
    let next = cluster
        .wait_new_leader(leader, Duration::from_secs(30))
        .await;
    // The old one comes back as a standby.
    cluster.start_master_i(leader).await;
    assert_eq!(cluster.leader().await, next);

    // SIGSTOP: the paused leader loses its session and another leads.
    cluster.pause_master(next);
    let third = cluster.wait_new_leader(next, Duration::from_secs(30)).await;
    cluster.resume_master(next);
    assert_eq!(cluster.leader().await, third);

    // SIGTERM of the leader hands over quickly.
    assert_eq!(cluster.terminate_master_i(third), Some(0));
    cluster
        .wait_new_leader(third, Duration::from_secs(10))
        .await;

    // A member of the quorum may die without the masters noticing.
    cluster.zk_ensemble().kill(zk_leader);
    cluster.zk_ensemble().wait_quorum(Duration::from_secs(60));
    cluster.leader().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_and_clients_follow_the_leader() {
    let mut cluster = Cluster::start(ClusterOptions::ha(2, 1)).await;
    let fs = cluster.client();
    fs.create_directory("/before", Default::default())
        .await
        .unwrap();
    let leader = cluster.leader().await;
    cluster.kill_master_i(leader);
    cluster
        .wait_new_leader(leader, Duration::from_secs(30))
        .await;
    assert!(fs.get_status("/before").await.is_ok());
    fs.create_directory("/after", Default::default())
        .await
        .unwrap();
    cluster.wait_live_workers(1, Duration::from_secs(30)).await;
}
