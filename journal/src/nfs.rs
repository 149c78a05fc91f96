//! Refuses a local journal folder on an NFS mount that caches missing names.
//!
//! An appending leader learns that a newer term exists only by finding the
//! claim `terms/<term + 1>` another master created (`terms.rs`). NFS clients
//! cache negative lookups (`lookupcache=all`, the default), so for up to
//! the directory attribute cache's lifetime the old leader can be told the
//! claim is missing and acknowledge a write the new leader never reads.
//! `lookupcache=positive` (shown as `lookupcache=pos`), `lookupcache=none`
//! or `noac` close that window; anything else is refused at start-up with
//! the fix in the message (`docs/decisions/0005-journal-segments-and-term-claims.md`).

use std::path::{Path, PathBuf};

use super::error::JournalError;

/// Checks the mount holding `folder` (which need not exist yet).
pub(crate) fn check_folder(folder: &Path) -> Result<(), JournalError> {
    match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(mountinfo) => check(&existing_ancestor(folder), &mountinfo),
        // Not Linux, or no /proc: nothing to read the options from.
        Err(_) => Ok(()),
    }
}

/// `path` made absolute and canonical as far as it exists: the mount that
/// will hold it is the one holding its nearest existing ancestor.
fn existing_ancestor(path: &Path) -> PathBuf {
    let mut at = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    loop {
        if let Ok(real) = at.canonicalize() {
            return real;
        }
        if !at.pop() {
            return PathBuf::from("/");
        }
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of `/proc/self/mountinfo`: where, what type, from where, and
/// both option lists.
struct Mount {
    point: PathBuf,
    fstype: String,
    source: String,
    options: Vec<String>,
}

fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let left: Vec<&str> = left.split(' ').collect();
    let mut right = right.split(' ');
    let (fstype, source, super_options) = (right.next()?, right.next()?, right.next()?);
    let options = left
        .get(5)?
        .split(',')
        .chain(super_options.split(','))
        .map(str::to_string)
        .collect();
    Some(Mount {
        point: PathBuf::from(unescape(left.get(4)?)),
        fstype: fstype.to_string(),
        source: unescape(source),
        options,
    })
}

fn check(path: &Path, mountinfo: &str) -> Result<(), JournalError> {
    // The deepest mount point above the path; of several on one point, the
    // last (it hides the others).
    let mut holder: Option<Mount> = None;
    for mount in mountinfo.lines().filter_map(parse_line) {
        let deeper = holder
            .as_ref()
            .is_none_or(|h| mount.point.components().count() >= h.point.components().count());
        if path.starts_with(&mount.point) && deeper {
            holder = Some(mount);
        }
    }
    let Some(mount) = holder else { return Ok(()) };
    if !mount.fstype.starts_with("nfs") {
        return Ok(());
    }
    let safe = mount.options.iter().any(|o| {
        matches!(
            o.as_str(),
            "noac" | "lookupcache=pos" | "lookupcache=positive" | "lookupcache=none"
        )
    });
    if safe {
        return Ok(());
    }
    Err(JournalError::UnsafeFolder {
        folder: path.display().to_string(),
        reason: format!(
            "it is on {} ({} mounted at {}) with negative lookups cached: an old leader \
             could miss the claim that fences it and acknowledge lost writes. Mount it with \
             `-o lookupcache=positive` (or `noac`)",
            mount.fstype,
            mount.source,
            mount.point.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
        25 22 0:21 / /proc rw,nosuid - proc proc rw\n";

    fn nfs(point: &str, super_options: &str) -> String {
        format!(
            "{LOCAL}40 22 0:45 / {point} rw,relatime shared:30 - nfs4 srv:/export \
             rw,vers=4.2,rsize=1048576,hard,proto=tcp,timeo=600,{super_options}\n"
        )
    }

    #[test]
    fn a_local_disk_is_fine() {
        check(Path::new("/var/lib/alluxio/journal"), LOCAL).unwrap();
    }

    #[test]
    fn nfs_with_the_default_lookup_cache_is_refused_naming_the_fix() {
        let info = nfs("/mnt/nfs", "sec=sys,clientaddr=10.0.0.2");
        let err = check(Path::new("/mnt/nfs/alluxio/journal"), &info)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/mnt/nfs/alluxio/journal"), "{err}");
        assert!(err.contains("srv:/export mounted at /mnt/nfs"), "{err}");
        assert!(err.contains("lookupcache=positive"), "{err}");
        // A folder beside the mount is not on it.
        check(Path::new("/mnt/nfs2/journal"), &info).unwrap();
    }

    #[test]
    fn nfs_without_negative_lookups_is_fine() {
        for opts in ["lookupcache=pos", "lookupcache=none", "noac"] {
            check(Path::new("/mnt/nfs/j"), &nfs("/mnt/nfs", opts)).unwrap();
        }
    }

    #[test]
    fn the_deepest_and_last_mount_decides() {
        // A local disk mounted over a directory of the NFS share.
        let info = format!(
            "{}41 40 8:2 / /mnt/nfs/local rw - ext4 /dev/sdb1 rw\n",
            nfs("/mnt/nfs", "sec=sys")
        );
        check(Path::new("/mnt/nfs/local/journal"), &info).unwrap();
        assert!(check(Path::new("/mnt/nfs/journal"), &info).is_err());
        // NFS mounted again over a local mount point hides it.
        let info = format!("{}{}", LOCAL, nfs("/", "sec=sys").lines().last().unwrap());
        assert!(check(Path::new("/srv/journal"), &info).is_err());
    }

    #[test]
    fn escaped_mount_points_are_read() {
        let info = nfs("/mnt/my\\040share", "sec=sys");
        assert!(check(Path::new("/mnt/my share/journal"), &info).is_err());
        check(Path::new("/mnt/my/journal"), &info).unwrap();
    }

    #[test]
    fn this_machines_own_mounts_parse() {
        // Every line of the real table parses, and a temp folder passes.
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(info.lines().all(|l| parse_line(l).is_some()), "{info}");
        let dir = tempfile::tempdir().unwrap();
        check_folder(&dir.path().join("not/yet/made")).unwrap();
    }
}
