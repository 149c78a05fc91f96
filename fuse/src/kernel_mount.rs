//! Mounting as root with the file system type `fuse.alluxio`.
//!
//! fuser mounts as root with the plain type `fuse` (its `subtype` option
//! only reaches `fusermount3`), so `findmnt -t fuse.alluxio`, `df -t` and
//! monitoring that select by type would not see our mounts. As root we
//! open `/dev/fuse` and call mount(2) ourselves with the type
//! `fuse.alluxio`, then hand the descriptor to fuser. Without root the
//! setuid `fusermount3` mounts for us and sets the subtype itself.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use fuser::{MountOption, SessionACL};

/// The type our mounts carry in the mount table.
pub const FS_TYPE: &str = "fuse.alluxio";

/// A mount made by [`mount`]: unmounted by [`KernelMount::unmount`], or
/// detached on drop if it is still there (so a daemon that fails never
/// leaves a dead mount point behind).
#[derive(Debug)]
pub struct KernelMount {
    path: PathBuf,
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn c_str(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in option"))
}

/// The mount(2) flags and the FUSE data string for `options`.
fn flags_and_data(
    fd: i32,
    root_mode: u32,
    options: &[MountOption],
    acl: SessionACL,
) -> (libc::c_ulong, String) {
    let mut flags = libc::MS_NOSUID | libc::MS_NODEV;
    let mut data = format!(
        "fd={fd},rootmode={root_mode:o},user_id={},group_id={}",
        // SAFETY: getuid/getgid cannot fail.
        unsafe { libc::getuid() },
        unsafe { libc::getgid() }
    );
    for option in options {
        match option {
            MountOption::RO => flags |= libc::MS_RDONLY,
            MountOption::RW => flags &= !libc::MS_RDONLY,
            MountOption::Dev => flags &= !libc::MS_NODEV,
            MountOption::NoDev => flags |= libc::MS_NODEV,
            MountOption::Suid => flags &= !libc::MS_NOSUID,
            MountOption::NoSuid => flags |= libc::MS_NOSUID,
            MountOption::Exec => flags &= !libc::MS_NOEXEC,
            MountOption::NoExec => flags |= libc::MS_NOEXEC,
            MountOption::Atime => flags &= !libc::MS_NOATIME,
            MountOption::NoAtime => flags |= libc::MS_NOATIME,
            MountOption::Sync => flags |= libc::MS_SYNCHRONOUS,
            MountOption::Async => flags &= !libc::MS_SYNCHRONOUS,
            MountOption::DirSync => flags |= libc::MS_DIRSYNC,
            MountOption::DefaultPermissions => data.push_str(",default_permissions"),
            // fsname and subtype are the source and type below; anything
            // else is not produced by our option parser.
            _ => {}
        }
    }
    // allow_root is allow_other in the kernel; fuser refuses everyone but
    // root and the owner itself.
    if acl != SessionACL::Owner {
        data.push_str(",allow_other");
    }
    (flags, data)
}

/// Mounts a FUSE file system of type `fuse.alluxio` with source `fsname` at
/// `mount_point` and returns the `/dev/fuse` descriptor that serves it.
/// Needs root (CAP_SYS_ADMIN); callers without it use fuser's own mount.
pub fn mount(
    mount_point: &Path,
    fsname: &str,
    options: &[MountOption],
    acl: SessionACL,
) -> io::Result<(OwnedFd, KernelMount)> {
    let root_mode = std::fs::metadata(mount_point)?.permissions().mode();
    let dev: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")?
        .into();
    let (flags, data) = flags_and_data(dev.as_raw_fd(), root_mode, options, acl);
    let (source, target) = (c_str(fsname)?, c_path(mount_point)?);
    let (fstype, data) = (c_str(FS_TYPE)?, c_str(&data)?);
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((
        dev,
        KernelMount {
            path: mount_point.to_path_buf(),
        },
    ))
}

impl KernelMount {
    /// Unmounts (not lazily: a busy mount stays and the error says so).
    pub fn unmount(&self) -> io::Result<()> {
        umount(&self.path, 0)
    }

    /// Whether the mount point still carries this mount.
    fn mounted(&self) -> bool {
        crate::mounts::find(&self.path).is_some_and(|m| m.is_ours())
    }
}

impl Drop for KernelMount {
    fn drop(&mut self) {
        if self.mounted() {
            if let Err(e) = umount(&self.path, libc::MNT_DETACH) {
                tracing::warn!("detaching {}: {e}", self.path.display());
            }
        }
    }
}

fn umount(path: &Path, flags: libc::c_int) -> io::Result<()> {
    let target = c_path(path)?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::umount2(target.as_ptr(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_default_to_nosuid_nodev_and_follow_the_options() {
        let (flags, data) = flags_and_data(7, 0o40755, &[], SessionACL::Owner);
        assert_eq!(flags, libc::MS_NOSUID | libc::MS_NODEV);
        assert!(data.starts_with("fd=7,rootmode=40755,user_id="), "{data}");
        assert!(!data.contains("allow_other"));

        let opts = [
            MountOption::RO,
            MountOption::Suid,
            MountOption::NoExec,
            MountOption::DefaultPermissions,
        ];
        let (flags, data) = flags_and_data(7, 0o40755, &opts, SessionACL::All);
        assert_eq!(
            flags,
            libc::MS_NODEV | libc::MS_RDONLY | libc::MS_NOEXEC,
            "suid clears nosuid"
        );
        assert!(data.ends_with(",default_permissions,allow_other"), "{data}");
        let (_, data) = flags_and_data(7, 0o40755, &[], SessionACL::RootAndOwner);
        assert!(data.ends_with(",allow_other"), "{data}");
    }
}
