//! Harness for multi-process tests: real `alluxio-master`, `alluxio-worker`
//! and `alluxio` binaries started in a temporary directory with their own
//! configuration, ports and logs, killed and restarted on demand, and always
//! cleaned up (processes are killed when their handle drops, also on panic).
//! Clusters may run several masters and a real ZooKeeper (`zookeeper`).
//! When a cluster drops, its servers' logs are checked for panics and
//! unexpected ERROR lines (`logs`).

pub mod campaign;
pub mod cluster;
pub mod fuse;
pub mod http;
pub mod logs;
pub mod netns;
pub mod power;
pub mod process;
pub mod s3;
pub mod zookeeper;

pub use cluster::{CliOutput, Cluster, ClusterOptions, Zk, ZooKeeper};
pub use power::PowerDisk;
pub use process::{bin_path, free_port, Proc};
pub use zookeeper::{ZkEnsemble, ZkServer};

/// Deterministic pseudo-random bytes: the same `seed` always gives the same
/// content, so a test can check data after a crash without keeping copies.
pub fn test_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `data` as the new file `path` (default options), panicking on
/// any error.
pub async fn put_new(fs: &alluxio_client::FileSystem, path: &str, data: &[u8]) {
    let mut out = fs.create_file(path, Default::default()).await.unwrap();
    out.write(data).await.unwrap();
    out.close().await.unwrap();
}

/// The names in directory `dir`, sorted.
pub async fn names(fs: &alluxio_client::FileSystem, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs
        .list_status(dir, false)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    names.sort();
    names
}
