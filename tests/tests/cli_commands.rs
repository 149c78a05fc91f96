//! Every `alluxio fs` / `fsadmin` command against a live cluster, with its
//! effect checked through the library or the UFS.

use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_commands_do_what_they_say() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let fs = cluster.client();
    let local = cluster.path().join("local");
    std::fs::create_dir_all(local.join("tree/sub")).unwrap();
    std::fs::write(local.join("tree/a"), test_bytes(1, 5000)).unwrap();
    std::fs::write(local.join("tree/sub/b"), test_bytes(2, 300)).unwrap();
    let l = |p: &str| local.join(p).to_str().unwrap().to_string();

    cluster.cli(&["fs", "mkdir", "-p", "/x/y"]).ok();
    cluster
        .cli(&["fs", "copyFromLocal", &l("tree"), "/x/tree"])
        .ok();
    assert_eq!(fs.get_status("/x/tree/sub/b").await.unwrap().length, 300);

    // head / tail with byte counts.
    let head = cluster.cli(&["fs", "head", "-c", "10", "/x/tree/a"]).ok();
    assert_eq!(head.bytes, test_bytes(1, 5000)[..10].to_vec());
    let tail = cluster.cli(&["fs", "tail", "-c", "7", "/x/tree/a"]).ok();
    assert_eq!(tail.bytes, test_bytes(1, 5000)[4993..].to_vec());

    // ls -R lists everything below.
    let ls = cluster.cli(&["fs", "ls", "-R", "/x"]).ok().stdout;
    for p in [
        "/x/y",
        "/x/tree",
        "/x/tree/a",
        "/x/tree/sub",
        "/x/tree/sub/b",
    ] {
        assert!(
            ls.lines().any(|line| line.ends_with(p)),
            "{p} missing from:\n{ls}"
        );
    }

    // cp -R, mv, touch.
    cluster.cli(&["fs", "cp", "-R", "/x/tree", "/x/copy"]).ok();
    let mut input = fs.open_file("/x/copy/sub/b").await.unwrap();
    assert_eq!(
        &input.read_to_end().await.unwrap()[..],
        &test_bytes(2, 300)[..]
    );
    cluster.cli(&["fs", "mv", "/x/copy", "/x/moved"]).ok();
    assert!(!fs.exists("/x/copy").await.unwrap() && fs.exists("/x/moved/a").await.unwrap());
    assert!(
        cluster.ufs_dir().join("x/moved/a").exists(),
        "mv did not move the UFS copy"
    );
    cluster.cli(&["fs", "touch", "/x/empty"]).ok();
    assert_eq!(fs.get_status("/x/empty").await.unwrap().length, 0);

    // du and count.
    let du = cluster.cli(&["fs", "du", "-s", "/x/tree"]).ok().stdout;
    assert!(du.contains("5300"), "{du}");
    let count = cluster.cli(&["fs", "count", "/x/tree"]).ok().stdout;
    let numbers: Vec<&str> = count.lines().last().unwrap().split_whitespace().collect();
    assert_eq!(numbers, vec!["2", "2", "5300"], "{count}");

    // chmod / chown, recursively.
    cluster.cli(&["fs", "chmod", "-R", "700", "/x/tree"]).ok();
    assert_eq!(fs.get_status("/x/tree/sub/b").await.unwrap().mode, 0o700);
    cluster
        .cli(&["fs", "chown", "-R", "alice:staff", "/x/tree"])
        .ok();
    let info = fs.get_status("/x/tree/sub").await.unwrap();
    assert_eq!(
        (info.owner.as_str(), info.group.as_str()),
        ("alice", "staff")
    );

    // free drops cached blocks of persisted files.
    assert!(
        fs.get_status("/x/tree/a").await.unwrap().blocks[0]
            .locations
            .len()
            == 1
    );
    cluster.cli(&["fs", "free", "/x/tree"]).ok();
    assert!(fs.get_status("/x/tree/a").await.unwrap().blocks[0]
        .locations
        .is_empty());
    let mut input = fs.open_file("/x/tree/a").await.unwrap();
    assert_eq!(
        &input.read_to_end().await.unwrap()[..],
        &test_bytes(1, 5000)[..]
    );

    // copyToLocal of a directory.
    cluster
        .cli(&["fs", "copyToLocal", "/x/tree", &l("back")])
        .ok();
    assert_eq!(
        std::fs::read(local.join("back/sub/b")).unwrap(),
        test_bytes(2, 300)
    );

    // mount / unmount a second UFS.
    let other = cluster.path().join("other-ufs");
    std::fs::create_dir_all(other.join("d")).unwrap();
    std::fs::write(other.join("d/f"), b"mounted").unwrap();
    cluster
        .cli(&["fs", "mount", "/mnt", other.to_str().unwrap()])
        .ok();
    let cat = cluster.cli(&["fs", "cat", "/mnt/d/f"]).ok();
    assert_eq!(cat.stdout, "mounted");
    let table = cluster.cli(&["fs", "mount"]).ok().stdout;
    assert!(
        table.contains("/mnt") && table.contains(other.to_str().unwrap()),
        "{table}"
    );
    let overlap = cluster.cli(&["fs", "mount", "/mnt2", other.join("d").to_str().unwrap()]);
    assert_eq!(overlap.code, 1, "overlapping mount accepted");
    cluster.cli(&["fs", "unmount", "/mnt"]).ok();
    assert!(!fs.exists("/mnt").await.unwrap());
    assert!(other.join("d/f").exists(), "unmount touched the UFS");

    // rm -R removes from Alluxio and the UFS.
    let rm = cluster.cli(&["fs", "rm", "/x/tree"]);
    assert_eq!(rm.code, 1, "rm of a directory without -R must fail");
    cluster.cli(&["fs", "rm", "-R", "/x/tree"]).ok();
    assert!(!fs.exists("/x/tree").await.unwrap());
    assert!(!cluster.ufs_dir().join("x/tree").exists());

    // stat, masterInfo and the admin report.
    let stat = cluster.cli(&["fs", "stat", "/x/moved/a"]).ok().stdout;
    assert!(
        stat.contains("5000") && stat.contains("/x/moved/a"),
        "{stat}"
    );
    let info = cluster.cli(&["fs", "masterInfo"]).ok().stdout;
    assert!(info.contains(&cluster.master_port.to_string()), "{info}");
    let report = cluster.cli(&["fsadmin", "report"]).ok().stdout;
    assert!(
        report.contains(&cluster.worker_ports[0].to_string()),
        "{report}"
    );
    assert!(report.contains("MEM"), "{report}");
}
