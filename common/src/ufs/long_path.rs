//! Turns a path under the local UFS root into one the kernel accepts.
//!
//! The namespace mirrors Alluxio paths into the UFS, and an Alluxio path can
//! itself be close to PATH_MAX (4096 bytes, e.g. one created through the FUSE
//! mount). Joined to the UFS root it exceeds PATH_MAX and every syscall on it
//! fails with ENAMETOOLONG. Short paths are used as they are; for a long one
//! the parent directory is opened with `openat` (as many components per call
//! as fit) and the entry is reached as `/proc/self/fd/<fd>/<name>`, which is
//! short whatever the depth.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Longest absolute path used as is (PATH_MAX is 4096 with its NUL); longer
/// ones go through an opened parent directory.
const DIRECT_MAX: usize = 4000;

/// A path the kernel accepts, valid while this value (and so the parent
/// directory it may go through) lives.
#[derive(Debug)]
pub(crate) struct ShortPath {
    path: PathBuf,
    _dir: Option<OwnedFd>,
}

impl ShortPath {
    /// The path to hand to `std::fs`.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the path goes through an opened directory (for tests).
    #[cfg(test)]
    pub(crate) fn is_indirect(&self) -> bool {
        self._dir.is_some()
    }
}

/// Resolves `rel` under `root`. `rel` is normalised: relative, and without
/// empty, `.` or `..` components; `root` is absolute and shorter than PATH_MAX.
pub(crate) fn resolve(root: &Path, rel: &str) -> io::Result<ShortPath> {
    let direct = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    if direct.as_os_str().len() < DIRECT_MAX {
        return Ok(ShortPath {
            path: direct,
            _dir: None,
        });
    }
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let dir = open_dir(root, parent)?;
    let path = PathBuf::from(format!("/proc/self/fd/{}/{name}", dir.as_raw_fd()));
    Ok(ShortPath {
        path,
        _dir: Some(dir),
    })
}

/// Opens directory `rel` under `root`, a group of whole components per
/// `openat` so each call's path stays under PATH_MAX.
fn open_dir(root: &Path, rel: &str) -> io::Result<OwnedFd> {
    let mut dir = open_at(None, root.as_os_str().as_bytes())?;
    let mut rest = rel.as_bytes();
    while !rest.is_empty() {
        let cut = if rest.len() < DIRECT_MAX {
            rest.len()
        } else {
            match rest[..DIRECT_MAX].iter().rposition(|&b| b == b'/') {
                Some(i) if i > 0 => i,
                // One component longer than any path: let the kernel refuse it.
                _ => rest.iter().position(|&b| b == b'/').unwrap_or(rest.len()),
            }
        };
        let (group, tail) = rest.split_at(cut);
        dir = open_at(Some(&dir), group)?;
        rest = tail.strip_prefix(b"/").unwrap_or(tail);
    }
    Ok(dir)
}

fn open_at(dir: Option<&OwnedFd>, path: &[u8]) -> io::Result<OwnedFd> {
    let path = CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `path` is NUL-terminated and `dirfd` is an open descriptor or AT_FDCWD.
    let fd = unsafe {
        libc::openat(
            dirfd,
            path.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_paths_are_used_directly() {
        let p = resolve(Path::new("/r"), "a/b").unwrap();
        assert_eq!(p.path(), Path::new("/r/a/b"));
        assert!(!p.is_indirect());
        assert_eq!(
            resolve(Path::new("/r"), "").unwrap().path(),
            Path::new("/r")
        );
    }

    #[test]
    fn long_paths_go_through_the_parent() {
        let root = std::env::temp_dir().join(format!("ufs-long-path-{}", std::process::id()));
        let name = "n".repeat(250);
        let mut rel = String::new();
        let mut abs = root.clone();
        for _ in 0..20 {
            if !rel.is_empty() {
                rel.push('/');
            }
            rel.push_str(&name);
            abs.push(&name);
        }
        // Build the tree one level at a time, relative to the previous level.
        std::fs::create_dir_all(&root).unwrap();
        for i in 1..=20 {
            let level = rel.splitn(i + 1, '/').take(i).collect::<Vec<_>>().join("/");
            std::fs::create_dir(resolve(&root, &level).unwrap().path()).unwrap();
        }
        assert!(abs.as_os_str().len() > 4096);
        let f = format!("{rel}/f");
        let p = resolve(&root, &f).unwrap();
        assert!(p.is_indirect());
        std::fs::write(p.path(), b"deep").unwrap();
        assert_eq!(
            std::fs::read(resolve(&root, &f).unwrap().path()).unwrap(),
            b"deep"
        );
        // A parent that is missing is NotFound, like any other lookup.
        let missing = format!("{rel}/nope/f");
        assert_eq!(
            resolve(&root, &missing).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
