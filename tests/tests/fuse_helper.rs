//! The mount(8) helper: `mount -t fuse.alluxio <path> <mnt>` and an fstab
//! line (`mount -T <fstab> <mnt>`) through `/sbin/mount.fuse.alluxio`.
//!
//! The test installs the helper as a symlink `/sbin/mount.fuse.alluxio` to
//! the built `mount-fuse-alluxio` (which then finds `alluxio-fuse` beside
//! its target) and removes it, and every mount, from guards' `Drop`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use alluxio_tests::{bin_path, Cluster, ClusterOptions};

const HELPER: &str = "/sbin/mount.fuse.alluxio";

/// `/sbin/mount.fuse.alluxio` while it lives.
struct HelperInstalled {
    created: bool,
}

impl HelperInstalled {
    fn install() -> HelperInstalled {
        let target = bin_path("mount-fuse-alluxio");
        match fs::read_link(HELPER) {
            Ok(existing) if existing == target => return HelperInstalled { created: false },
            Ok(_) | Err(_) if Path::new(HELPER).symlink_metadata().is_ok() => {
                panic!("{HELPER} already exists and is not ours; not replacing it")
            }
            _ => {}
        }
        std::os::unix::fs::symlink(&target, HELPER).expect("installing the helper in /sbin");
        HelperInstalled { created: true }
    }
}

impl Drop for HelperInstalled {
    fn drop(&mut self) {
        if self.created {
            let _ = fs::remove_file(HELPER);
        }
    }
}

/// Lazily unmounts `mnt` when dropped, whatever happened.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}

fn is_mounted(mnt: &Path) -> bool {
    let canon = fs::canonicalize(mnt).unwrap();
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines().any(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        // `... - fuse alluxio:/data ...`: our daemon names its source so.
        let tail = l.split(" - ").nth(1).unwrap_or("");
        f.get(4) == Some(&canon.to_str().unwrap())
            && tail.starts_with("fuse")
            && tail
                .split(' ')
                .nth(1)
                .is_some_and(|s| s.starts_with("alluxio:"))
    })
}

fn ok(out: Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits (briefly) for the daemon to let go of the mount after `umount`.
fn wait_unmounted(mnt: &Path) {
    for _ in 0..100 {
        if !is_mounted(mnt) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} is still mounted", mnt.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_t_and_fstab_line_use_the_helper() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let conf_dir = cluster.path().join("conf");
    cluster.cli(&["fs", "mkdir", "/data"]).ok();
    let local = cluster.path().join("hello.txt");
    fs::write(&local, b"hello through mount(8)\n").unwrap();
    cluster
        .cli(&[
            "fs",
            "copyFromLocal",
            local.to_str().unwrap(),
            "/data/hello.txt",
        ])
        .ok();
    let _helper = HelperInstalled::install();

    // 1. mount -t fuse.alluxio /data <mnt> -o attr_timeout=1 (the cluster
    //    from ALLUXIO_CONF_DIR in the environment).
    let mnt = cluster.path().join("mnt1");
    fs::create_dir_all(&mnt).unwrap();
    let guard = Unmount(mnt.clone());
    ok(
        Command::new("mount")
            .env("ALLUXIO_CONF_DIR", &conf_dir)
            .env("HOME", cluster.path())
            .args([
                "-t",
                "fuse.alluxio",
                "-o",
                "attr_timeout=1,noatime",
                "/data",
            ])
            .arg(&mnt)
            .output()
            .unwrap(),
        "mount -t fuse.alluxio",
    );
    assert!(is_mounted(&mnt));
    assert_eq!(
        fs::read(mnt.join("hello.txt")).unwrap(),
        b"hello through mount(8)\n"
    );
    fs::write(mnt.join("new.txt"), b"written").unwrap();
    ok(Command::new("umount").arg(&mnt).output().unwrap(), "umount");
    wait_unmounted(&mnt);
    drop(guard);
    assert_eq!(
        cluster.cli(&["fs", "cat", "/data/new.txt"]).ok().bytes,
        b"written"
    );

    // 2. An fstab line with a URI source, fstab-only options and the
    //    cluster's configuration named by conf_dir= (no environment).
    let mnt = cluster.path().join("mnt2");
    fs::create_dir_all(&mnt).unwrap();
    let guard = Unmount(mnt.clone());
    let fstab = cluster.path().join("fstab");
    fs::write(
        &fstab,
        format!(
            "# test fstab\nalluxio:///data {} fuse.alluxio \
             defaults,_netdev,nofail,x-systemd.automount,conf_dir={} 0 0\n",
            mnt.display(),
            conf_dir.display()
        ),
    )
    .unwrap();
    ok(
        Command::new("mount")
            .env_remove("ALLUXIO_CONF_DIR")
            .env("HOME", cluster.path())
            .arg("-T")
            .arg(&fstab)
            .arg(&mnt)
            .output()
            .unwrap(),
        "mount -T fstab",
    );
    assert!(is_mounted(&mnt));
    // `mount -a` sees the line as mounted already and leaves it alone.
    ok(
        Command::new("mount")
            .env_remove("ALLUXIO_CONF_DIR")
            .arg("-a")
            .arg("-T")
            .arg(&fstab)
            .output()
            .unwrap(),
        "mount -a -T fstab",
    );
    let mut names: Vec<String> = fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["hello.txt", "new.txt"]);
    assert_eq!(fs::read(mnt.join("new.txt")).unwrap(), b"written");
    ok(Command::new("umount").arg(&mnt).output().unwrap(), "umount");
    wait_unmounted(&mnt);
    drop(guard);

    // 3. A clear error for a bad source, from the helper through mount(8).
    let out = Command::new("mount")
        .env("ALLUXIO_CONF_DIR", &conf_dir)
        .args(["-t", "fuse.alluxio", "alluxio://somehost/data"])
        .arg(&mnt)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("names a host"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_mounted(&mnt));
    // The daemon itself got the helper's options: a bad one fails the mount.
    let out = Command::new("mount")
        .env("ALLUXIO_CONF_DIR", &conf_dir)
        .args(["-t", "fuse.alluxio", "-o", "bogus_option", "/data"])
        .arg(&mnt)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bogus_option"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_mounted(&mnt));
}
