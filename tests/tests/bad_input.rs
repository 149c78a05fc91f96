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

/// Bad names and paths through every interface (issue 18): an embedded NUL
/// (library; argv cannot carry one), a name that is not UTF-8 (FUSE), 255-
/// and 256-byte names (library, CLI), and a tree grown through FUSE one
/// directory at a time (`mkdirat` relative to the last one) until its path
/// passes PATH_MAX. Each gets a clear error; nothing crashes; the mount
/// still works afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_and_paths_deeper_than_path_max_through_every_interface() {
    use std::ffi::{CString, OsStr};
    use std::os::unix::ffi::OsStrExt;

    let m = alluxio_tests::fuse::Mounted::start("/", "").await;
    let fs = m.cluster.client();

    // The library.
    let err = fs
        .create_file("/a\0b", Default::default())
        .await
        .err()
        .expect("a NUL in a name was accepted");
    assert!(err.to_string().contains("NUL"), "{err}");
    let max = format!("/{}", "m".repeat(255));
    let out = fs.create_file(&max, Default::default()).await.unwrap();
    out.close().await.unwrap();
    let err = fs
        .create_directory(&format!("/{}", "n".repeat(256)), Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, alluxio_client::FsError::NameTooLong(_)) && err.to_string().contains("255"),
        "{err}"
    );

    // The CLI.
    m.cluster
        .cli(&["fs", "touch", &format!("/{}", "c".repeat(255))])
        .ok();

    // FUSE: a name that is not UTF-8.
    let bad = m.fuse.mnt.join(OsStr::from_bytes(b"bad\xffname"));
    assert_eq!(
        alluxio_tests::fuse::errno_of(std::fs::write(&bad, b"x")),
        libc::EINVAL
    );
    assert_eq!(
        alluxio_tests::fuse::errno_of(std::fs::create_dir(&bad)),
        libc::EINVAL
    );

    // FUSE: a tree deeper than PATH_MAX, grown relative to the last
    // directory (no single call names a path that long).
    let name = "d".repeat(100);
    let cname = CString::new(name.as_str()).unwrap();
    let root = CString::new(m.fuse.mnt.as_os_str().as_bytes()).unwrap();
    let depth = tokio::task::spawn_blocking(move || {
        // SAFETY: plain system calls on descriptors this closure owns.
        unsafe {
            let mut dir = libc::open(root.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
            assert!(dir >= 0);
            let mut depth = 0;
            let errno = loop {
                if libc::mkdirat(dir, cname.as_ptr(), 0o755) != 0 {
                    break std::io::Error::last_os_error().raw_os_error().unwrap();
                }
                let next = libc::openat(dir, cname.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
                assert!(next >= 0, "{}", std::io::Error::last_os_error());
                libc::close(dir);
                dir = next;
                depth += 1;
                assert!(depth < 100, "no limit on the path length");
            };
            libc::close(dir);
            assert_eq!(errno, libc::ENAMETOOLONG, "at depth {depth}");
            depth
        }
    })
    .await
    .unwrap();
    // 101 bytes a level: the last that fits is the 40th (4,040 bytes).
    assert_eq!(depth, 40);
    let deepest = format!("/{}", vec![name.as_str(); depth].join("/"));
    let info = fs.get_status(&deepest).await.unwrap();
    assert_eq!(info.file_type, alluxio_proto::FileType::Directory as i32);
    // Everything still works: the tree goes, the mount answers.
    let opts = alluxio_client::DeleteOptions {
        recursive: true,
        ..Default::default()
    };
    fs.delete(&format!("/{name}"), opts).await.unwrap();
    std::fs::write(m.fuse.mnt.join("after"), b"ok").unwrap();
    assert_eq!(std::fs::read(m.fuse.mnt.join("after")).unwrap(), b"ok");
}
