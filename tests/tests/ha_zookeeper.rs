//! ZooKeeper faults (issue 3, test 5) and HA reporting: a quorum that loses
//! one node keeps the cluster serving; with the whole ensemble down no
//! master accepts writes, and service resumes when it returns.

use std::time::{Duration, Instant};

use alluxio_tests::zookeeper::server_mode;
use alluxio_tests::{Cluster, ClusterOptions, Zk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensemble_faults_never_split_the_brain() {
    let mut cluster = Cluster::start(ClusterOptions {
        masters: 2,
        workers: 1,
        zookeeper: Zk::Ensemble(3),
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    fs.create_directory("/before", Default::default())
        .await
        .unwrap();

    // One of three ZooKeeper nodes down: still serving.
    cluster.zk_ensemble().kill(0);
    fs.create_directory("/one-zk-down", Default::default())
        .await
        .unwrap();

    // Whole ensemble down: no master may accept a write.
    cluster.zk_ensemble().kill_all();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut conf = cluster.config();
    conf.set("alluxio.user.rpc.retry.max.duration", "3sec");
    let impatient = alluxio_client::FileSystem::from_config(&conf).unwrap();
    let result = impatient
        .create_directory("/no-zk", Default::default())
        .await;
    assert!(result.is_err(), "a write succeeded with ZooKeeper down");
    for i in 0..2 {
        if let Some(info) = cluster.master_info(i).await {
            assert_ne!(info.role, "LEADER", "master {i} leads without ZooKeeper");
        }
    }
    // ZooKeeper back: service resumes, and the refused write never happened.
    cluster.zk_ensemble().start_all();
    let started = Instant::now();
    fs.create_directory("/after", Default::default())
        .await
        .unwrap();
    println!(
        "service resumed {:?} after ZooKeeper returned",
        started.elapsed()
    );
    for p in ["/before", "/one-zk-down", "/after"] {
        assert!(fs.exists(p).await.unwrap(), "{p} missing");
    }
    assert!(
        !fs.exists("/no-zk").await.unwrap(),
        "the refused write was applied"
    );
    let leaders = {
        let mut n = 0;
        for i in 0..2 {
            if cluster
                .master_info(i)
                .await
                .is_some_and(|m| m.role == "LEADER")
            {
                n += 1;
            }
        }
        n
    };
    assert_eq!(leaders, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standbys_are_hot_and_reported() {
    let cluster = Cluster::start(ClusterOptions::ha(3, 1)).await;
    let fs = cluster.client();
    let leader = cluster.leader().await;
    for i in 0..50 {
        fs.create_directory(&format!("/d{i}"), Default::default())
            .await
            .unwrap();
    }
    let leader_seq = cluster.master_info(leader).await.unwrap().journal_sequence;
    // Standbys apply new entries within tens of milliseconds.
    let started = Instant::now();
    loop {
        let mut caught_up = 0;
        for i in 0..3 {
            let info = cluster.master_info(i).await.unwrap();
            if i != leader {
                assert_eq!(info.role, "STANDBY");
                if info.leader_address.is_empty() {
                    continue; // has not read the leader node yet
                }
                assert_eq!(
                    info.leader_address,
                    format!("127.0.0.1:{}", cluster.master_ports[leader])
                );
            }
            if info.journal_sequence >= leader_seq {
                caught_up += 1;
            }
        }
        if caught_up == 3 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "standbys lag");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("standbys caught up within {:?}", started.elapsed());
    // A standby answers at once with a not-leader status naming the leader.
    let standby = (leader + 1) % 3;
    let mut c = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(format!(
        "http://127.0.0.1:{}",
        cluster.master_ports[standby]
    ))
    .await
    .unwrap();
    let started = Instant::now();
    let status = c
        .get_status(alluxio_proto::GetStatusRequest { path: "/".into() })
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    let err = alluxio_common::FsError::from(status);
    assert_eq!(
        err,
        alluxio_common::FsError::NotLeader {
            leader: Some(format!("127.0.0.1:{}", cluster.master_ports[leader]))
        }
    );
    // The CLI reports the leader and the standbys with their positions.
    let report = cluster.cli(&["fsadmin", "report"]).ok().stdout;
    for port in &cluster.master_ports {
        assert!(
            report.contains(&port.to_string()),
            "master {port} missing from:\n{report}"
        );
    }
    let leader_line = cluster.cli(&["fs", "leader"]).ok().stdout;
    assert!(
        leader_line.contains(&cluster.master_ports[leader].to_string()),
        "{leader_line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_zookeeper_clients_and_workers_use_the_address_list() {
    let (port, dead) = (alluxio_tests::free_port(), alluxio_tests::free_port());
    let cluster = Cluster::start(ClusterOptions {
        workers: 1,
        properties: vec![
            ("alluxio.master.rpc.port".into(), port.to_string()),
            // The first address has no master: clients and workers move on.
            (
                "alluxio.master.rpc.addresses".into(),
                format!("127.0.0.1:{dead},127.0.0.1:{port}"),
            ),
        ],
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    let mut out = fs.create_file("/listed", Default::default()).await.unwrap();
    out.write(b"via the list").await.unwrap();
    out.close().await.unwrap();
    let mut input = fs.open_file("/listed").await.unwrap();
    assert_eq!(&input.read_to_end().await.unwrap()[..], b"via the list");
    let info = fs.get_status("/listed").await.unwrap();
    assert!(
        !info.blocks[0].locations.is_empty(),
        "the worker found the master through the list"
    );
}

/// Point 7 of issue 17: the read lease follows the session timeout the
/// servers granted (4 s here, though 9 s is configured) and is renewed only
/// by contact with the quorum. The leader's own ZooKeeper server stays up
/// and answers it, but the other two are frozen: the quorum is gone, and
/// the server notices only after `syncLimit` ticks (15 s). From the
/// quorum's side the leader's session may expire 4 s after its last
/// contact, so the leader must stop serving reads before then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_from_the_quorum_stops_reading_within_the_granted_timeout() {
    let mut cluster = Cluster::start(ClusterOptions {
        masters: 1,
        workers: 0,
        zookeeper: Zk::EnsembleWith(3, "syncLimit=30\nmaxSessionTimeout=4000\n"),
        properties: vec![("alluxio.zookeeper.session.timeout".into(), "9sec".into())],
        ..Default::default()
    })
    .await;
    // The master talks to server 0 only.
    let zk0 = cluster.zk_ensemble().ports[0];
    cluster.set_master_env(
        0,
        "ALLUXIO_MASTER_JAVA_OPTS",
        &format!("-Dalluxio.zookeeper.address=127.0.0.1:{zk0}"),
    );
    cluster.start_master_i(0).await;
    cluster.leader().await;
    let fs = cluster.client();
    fs.create_directory("/x", Default::default()).await.unwrap();
    let mut master = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_ports[0]),
    )
    .await
    .unwrap();
    let read = alluxio_proto::GetStatusRequest { path: "/x".into() };
    master.get_status(read.clone()).await.unwrap();

    cluster.zk_ensemble().pause(1);
    cluster.zk_ensemble().pause(2);
    let cut = Instant::now();
    let mut last_served = None;
    let mut refused = 0;
    while cut.elapsed() < Duration::from_secs(7) {
        let reply =
            tokio::time::timeout(Duration::from_millis(500), master.get_status(read.clone())).await;
        match reply {
            Ok(Ok(_)) => last_served = Some(cut.elapsed()),
            _ => refused += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server_mode(zk0).is_some(),
        "server 0 stopped serving early; the test shows nothing"
    );
    let last = last_served.unwrap_or_default();
    assert!(
        last < Duration::from_secs(4) && refused > 0,
        "the leader served a read {last:?} after losing the quorum (4 s granted)"
    );
    println!("last read served {last:?} after the quorum was lost");

    // The quorum returns: the session expired there; the master leads
    // again under a new one and serves what it had.
    cluster.zk_ensemble().resume(1);
    cluster.zk_ensemble().resume(2);
    cluster.leader().await;
    fs.get_status("/x").await.unwrap();
}

/// Point 7 of issue 17, the timeout itself: 30 s is configured but the
/// server grants 4 s. A leader frozen for 5 s with a read in hand (a pause
/// failpoint before the lease check) has outlived its session at the
/// server, so the lease, which follows the granted timeout, refuses the
/// read when the process goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_frozen_past_the_granted_timeout_refuses_the_read_it_held() {
    let mut cluster = Cluster::start(ClusterOptions {
        masters: 1,
        workers: 0,
        zookeeper: Zk::EnsembleWith(1, "maxSessionTimeout=4000\n"),
        properties: vec![("alluxio.zookeeper.session.timeout".into(), "30sec".into())],
        ..Default::default()
    })
    .await;
    cluster.set_master_env(0, "ALLUXIO_FAILPOINTS", "get_status_before_lease=/probe");
    cluster.start_master_i(0).await;
    cluster.leader().await;
    assert!(
        cluster
            .master_log()
            .contains("granted a session timeout of 4s"),
        "{}",
        cluster.master_log()
    );
    let mut master = alluxio_proto::file_system_master_client::FileSystemMasterClient::connect(
        format!("http://127.0.0.1:{}", cluster.master_ports[0]),
    )
    .await
    .unwrap();
    let probe = tokio::spawn(async move {
        master
            .get_status(alluxio_proto::GetStatusRequest {
                path: "/probe".into(),
            })
            .await
    });
    cluster.wait_master_stopped(0, "the held read").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.resume_master(0);
    let status = probe.await.unwrap().unwrap_err();
    let err = alluxio_common::FsError::from(status);
    assert!(
        matches!(err, alluxio_common::FsError::NotLeader { .. }),
        "a read was answered 5 s into a 4 s session: {err:?}"
    );
    // The master leads again under a new session.
    cluster.leader().await;
    cluster.client().get_status("/").await.unwrap();
}
