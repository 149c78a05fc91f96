//! A disk that can lose power: an ext4 file system on a loop device, mounted
//! with a five-minute journal commit interval so nothing reaches the disk
//! unless someone asked for it (fsync, fdatasync, syncfs). `cut_power` shuts
//! the file system down without flushing its journal (`xfs_io`'s
//! `shutdown`, the ioctl xfstests uses to simulate a power failure): every
//! change not yet made durable is gone, exactly as after a power loss, and
//! `remount` shows what survived.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A loop-mounted ext4 image under a test's directory; unmounted on drop.
pub struct PowerDisk {
    image: PathBuf,
    mount: PathBuf,
    options: String,
    mounted: bool,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PowerDisk {
    /// Makes a `size_mb` image in `dir` and mounts it at `dir/disk`.
    pub fn new(dir: &Path, size_mb: u64) -> PowerDisk {
        PowerDisk::with_options(dir, size_mb, "")
    }

    /// Like `new`, with extra ext4 mount options (e.g. `data=writeback`,
    /// which like XFS and NFS orders no file's data before another file's
    /// metadata, so an unsynced append is lost even when a later fsync of
    /// another file commits the journal).
    pub fn with_options(dir: &Path, size_mb: u64, options: &str) -> PowerDisk {
        let image = dir.join("disk.img");
        let file = std::fs::File::create(&image).unwrap();
        file.set_len(size_mb << 20).unwrap();
        run(Command::new("mkfs.ext4").arg("-q").arg(&image));
        let mount = dir.join("disk");
        std::fs::create_dir_all(&mount).unwrap();
        let mut disk = PowerDisk {
            image,
            mount,
            options: options.to_string(),
            mounted: false,
        };
        disk.mount();
        disk
    }

    /// Where the file system is mounted.
    pub fn path(&self) -> &Path {
        &self.mount
    }

    fn mount(&mut self) {
        let mut options = String::from("loop,commit=300");
        if !self.options.is_empty() {
            options = format!("{options},{}", self.options);
        }
        run(Command::new("mount")
            .args(["-t", "ext4", "-o", &options])
            .arg(&self.image)
            .arg(&self.mount));
        self.mounted = true;
    }

    /// Makes everything written so far durable (syncfs).
    pub fn sync(&self) {
        run(Command::new("sync").arg("-f").arg(&self.mount));
    }

    /// Loses every change not made durable, as a power failure would; the
    /// file system answers EIO from here on until `remount`.
    pub fn cut_power(&self) {
        run(Command::new("xfs_io")
            .args(["-x", "-c", "shutdown"])
            .arg(&self.mount));
    }

    /// Unmounts and mounts again: what is there now is what survived.
    pub fn remount(&mut self) {
        self.unmount();
        self.mount();
    }

    fn unmount(&mut self) {
        if !self.mounted {
            return;
        }
        // A process using the disk may hold a file open for a moment.
        for _ in 0..50 {
            if Command::new("umount")
                .arg(&self.mount)
                .status()
                .is_ok_and(|s| s.success())
            {
                self.mounted = false;
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        run(Command::new("umount").arg(&self.mount));
        self.mounted = false;
    }
}

impl Drop for PowerDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        }
    }
}
