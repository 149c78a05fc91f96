//! Bad input gets a clear error naming what was wrong; nothing crashes.

use alluxio_tests::{Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_paths_and_missing_files() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let long = format!("/{}", "n".repeat(256));
    let cases: [(&[&str], &str); 7] = [
        (&["fs", "mkdir", "relative/dir"], "absolute"),
        (&["fs", "mkdir", "/a/../../escape"], "escapes the root"),
        (&["fs", "touch", "/a//b"], "empty component"),
        (&["fs", "touch", &long], "too long"),
        (&["fs", "cat", "/missing"], "does not exist"),
        (&["fs", "rm", "/missing"], "does not exist"),
        (&["fs", "ls", "/missing/deeper"], "does not exist"),
    ];
    for (args, needle) in cases {
        let out = cluster.cli(args);
        assert_eq!(out.code, 1, "{args:?} should fail: {out:?}");
        assert!(
            out.stderr.contains(needle),
            "{args:?}: stderr lacks {needle:?}: {}",
            out.stderr
        );
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "{args:?}: not one line: {}",
            out.stderr
        );
    }
    // The cluster is still fine afterwards.
    cluster.cli(&["fs", "mkdir", "/ok"]).ok();
    cluster.cli(&["fs", "touch", "/ok/file"]).ok();
    // Library errors carry the kind.
    let fs = cluster.client();
    let err = fs.get_status("/nope").await.unwrap_err();
    assert!(matches!(err, alluxio_client::FsError::NotFound(_)), "{err}");
    let err = fs
        .create_directory("/ok/file/sub", Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, alluxio_client::FsError::NotDirectory(_)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_journal_stops_the_master_with_file_and_offset() {
    let mut cluster = Cluster::start(ClusterOptions {
        workers: 0,
        ..Default::default()
    })
    .await;
    let fs = cluster.client();
    for i in 0..5 {
        fs.create_directory(&format!("/dir{i}"), Default::default())
            .await
            .unwrap();
    }
    cluster.kill_master();
    // The restarted master refuses the damaged journal with an error.
    cluster.expect_log("corrupt journal object");
    let log = cluster.journal_dir().join("log");
    let mut names: Vec<_> = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let victim = names.last().unwrap().clone();
    let mut data = std::fs::read(&victim).unwrap();
    // The last frame of the last log object (frames are `length u32 |
    // crc32c u32 | term u64 | payload`): the last mkdir.
    let mut last_frame = 0;
    while last_frame + 16 <= data.len() {
        let len = u32::from_le_bytes(data[last_frame..last_frame + 4].try_into().unwrap());
        let next = last_frame + 16 + len as usize;
        if next >= data.len() {
            break;
        }
        last_frame = next;
    }
    let n = data.len();
    data[n - 3] ^= 0xff;
    std::fs::remove_file(&victim).unwrap();
    std::fs::write(&victim, &data).unwrap();
    cluster.spawn_master();
    let code = cluster
        .wait_master_exit(std::time::Duration::from_secs(20))
        .await;
    assert_ne!(code, Some(0));
    let log_text = cluster.master_log();
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(
        log_text.contains(name)
            && log_text.contains(&format!("offset {last_frame}"))
            && log_text.contains("checksum"),
        "{log_text}"
    );
    assert!(!log_text.contains("panicked"), "{log_text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unformatted_journal_and_bad_configuration_values() {
    let cluster = Cluster::start(ClusterOptions {
        workers: 0,
        properties: vec![("alluxio.bogus.key".into(), "1".into())],
        ..Default::default()
    })
    .await;
    // An unknown alluxio.* key is a warning naming it, not an error.
    let log = cluster.master_log();
    assert!(
        log.contains("WARN") && log.contains("alluxio.bogus.key"),
        "{log}"
    );
    // An unformatted journal folder.
    let empty = cluster.path().join("empty-journal");
    let out = cluster
        .command("alluxio-master")
        .arg(format!(
            "-Dalluxio.master.journal.folder={}",
            empty.display()
        ))
        .arg(format!(
            "-Dalluxio.master.rpc.port={}",
            alluxio_tests::free_port()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not formatted") && err.contains("alluxio format"),
        "{err}"
    );
    // Bad values name the key, the value and what is accepted.
    for (key, value, needle) in [
        ("alluxio.master.rpc.port", "abc", "port"),
        ("alluxio.user.block.size.bytes.default", "12XB", "64MB"),
        ("alluxio.master.worker.timeout", "soon", "5min"),
    ] {
        let out = cluster
            .command("alluxio-master")
            .arg(format!("-D{key}={value}"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}={value} accepted");
        assert!(
            err.contains(key) && err.contains(value) && err.contains(needle),
            "{key}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // The worker and the CLI check their configuration the same way.
    let out = cluster
        .command("alluxio-worker")
        .arg("-Dalluxio.worker.rpc.port=70000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("alluxio.worker.rpc.port") && err.contains("70000"),
        "{err}"
    );
    let out = cluster.cli(&[
        "-Dalluxio.user.file.writetype.default=SOMETIMES",
        "fs",
        "ls",
        "/",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("SOMETIMES") && out.stderr.contains("CACHE_THROUGH"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_longer_than_its_block_ids_allow_is_refused() {
    use alluxio_proto::file_system_master_client::FileSystemMasterClient;
    use alluxio_proto::{CompleteFileRequest, CreateFileRequest, WriteType};
    let cluster = Cluster::start(ClusterOptions {
        workers: 0,
        ..Default::default()
    })
    .await;
    let mut c =
        FileSystemMasterClient::connect(format!("http://127.0.0.1:{}", cluster.master_ports[0]))
            .await
            .unwrap();
    // The smallest block size: 2^24 blocks of 1 KiB are 16 GiB, one byte
    // more would need a block index that is the next container's. (A file
    // at the limit is not completed here: its reply would list 2^24 block
    // ids, past gRPC's message size.)
    let limit = 1024u64 << 24;
    for (name, length, ok) in [
        ("/small", 10 << 10, true),
        ("/past_limit", limit + 1, false),
    ] {
        let info = c
            .create_file(CreateFileRequest {
                path: name.into(),
                block_size: 1024,
                write_type: WriteType::MustCache as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let r = c
            .complete_file(CompleteFileRequest {
                path: name.into(),
                file_id: info.id,
                length,
                container_id: info.container_id,
                ..Default::default()
            })
            .await;
        if ok {
            assert_eq!(r.unwrap().into_inner().length, length);
            continue;
        }
        let err = alluxio_common::FsError::from(r.unwrap_err());
        assert!(
            matches!(&err, alluxio_common::FsError::InvalidArgument(m)
                if m.contains("/past_limit") && m.contains("at most 16777216 blocks")),
            "{err:?}"
        );
    }
    // Nothing was completed past the limit.
    let fs = cluster.client();
    assert!(!fs.get_status("/past_limit").await.unwrap().completed);
}
