//! The kernel's mount table (`/proc/self/mountinfo`): whether a directory
//! is a mount point, and which mounts are ours.
//!
//! Our mounts are FUSE mounts whose source is `alluxio:<alluxio path>`
//! (the `fsname` we mount with).

use std::path::{Path, PathBuf};

/// The `fsname` prefix of our mounts.
pub const SOURCE_PREFIX: &str = "alluxio:";

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// The device numbers, `major:minor` (also the name of the mount's
    /// backing device under `/sys/class/bdi`).
    pub device: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
    pub source: String,
}

impl MountEntry {
    /// Whether this is an alluxio-fuse mount.
    pub fn is_ours(&self) -> bool {
        self.fs_type.starts_with("fuse") && self.source.starts_with(SOURCE_PREFIX)
    }
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo fields.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut l = left.split(' ');
            let device = l.nth(2)?;
            let mount_point = l.nth(1)?;
            let mut r = right.split(' ');
            let fs_type = r.next()?;
            let source = r.next()?;
            Some(MountEntry {
                device: device.to_string(),
                mount_point: PathBuf::from(unescape(mount_point)),
                fs_type: fs_type.to_string(),
                source: unescape(source),
            })
        })
        .collect()
}

/// The current mount table (empty if it cannot be read).
pub fn table() -> Vec<MountEntry> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// The mount at exactly `mount_point` (the last one, if stacked).
pub fn find(mount_point: &Path) -> Option<MountEntry> {
    table()
        .into_iter()
        .rev()
        .find(|m| m.mount_point == mount_point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_lines() {
        let text = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                    90 22 0:50 / /mnt/my\\040dir rw,nosuid,nodev - fuse alluxio:/data rw,user_id=0\n";
        let t = parse(text);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].mount_point, PathBuf::from("/mnt/my dir"));
        assert_eq!(t[1].source, "alluxio:/data");
        assert_eq!(t[1].device, "0:50");
        assert!(t[1].is_ours());
        assert!(!t[0].is_ours());
    }
}
