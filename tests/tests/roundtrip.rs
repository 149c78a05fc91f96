//! Files of every interesting size go in through the CLI and come back out
//! byte for byte; listings and stats agree with what was written.

use alluxio_tests::{test_bytes, Cluster, ClusterOptions};

const MB: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_round_trip_of_all_sizes() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let local = cluster.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    // 1MB blocks (harness default): empty, tiny, exactly one block, several blocks.
    let sizes = [0usize, 1, MB, 3 * MB + 12345];
    cluster.cli(&["fs", "mkdir", "/data"]).ok();
    for (i, size) in sizes.iter().enumerate() {
        let src = local.join(format!("in{i}"));
        std::fs::write(&src, test_bytes(i as u64, *size)).unwrap();
        cluster
            .cli(&[
                "fs",
                "copyFromLocal",
                src.to_str().unwrap(),
                &format!("/data/f{i}"),
            ])
            .ok();
    }
    for (i, size) in sizes.iter().enumerate() {
        let dst = local.join(format!("out{i}"));
        cluster
            .cli(&[
                "fs",
                "copyToLocal",
                &format!("/data/f{i}"),
                dst.to_str().unwrap(),
            ])
            .ok();
        assert_eq!(
            std::fs::read(&dst).unwrap(),
            test_bytes(i as u64, *size),
            "file {i} differs"
        );
        // The UFS copy (CACHE_THROUGH) is complete too.
        let ufs = std::fs::read(cluster.ufs_dir().join(format!("data/f{i}"))).unwrap();
        assert_eq!(
            ufs,
            test_bytes(i as u64, *size),
            "UFS copy of file {i} differs"
        );
    }
    let cat = cluster.cli(&["fs", "cat", "/data/f1"]).ok();
    assert_eq!(&cat.bytes[..], &test_bytes(1, 1)[..]);

    // Listing and stat agree with the library's view and with the sizes.
    let fs = cluster.client();
    let listing = fs.list_status("/data", false).await.unwrap();
    let mut names: Vec<(String, u64)> =
        listing.iter().map(|i| (i.name.clone(), i.length)).collect();
    names.sort();
    let expected: Vec<(String, u64)> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("f{i}"), *s as u64))
        .collect();
    assert_eq!(names, expected);
    let ls = cluster.cli(&["fs", "ls", "/data"]).ok().stdout;
    for (i, size) in sizes.iter().enumerate() {
        let line = ls
            .lines()
            .find(|l| l.ends_with(&format!("/data/f{i}")))
            .unwrap_or_else(|| panic!("f{i} missing in:\n{ls}"));
        assert!(
            line.split_whitespace().any(|w| w == size.to_string()),
            "size of f{i} wrong: {line}"
        );
    }
    let info = fs.get_status("/data/f3").await.unwrap();
    assert_eq!(info.blocks.len(), 4, "3MB+ with 1MB blocks is 4 blocks");
    assert!(info.persisted && info.completed);
    let stat = cluster.cli(&["fs", "stat", "/data/f3"]).ok().stdout;
    assert!(stat.contains(&(3 * MB + 12345).to_string()), "{stat}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_write_read_seek_and_namespace_ops() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let fs = cluster.client();
    let data = test_bytes(7, 2 * MB + 100);
    let mut out = fs
        .create_file(
            "/a/b/file",
            alluxio_client::CreateFileOptions {
                recursive: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for piece in data.chunks(77_777) {
        out.write(piece).await.unwrap();
    }
    let info = out.close().await.unwrap();
    assert_eq!(info.length, data.len() as u64);
    let mut input = fs.open_file("/a/b/file").await.unwrap();
    assert_eq!(&input.read_to_end().await.unwrap()[..], &data[..]);
    // Random positioned reads across block boundaries.
    for (off, len) in [
        (0usize, 10usize),
        (MB - 5, 10),
        (2 * MB + 90, 50),
        (123_456, MB),
    ] {
        let got = input.read_at(off as u64, len).await.unwrap();
        let end = (off + len).min(data.len());
        assert_eq!(&got[..], &data[off..end], "read_at({off}, {len})");
    }
    // Rename onto an existing file replaces it atomically.
    let mut other = fs
        .create_file("/a/other", Default::default())
        .await
        .unwrap();
    other.write(b"old").await.unwrap();
    other.close().await.unwrap();
    fs.rename("/a/b/file", "/a/other").await.unwrap();
    assert!(!fs.exists("/a/b/file").await.unwrap());
    let mut moved = fs.open_file("/a/other").await.unwrap();
    assert_eq!(&moved.read_to_end().await.unwrap()[..], &data[..]);
    assert_eq!(
        std::fs::read(cluster.ufs_dir().join("a/other")).unwrap(),
        data
    );
    // setAttribute and delete.
    let info = fs
        .set_attribute(
            "/a/other",
            alluxio_client::SetAttributeOptions {
                mode: Some(0o600),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(info.mode, 0o600);
    let err = fs.delete("/a", Default::default()).await.unwrap_err();
    assert!(
        matches!(err, alluxio_client::FsError::DirectoryNotEmpty(_)),
        "{err}"
    );
    fs.delete(
        "/a",
        alluxio_client::DeleteOptions {
            recursive: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!fs.exists("/a").await.unwrap());
    assert!(
        !cluster.ufs_dir().join("a").exists(),
        "UFS directory not deleted"
    );
}

/// The calls that change a directory's entries describe the parent
/// directory after the change (what the FUSE daemon caches instead of
/// asking again), and a delete with a kind precondition fails atomically,
/// deleting nothing, when the path has the other kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_changes_describe_the_parent_and_delete_checks_the_kind() {
    use alluxio_client::{DeleteOptions, FsError, RenameOptions};

    let cluster = Cluster::start(ClusterOptions::default()).await;
    let fs = cluster.client();
    let dir = fs.create_directory("/d", Default::default()).await.unwrap();
    let root = dir.parent.as_deref().expect("parent of /d");
    assert_eq!(root.path, "/");
    let file = fs
        .create_empty_file("/d/f", Default::default())
        .await
        .unwrap();
    let parent = file.parent.as_deref().expect("parent of /d/f");
    assert_eq!((parent.id, parent.path.as_str()), (dir.id, "/d"));
    assert!(parent.mtime_ns >= file.mtime_ns && parent.mtime_ns > dir.mtime_ns);
    assert_eq!(parent, &fs.get_status("/d").await.unwrap());
    let sub = fs
        .create_directory("/d/sub", Default::default())
        .await
        .unwrap();
    assert_eq!(sub.parent.as_deref().map(|p| p.nlink), Some(3));
    let link = fs.link("/d/f", "/d/g").await.unwrap();
    assert_eq!(link.nlink, 2);
    assert_eq!(link.parent.as_deref().map(|p| p.id), Some(dir.id));

    // unlink of a directory and rmdir of a file: refused, nothing deleted.
    let unlink = DeleteOptions {
        directory: Some(false),
        ..Default::default()
    };
    let rmdir = DeleteOptions {
        directory: Some(true),
        ..Default::default()
    };
    let err = fs.delete("/d/sub", unlink.clone()).await.unwrap_err();
    assert!(matches!(err, FsError::IsDirectory(_)), "{err}");
    let err = fs.delete("/d/f", rmdir.clone()).await.unwrap_err();
    assert!(matches!(err, FsError::NotDirectory(_)), "{err}");
    assert!(fs.exists("/d/sub").await.unwrap());
    assert!(fs.exists("/d/f").await.unwrap());
    assert!(cluster.ufs_dir().join("d/sub").is_dir());
    assert!(cluster.ufs_dir().join("d/f").is_file());

    // The right kinds delete, and the reply describes the parent.
    let before = fs.get_status("/d").await.unwrap();
    let reply = fs.delete_reply("/d/sub", rmdir).await.unwrap();
    let parent = reply.parent.expect("parent after rmdir");
    assert_eq!(parent.nlink, 2);
    assert!(parent.mtime_ns > before.mtime_ns);
    let reply = fs.delete_reply("/d/g", unlink).await.unwrap();
    assert_eq!(reply.parent.map(|p| p.id), Some(dir.id));
    assert_eq!(fs.get_status("/d/f").await.unwrap().nlink, 1);
    assert!(!fs.exists("/d/sub").await.unwrap());
    assert!(!cluster.ufs_dir().join("d/sub").exists());

    // A rename describes both parents.
    let reply = fs
        .rename_reply("/d/f", "/f", RenameOptions::default())
        .await
        .unwrap();
    assert_eq!(reply.src_parent.map(|p| p.path), Some("/d".to_string()));
    assert_eq!(reply.dst_parent.map(|p| p.path), Some("/".to_string()));
}
