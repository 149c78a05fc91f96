//! Requests that decode but make no sense (issue 18): every RPC of the
//! master (file system and block services) and of the worker, called a few
//! thousand times with fields drawn from a seed among nasty values — empty,
//! relative, `..`-escaping, NUL-bearing and overlong paths; 0, huge and
//! random ids, offsets and lengths; unknown enum values. Each call gets an
//! answer (an error or not) within a bound; afterwards both servers are
//! alive, serve an ordinary client, and logged no panic. (Mounts only point
//! inside the test's directory: a mount of a real host folder followed by a
//! random delete would be a test that deletes the host's files.)

use std::time::Duration;

use alluxio_common::seeded::Rng;
use alluxio_proto::block_master_client::BlockMasterClient;
use alluxio_proto::block_worker_client::BlockWorkerClient;
use alluxio_proto::file_system_master_client::FileSystemMasterClient;
use alluxio_proto::*;
use alluxio_tests::{Cluster, ClusterOptions};

fn cases() -> u64 {
    std::env::var("ALLUXIO_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500)
}

struct Nasty {
    rng: Rng,
    scratch: String,
}

impl Nasty {
    fn path(&mut self) -> String {
        let long = format!("/{}", "x".repeat(300));
        let deep = format!("/{}", vec!["d"; 3000].join("/"));
        let pool = [
            "", "/", "a", "/a", "/a/b", "/a/b/c", "/../x", "/a//b", "/a/\0b", "/.", "/a/./b",
            "/é/ü", "/a/..", "/mnt", "/mnt/x", "//", " ", "/a b",
        ];
        match self.rng.below(10) {
            0 => long,
            1 => deep,
            _ => self.rng.pick(&pool).to_string(),
        }
    }

    fn number(&mut self) -> u64 {
        match self.rng.below(5) {
            0 => 0,
            1 => u64::MAX,
            2 => self.rng.below(64),
            3 => (self.rng.below(8) << 24) | self.rng.below(4),
            _ => self.rng.next_u64(),
        }
    }

    fn small(&mut self) -> u32 {
        *self
            .rng
            .pick(&[0, 1, 0o777, 0o7777, 0o170777, u32::MAX, 7, 42])
    }

    fn op(&mut self) -> Option<OperationId> {
        self.rng.chance(50).then(|| OperationId {
            high: self.rng.below(3),
            low: self.rng.below(3),
        })
    }

    fn text(&mut self) -> String {
        self.rng
            .pick(&["", "root", "nobody", "\0", "ü", "a:b", "x"])
            .to_string()
    }

    fn ufs(&mut self) -> String {
        let scratch = self.scratch.clone();
        self.rng
            .pick(&[
                scratch,
                "".into(),
                "bogus://x".into(),
                "s3://".into(),
                "file://".into(),
            ])
            .clone()
    }

    fn tiers(&mut self) -> Vec<TierUsage> {
        (0..self.rng.below(3))
            .map(|_| TierUsage {
                alias: self.text(),
                capacity_bytes: self.number(),
                used_bytes: self.number(),
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_requests_to_every_rpc_leave_the_servers_serving() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let scratch = cluster.path().join("scratch-ufs");
    std::fs::create_dir(&scratch).unwrap();
    let master = format!("http://127.0.0.1:{}", cluster.master_port);
    let worker = format!("http://127.0.0.1:{}", cluster.worker_ports[0]);
    let mut fs = FileSystemMasterClient::connect(master.clone())
        .await
        .unwrap();
    let mut blocks = BlockMasterClient::connect(master).await.unwrap();
    let mut w = BlockWorkerClient::connect(worker).await.unwrap();
    let mut n = Nasty {
        rng: Rng::new(0x18c),
        scratch: scratch.to_str().unwrap().to_string(),
    };
    let mut answered = 0;
    for case in 0..cases() {
        let kind = n.rng.below(24);
        let call = async {
            match kind {
                0 => fs
                    .get_status(GetStatusRequest { path: n.path() })
                    .await
                    .map(|_| ()),
                1 => fs
                    .list_status(ListStatusRequest {
                        path: n.path(),
                        recursive: n.rng.chance(50),
                        sync_ufs: n.rng.chance(50),
                    })
                    .await
                    .map(|_| ()),
                2 => fs
                    .create_directory(CreateDirectoryRequest {
                        path: n.path(),
                        recursive: n.rng.chance(50),
                        allow_exists: n.rng.chance(50),
                        mode: n.small(),
                        owner: n.text(),
                        group: n.text(),
                        write_type: n.small() as i32,
                        op_id: n.op(),
                        mode_given: n.rng.chance(50),
                    })
                    .await
                    .map(|_| ()),
                3 => fs
                    .create_file(CreateFileRequest {
                        path: n.path(),
                        block_size: n.number(),
                        recursive: n.rng.chance(50),
                        mode: n.small(),
                        write_type: n.small() as i32,
                        overwrite: n.rng.chance(50),
                        op_id: n.op(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                4 => fs
                    .complete_file(CompleteFileRequest {
                        path: n.path(),
                        file_id: n.number(),
                        length: n.number(),
                        op_id: n.op(),
                        container_id: n.number(),
                        mode: n.rng.chance(50).then(|| n.small()),
                        owner: n.rng.chance(50).then(|| n.path()),
                        group: n.rng.chance(50).then(|| n.path()),
                        mtime_ns: n.rng.chance(50).then(|| n.number() as i64),
                        atime_ns: n.rng.chance(50).then(|| n.number() as i64),
                    })
                    .await
                    .map(|_| ()),
                5 => fs
                    .create_node(CreateNodeRequest {
                        path: n.path(),
                        file_type: n.small() as i32,
                        mode: n.small(),
                        rdev: n.number(),
                        symlink_target: n.path(),
                        op_id: n.op(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
                6 => fs
                    .link(LinkRequest {
                        src: n.path(),
                        dst: n.path(),
                        op_id: n.op(),
                    })
                    .await
                    .map(|_| ()),
                7 => fs
                    .delete(DeleteRequest {
                        path: n.path(),
                        recursive: n.rng.chance(50),
                        alluxio_only: n.rng.chance(50),
                        op_id: n.op(),
                        directory: n.rng.chance(30).then(|| n.rng.chance(50)),
                    })
                    .await
                    .map(|_| ()),
                8 => fs
                    .rename(RenameRequest {
                        src: n.path(),
                        dst: n.path(),
                        op_id: n.op(),
                        no_replace: n.rng.chance(30),
                        exchange: n.rng.chance(30),
                    })
                    .await
                    .map(|_| ()),
                9 => fs
                    .set_attribute(SetAttributeRequest {
                        path: n.path(),
                        mode: n.rng.chance(50).then(|| n.small()),
                        owner: n.rng.chance(30).then(|| n.text()),
                        group: n.rng.chance(30).then(|| n.text()),
                        mtime_ns: n.rng.chance(30).then(|| n.number() as i64),
                        atime_ns: n.rng.chance(30).then(|| n.number() as i64),
                        recursive: n.rng.chance(50),
                        op_id: n.op(),
                    })
                    .await
                    .map(|_| ()),
                10 => fs
                    .free(FreeRequest {
                        path: n.path(),
                        recursive: n.rng.chance(50),
                    })
                    .await
                    .map(|_| ()),
                11 => fs
                    .mount(MountRequest {
                        alluxio_path: n.path(),
                        ufs_uri: n.ufs(),
                        options: [(n.text(), n.text())].into_iter().collect(),
                        op_id: n.op(),
                    })
                    .await
                    .map(|_| ()),
                12 => fs
                    .unmount(UnmountRequest {
                        alluxio_path: n.path(),
                        op_id: n.op(),
                    })
                    .await
                    .map(|_| ()),
                13 => fs
                    .get_mount_table(GetMountTableRequest {})
                    .await
                    .map(|_| ()),
                14 => blocks
                    .register_worker(RegisterWorkerRequest {
                        address: Some(WorkerNetAddress {
                            host: n.text(),
                            rpc_port: n.small(),
                            web_port: n.small(),
                        }),
                        tiers: n.tiers(),
                        block_ids: (0..n.rng.below(5)).map(|_| n.number()).collect(),
                        start_time_ms: n.number() as i64,
                        identity: n.number(),
                    })
                    .await
                    .map(|_| ()),
                15 => blocks
                    .heartbeat(HeartbeatRequest {
                        worker_id: n.number(),
                        tiers: n.tiers(),
                        added_blocks: (0..n.rng.below(5)).map(|_| n.number()).collect(),
                        removed_blocks: (0..n.rng.below(5)).map(|_| n.number()).collect(),
                    })
                    .await
                    .map(|_| ()),
                16 => blocks
                    .commit_block(CommitBlockRequest {
                        worker_id: n.number(),
                        block_id: n.number(),
                        length: n.number(),
                        tier_alias: n.text(),
                        tiers: n.tiers(),
                    })
                    .await
                    .map(|_| ()),
                17 => w
                    .read_block(ReadBlockRequest {
                        block_id: n.number(),
                        offset: n.number(),
                        length: n.number(),
                        chunk_size: n.small(),
                        ufs: None,
                        promote: n.rng.chance(50),
                    })
                    .await
                    .map(|_| ()),
                18 => w
                    .remove_block(RemoveBlockRequest {
                        block_id: n.number(),
                    })
                    .await
                    .map(|_| ()),
                19 => w
                    .open_local_block(OpenLocalBlockRequest {
                        block_id: n.number(),
                    })
                    .await
                    .map(|_| ()),
                20 => w
                    .create_local_block(CreateLocalBlockRequest {
                        block_id: n.number(),
                        length_hint: n.number(),
                        only_copy: n.rng.chance(50),
                    })
                    .await
                    .map(|_| ()),
                21 => w
                    .complete_local_block(CompleteLocalBlockRequest {
                        block_id: n.number(),
                        length: n.number(),
                        cancel: n.rng.chance(50),
                    })
                    .await
                    .map(|_| ()),
                22 => {
                    let header = WriteBlockRequest {
                        payload: Some(write_block_request::Payload::Header(WriteBlockHeader {
                            block_id: n.number(),
                            length_hint: n.number(),
                            only_copy: n.rng.chance(50),
                        })),
                    };
                    let data = WriteBlockRequest {
                        payload: Some(write_block_request::Payload::Data(vec![1u8; 100].into())),
                    };
                    let stream = match n.rng.below(3) {
                        0 => vec![data],
                        1 => vec![header.clone(), header],
                        _ => vec![header, data.clone(), data],
                    };
                    w.write_block(tokio_stream::iter(stream)).await.map(|_| ())
                }
                _ => fs
                    .get_cluster_info(GetClusterInfoRequest {})
                    .await
                    .map(|_| ()),
            }
        };
        let answer = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .unwrap_or_else(|_| panic!("case {case} (rpc {kind}) got no answer in 10 s"));
        if answer.is_ok() {
            answered += 1;
        }
    }
    eprintln!("{answered} of {} nonsense requests succeeded", cases());
    // Fake workers registered above time out; then an ordinary client works.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let client = cluster.client();
    let mut out = client
        .create_file("/ordinary", Default::default())
        .await
        .unwrap();
    out.write(b"still serving").await.unwrap();
    out.close().await.unwrap();
    let mut input = client.open_file("/ordinary").await.unwrap();
    assert_eq!(&input.read_to_end().await.unwrap()[..], b"still serving");
}
