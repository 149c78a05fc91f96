//! Files and directories created directly in the UFS appear on first access
//! and read correctly.

use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ufs_only_files_appear_and_read() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let ufs = cluster.ufs_dir();
    std::fs::create_dir_all(ufs.join("outside/nested")).unwrap();
    std::fs::write(ufs.join("outside/a.txt"), b"hello from the ufs\n").unwrap();
    std::fs::write(ufs.join("outside/nested/big"), test_bytes(3, (2 << 20) + 5)).unwrap();
    std::fs::write(ufs.join("top"), b"x").unwrap();

    // By listing.
    let ls = cluster.cli(&["fs", "ls", "/outside"]).ok().stdout;
    assert!(
        ls.contains("/outside/a.txt") && ls.contains("/outside/nested"),
        "{ls}"
    );
    // By stat of a deeper path never listed.
    let fs = cluster.client();
    let info = fs.get_status("/outside/nested/big").await.unwrap();
    assert_eq!(info.length, (2 << 20) + 5);
    assert!(info.persisted && info.completed);
    let mut input = fs.open_file("/outside/nested/big").await.unwrap();
    assert_eq!(
        &input.read_to_end().await.unwrap()[..],
        &test_bytes(3, (2 << 20) + 5)[..]
    );
    let cat = cluster.cli(&["fs", "cat", "/outside/a.txt"]).ok();
    assert_eq!(cat.stdout, "hello from the ufs\n");
    // Root listing picks up a top-level file; a file added after a listing
    // still shows up on direct access.
    let root = cluster.cli(&["fs", "ls", "/"]).ok().stdout;
    assert!(root.contains("/top"), "{root}");
    std::fs::write(ufs.join("outside/late"), b"late").unwrap();
    assert_eq!(fs.get_status("/outside/late").await.unwrap().length, 4);
    // The second read was cached by the worker on the first one.
    let info = fs.get_status("/outside/nested/big").await.unwrap();
    assert!(
        info.blocks.iter().all(|b| !b.locations.is_empty()),
        "read-through did not cache"
    );
}
