//! A cluster with its namespace mounted by the real `alluxio-fuse`, for
//! POSIX tests: the mount is undone (and the daemon stopped) before the
//! cluster, on every path including a failed assertion.

use std::path::PathBuf;
use std::process::Command;

use crate::cluster::{Cluster, ClusterOptions};

/// One `alluxio-fuse mount` of `alluxio_path` on `mnt`.
pub struct FuseMount {
    pub mnt: PathBuf,
    pub alluxio_path: String,
    pub options: String,
    daemon_pid: Option<i32>,
}

impl FuseMount {
    /// Mounts `alluxio_path` of `cluster` on `<cluster dir>/mnt`.
    pub fn start(cluster: &Cluster, alluxio_path: &str, options: &str) -> FuseMount {
        FuseMount::start_at(cluster, "mnt", alluxio_path, options)
    }

    /// Mounts `alluxio_path` of `cluster` on `<cluster dir>/<dir>`, with a
    /// daemon of its own (another mount of the same cluster).
    pub fn start_at(cluster: &Cluster, dir: &str, alluxio_path: &str, options: &str) -> FuseMount {
        let mut fuse = FuseMount {
            mnt: cluster.path().join(dir),
            alluxio_path: alluxio_path.to_string(),
            options: options.to_string(),
            daemon_pid: None,
        };
        fuse.mount(cluster);
        fuse
    }

    /// Mounts with `alluxio-fuse mount -o <options> <mnt> <alluxio_path>`.
    pub fn mount(&mut self, cluster: &Cluster) {
        std::fs::create_dir_all(&self.mnt).unwrap();
        let mut cmd = cluster.command("alluxio-fuse");
        cluster.place(&mut cmd, "fuse");
        let out = cmd
            .args(["mount", "-o", &self.options])
            .arg(&self.mnt)
            .arg(&self.alluxio_path)
            .output()
            .expect("running alluxio-fuse mount");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "mount failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.daemon_pid = stdout
            .split("(pid ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse().ok());
    }

    /// The daemon's process id, if known.
    pub fn daemon_pid(&self) -> Option<i32> {
        self.daemon_pid
    }

    /// Lazily unmounts and makes sure the daemon has exited.
    /// SIGKILLs the daemon, as a crash would; the mount stays until
    /// `unmount` (or drop) detaches it.
    pub fn kill_daemon(&mut self) {
        if let Some(pid) = self.daemon_pid {
            // SAFETY: pid is the daemon this test started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            // Gone before the test goes on: a descriptor the test closes
            // next must not reach a daemon still answering.
            for _ in 0..250 {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // Gone, or a zombie no one has reaped yet.
                let state = stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next());
                if matches!(state, None | Some("Z") | Some("X")) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }

    pub fn unmount(&mut self) {
        let detached = Command::new("fusermount3")
            .arg("-u")
            .arg("-z")
            .arg(&self.mnt)
            .output()
            .is_ok_and(|o| o.status.success());
        if !detached {
            let _ = Command::new("umount").arg("-l").arg(&self.mnt).output();
        }
        if let Some(pid) = self.daemon_pid.take() {
            for _ in 0..100 {
                // SAFETY: signal 0 only checks that the process exists.
                if unsafe { libc::kill(pid, 0) } != 0 {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // SAFETY: pid is the daemon this test started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for FuseMount {
    fn drop(&mut self) {
        self.unmount();
    }
}

/// A read-only tmpfs mounted where a FUSE mount goes, beneath it: while
/// the FUSE mount is gone (its daemon killed, before it is mounted again)
/// a program writing to its path fails with EROFS instead of writing to
/// the local disk, where the mount would hide what it wrote. Unmounted on
/// drop (declare it before the `FuseMount`, so it is dropped after).
pub struct Floor {
    dir: PathBuf,
}

impl Floor {
    /// Mounts the floor on `<cluster dir>/<dir>`.
    pub fn lay(cluster: &Cluster, dir: &str) -> Floor {
        let dir = cluster.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=64k", "floor"])
            .arg(&dir)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "mounting a read-only tmpfs on {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Floor { dir }
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).output();
    }
}

/// A one-worker cluster with `alluxio_path` mounted under its temp dir.
pub struct Mounted {
    // Declared first: dropped (unmounted) before the cluster stops.
    pub fuse: FuseMount,
    pub cluster: Cluster,
}

impl Mounted {
    /// Starts a cluster and mounts `alluxio_path` (created if missing).
    pub async fn start(alluxio_path: &str, options: &str) -> Mounted {
        let cluster = Cluster::start(ClusterOptions::default()).await;
        if alluxio_path != "/" {
            cluster.cli(&["fs", "mkdir", alluxio_path]).ok();
        }
        let fuse = FuseMount::start(&cluster, alluxio_path, options);
        Mounted { fuse, cluster }
    }

    /// A path inside the mount.
    pub fn p(&self, rel: &str) -> PathBuf {
        self.fuse.mnt.join(rel)
    }

    /// Unmounts and mounts again.
    pub fn remount(&mut self) {
        self.fuse.unmount();
        self.fuse.mount(&self.cluster);
    }

    /// Runs `alluxio-fuse` with the cluster's configuration.
    pub fn fuse_cli(&self, args: &[&str]) -> std::process::Output {
        self.cluster
            .command("alluxio-fuse")
            .args(args)
            .output()
            .expect("running alluxio-fuse")
    }
}

/// The errno of a failed call; panics if it succeeded.
pub fn errno_of(r: std::io::Result<impl Sized>) -> i32 {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.raw_os_error().unwrap_or(0),
    }
}
