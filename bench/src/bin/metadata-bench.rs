//! Master metadata throughput: createFile, getStatus, listStatus of a
//! 1,000-entry directory and delete, each from N concurrent clients (one
//! connection each), against a real master and worker with the journal on
//! the local disk.
//!
//! Usage: cargo run --release -p alluxio-bench --bin metadata-bench -- [clients] [files]

use std::sync::Arc;

use alluxio_bench::{rate, run_concurrent};
use alluxio_client::{CreateFileOptions, DeleteOptions, FileSystem, WriteType};
use alluxio_tests::{Cluster, ClusterOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let clients: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(16);
    let files: usize = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let fss: Arc<Vec<FileSystem>> = Arc::new((0..clients).map(|_| cluster.client()).collect());
    for c in 0..clients {
        fss[c]
            .create_directory(
                &format!("/bench/c{c}"),
                alluxio_client::CreateDirectoryOptions {
                    recursive: true,
                    ..Default::default()
                },
            )
            .await?;
    }
    println!(
        "clients: {clients}, files: {files}, journal: local disk ({})",
        cluster.journal_dir().display()
    );

    for (label, write_type) in [
        ("MUST_CACHE", WriteType::MustCache),
        ("CACHE_THROUGH", WriteType::CacheThrough),
    ] {
        let prefix = if write_type == WriteType::MustCache {
            "m"
        } else {
            "t"
        };
        let f = fss.clone();
        let elapsed = run_concurrent(clients, files, move |c, i| {
            let f = f.clone();
            async move {
                let opts = CreateFileOptions {
                    write_type: Some(write_type),
                    ..Default::default()
                };
                let out = f[c]
                    .create_file(&format!("/bench/c{c}/{prefix}{i}"), opts)
                    .await
                    .expect("create");
                out.close().await.expect("complete");
            }
        })
        .await;
        println!(
            "createFile+completeFile ({label}, empty): {:.0} files/s",
            rate(files, elapsed)
        );
    }

    let f = fss.clone();
    let elapsed = run_concurrent(clients, files * 4, move |c, i| {
        let f = f.clone();
        async move {
            let i = i / 4;
            let owner = i % clients;
            f[c].get_status(&format!("/bench/c{owner}/m{}", i - i % clients + owner))
                .await
                .expect("stat");
        }
    })
    .await;
    println!("getStatus: {:.0} ops/s", rate(files * 4, elapsed));

    // listStatus of a directory of 1,000 files.
    let fs0 = fss[0].clone();
    fs0.create_directory("/bench/list", Default::default())
        .await?;
    let f = fss.clone();
    run_concurrent(clients, 1000, move |c, i| {
        let f = f.clone();
        async move {
            let opts = CreateFileOptions {
                write_type: Some(WriteType::MustCache),
                ..Default::default()
            };
            f[c].create_file(&format!("/bench/list/f{i}"), opts)
                .await
                .unwrap()
                .close()
                .await
                .unwrap();
        }
    })
    .await;
    let lists = 2000;
    let f = fss.clone();
    let elapsed = run_concurrent(clients, lists, move |c, _| {
        let f = f.clone();
        async move {
            let l = f[c].list_status("/bench/list", false).await.expect("list");
            assert_eq!(l.len(), 1000);
        }
    })
    .await;
    println!(
        "listStatus (1,000 entries): {:.0} ops/s",
        rate(lists, elapsed)
    );

    let f = fss.clone();
    let elapsed = run_concurrent(clients, files, move |c, i| {
        let f = f.clone();
        async move {
            let owner = i % clients;
            f[c].delete(&format!("/bench/c{owner}/m{i}"), DeleteOptions::default())
                .await
                .expect("delete");
        }
    })
    .await;
    println!(
        "delete (MUST_CACHE files): {:.0} ops/s",
        rate(files, elapsed)
    );
    let f = fss.clone();
    let elapsed = run_concurrent(clients, files, move |c, i| {
        let f = f.clone();
        async move {
            let owner = i % clients;
            f[c].delete(&format!("/bench/c{owner}/t{i}"), DeleteOptions::default())
                .await
                .expect("delete");
        }
    })
    .await;
    println!(
        "delete (CACHE_THROUGH files, UFS delete): {:.0} ops/s",
        rate(files, elapsed)
    );
    Ok(())
}
