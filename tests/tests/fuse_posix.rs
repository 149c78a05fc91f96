//! POSIX behaviour of the FUSE mount beyond the basics in `fuse_mount.rs`:
//! stable inode numbers across commits and remounts, and no temporary
//! names ever visible while a file is committed.
//!
//! Every test unmounts (and stops the daemon) from a guard's `Drop`, so a
//! failing assertion never leaves a mount behind.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alluxio_tests::fuse::{errno_of, Mounted};

fn cstr(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrites_keep_the_inode_and_never_show_a_temporary_name() {
    let mut m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    let f = m.p("f.txt");
    fs::write(&f, b"first version").unwrap();
    let ino = fs::metadata(&f).unwrap().ino();

    // A lister runs while the file is rewritten again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let lister = {
        let (dir, stop) = (m.fuse.mnt.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                for e in fs::read_dir(&dir).unwrap() {
                    seen.insert(e.unwrap().file_name().to_string_lossy().into_owned());
                }
            }
            seen
        })
    };
    for i in 0..20 {
        fs::write(&f, format!("version {i}").repeat(i + 1)).unwrap();
        assert_eq!(fs::metadata(&f).unwrap().ino(), ino, "after commit {i}");
    }
    stop.store(true, Ordering::Relaxed);
    let seen = lister.join().unwrap();
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec!["f.txt".to_string()]
    );
    // A truncate of a closed file commits too, in place.
    fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(4)
        .unwrap();
    assert_eq!(fs::metadata(&f).unwrap().ino(), ino);
    assert_eq!(fs::read(&f).unwrap(), b"vers");
    fs::write(&f, b"last").unwrap();

    m.remount();
    let meta = fs::metadata(&f).unwrap();
    assert_eq!(meta.ino(), ino, "inode number survives a remount");
    assert_eq!(fs::read(&f).unwrap(), b"last");
    // The UFS holds the newest bytes and no staging leftovers.
    let ufs = m.cluster.ufs_dir();
    assert_eq!(fs::read(ufs.join("f.txt")).unwrap(), b"last");
    let names: Vec<String> = fs::read_dir(&ufs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "UFS root: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_and_special_files() {
    use std::os::unix::fs::{symlink, FileTypeExt};
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    fs::create_dir(m.p("d")).unwrap();
    fs::write(m.p("d/target.txt"), b"pointed at").unwrap();

    symlink("target.txt", m.p("d/rel")).unwrap();
    symlink("/nonexistent/abs", m.p("abs")).unwrap();
    assert_eq!(
        fs::read_link(m.p("d/rel")).unwrap(),
        Path::new("target.txt")
    );
    assert_eq!(
        fs::read_link(m.p("abs")).unwrap(),
        Path::new("/nonexistent/abs")
    );
    let meta = fs::symlink_metadata(m.p("d/rel")).unwrap();
    assert!(meta.file_type().is_symlink());
    assert_eq!(meta.len(), "target.txt".len() as u64);
    assert_eq!(meta.mode() & libc::S_IFMT, libc::S_IFLNK);
    // Following the link reaches the file.
    assert_eq!(fs::read(m.p("d/rel")).unwrap(), b"pointed at");
    assert_eq!(errno_of(fs::read(m.p("abs"))), libc::ENOENT);
    assert_eq!(
        errno_of(symlink("x", m.p("d/rel"))),
        libc::EEXIST,
        "symlink over an existing name"
    );
    assert_eq!(errno_of(fs::read_link(m.p("d/target.txt"))), libc::EINVAL);
    // A symlink renames and unlinks like any entry; it never reaches the UFS.
    fs::rename(m.p("d/rel"), m.p("d/rel2")).unwrap();
    assert_eq!(fs::read(m.p("d/rel2")).unwrap(), b"pointed at");
    assert!(!m.cluster.ufs_dir().join("d/rel2").exists());
    fs::remove_file(m.p("d/rel2")).unwrap();
    assert!(fs::symlink_metadata(m.p("d/rel2")).is_err());
    assert_eq!(fs::read(m.p("d/target.txt")).unwrap(), b"pointed at");

    // FIFOs and devices are metadata only.
    let fifo = m.p("fifo");
    // SAFETY: a valid C string and mode.
    assert_eq!(unsafe { libc::mkfifo(cstr(&fifo).as_ptr(), 0o640) }, 0);
    let meta = fs::symlink_metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo());
    assert_eq!(meta.mode() & libc::S_IFMT, libc::S_IFIFO);
    let dev = m.p("null-like");
    let rdev = libc::makedev(1, 3);
    // SAFETY: a valid C string; the tests run as root.
    let r = unsafe { libc::mknod(cstr(&dev).as_ptr(), libc::S_IFCHR | 0o600, rdev) };
    assert_eq!(r, 0, "mknod: {}", std::io::Error::last_os_error());
    let meta = fs::symlink_metadata(&dev).unwrap();
    assert!(meta.file_type().is_char_device());
    assert_eq!(meta.rdev(), rdev);
    assert_eq!(meta.mode() & 0o7777, 0o600);
    // mknod of a regular file makes an empty file.
    let reg = m.p("reg");
    // SAFETY: a valid C string and mode.
    assert_eq!(
        unsafe { libc::mknod(cstr(&reg).as_ptr(), libc::S_IFREG | 0o644, 0) },
        0
    );
    assert!(fs::metadata(&reg).unwrap().is_file());
    assert_eq!(fs::read(&reg).unwrap(), b"");
    assert!(!m.cluster.ufs_dir().join("fifo").exists());
    fs::remove_file(&fifo).unwrap();
    fs::remove_file(&dev).unwrap();
    let mut names: Vec<String> = fs::read_dir(&m.fuse.mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["abs", "d", "reg"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_links_share_the_inode_and_outlive_a_name() {
    let mut m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    fs::create_dir(m.p("d")).unwrap();
    fs::write(m.p("a"), b"shared bytes").unwrap();
    fs::hard_link(m.p("a"), m.p("d/b")).unwrap();
    fs::hard_link(m.p("a"), m.p("c")).unwrap();
    let (a, b) = (
        fs::metadata(m.p("a")).unwrap(),
        fs::metadata(m.p("d/b")).unwrap(),
    );
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.nlink(), 3);
    assert_eq!(b.nlink(), 3);
    assert_eq!(fs::read(m.p("d/b")).unwrap(), b"shared bytes");
    assert_eq!(errno_of(fs::hard_link(m.p("a"), m.p("c"))), libc::EEXIST);
    assert_eq!(errno_of(fs::hard_link(m.p("d"), m.p("e"))), libc::EPERM);
    // A listing shows the same inode under every name.
    let inos: Vec<u64> = ["a", "c", "d/b"]
        .iter()
        .map(|n| fs::symlink_metadata(m.p(n)).unwrap().ino())
        .collect();
    assert!(inos.iter().all(|i| *i == a.ino()));

    // Writing through one name shows through the others; the inode stays.
    fs::write(m.p("d/b"), b"new bytes via b").unwrap();
    assert_eq!(fs::read(m.p("a")).unwrap(), b"new bytes via b");
    // Rename onto another link of the same inode does nothing.
    fs::rename(m.p("c"), m.p("a")).unwrap();
    assert!(m.p("c").exists() && m.p("a").exists());

    // Unlinking the first name (the one the UFS object is under) keeps the
    // data for the others.
    fs::remove_file(m.p("a")).unwrap();
    assert_eq!(fs::metadata(m.p("d/b")).unwrap().nlink(), 2);
    assert_eq!(fs::read(m.p("d/b")).unwrap(), b"new bytes via b");
    assert_eq!(fs::read(m.p("c")).unwrap(), b"new bytes via b");
    fs::remove_file(m.p("c")).unwrap();
    let meta = fs::metadata(m.p("d/b")).unwrap();
    assert_eq!((meta.nlink(), meta.ino()), (1, a.ino()));

    // After a remount (no daemon caches) and cache freed, the bytes come
    // from the UFS object, now under the surviving name.
    m.fuse.unmount();
    m.cluster.cli(&["fs", "free", "-R", "/"]).ok();
    m.fuse.mount(&m.cluster);
    assert_eq!(fs::read(m.p("d/b")).unwrap(), b"new bytes via b");
    assert_eq!(
        fs::read(m.cluster.ufs_dir().join("d/b")).unwrap(),
        b"new bytes via b"
    );
    assert!(!m.cluster.ufs_dir().join("a").exists());
    fs::remove_file(m.p("d/b")).unwrap();
    assert!(!m.cluster.ufs_dir().join("d/b").exists());

    // Deleting a directory that holds the first name keeps the bytes for a
    // link outside it.
    fs::create_dir(m.p("gone")).unwrap();
    fs::write(m.p("gone/f"), b"survivor").unwrap();
    fs::hard_link(m.p("gone/f"), m.p("kept")).unwrap();
    fs::remove_dir_all(m.p("gone")).unwrap();
    m.remount();
    assert_eq!(fs::read(m.p("kept")).unwrap(), b"survivor");
    assert_eq!(
        fs::read(m.cluster.ufs_dir().join("kept")).unwrap(),
        b"survivor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_flags_caller_ownership_and_setgid_directories() {
    use std::os::unix::fs::PermissionsExt;
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1,allow_other").await;
    // RENAME_NOREPLACE through renameat2.
    fs::write(m.p("x"), b"x").unwrap();
    fs::write(m.p("y"), b"y").unwrap();
    let renameat2 = |a: &Path, b: &Path, flags: libc::c_uint| {
        // SAFETY: valid C strings; AT_FDCWD with absolute paths.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                cstr(a).as_ptr(),
                libc::AT_FDCWD,
                cstr(b).as_ptr(),
                flags,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    assert_eq!(
        errno_of(renameat2(&m.p("x"), &m.p("y"), libc::RENAME_NOREPLACE)),
        libc::EEXIST
    );
    assert_eq!(fs::read(m.p("y")).unwrap(), b"y");
    renameat2(&m.p("x"), &m.p("z"), libc::RENAME_NOREPLACE).unwrap();
    assert_eq!(fs::read(m.p("z")).unwrap(), b"x");
    // RENAME_EXCHANGE swaps a file and a directory, inodes and UFS objects.
    fs::create_dir(m.p("dd")).unwrap();
    fs::write(m.p("dd/in"), b"inside").unwrap();
    let (zi, di) = (
        fs::metadata(m.p("z")).unwrap().ino(),
        fs::metadata(m.p("dd")).unwrap().ino(),
    );
    renameat2(&m.p("z"), &m.p("dd"), libc::RENAME_EXCHANGE).unwrap();
    assert_eq!(fs::read(m.p("dd")).unwrap(), b"x");
    assert_eq!(fs::read(m.p("z/in")).unwrap(), b"inside");
    assert_eq!(fs::metadata(m.p("dd")).unwrap().ino(), zi);
    assert_eq!(fs::metadata(m.p("z")).unwrap().ino(), di);
    let ufs = m.cluster.ufs_dir();
    assert_eq!(fs::read(ufs.join("dd")).unwrap(), b"x");
    assert_eq!(fs::read(ufs.join("z/in")).unwrap(), b"inside");
    assert_eq!(
        errno_of(renameat2(&m.p("z"), &m.p("nope"), libc::RENAME_EXCHANGE)),
        libc::ENOENT
    );

    // A setgid directory passes its group to new inodes, and the bit to
    // new subdirectories.
    let shared = m.p("shared");
    fs::create_dir(&shared).unwrap();
    std::os::unix::fs::chown(&shared, None, Some(1)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o2777)).unwrap();
    fs::write(shared.join("f"), b"f").unwrap();
    fs::create_dir(shared.join("sub")).unwrap();
    let f = fs::metadata(shared.join("f")).unwrap();
    assert_eq!(f.gid(), 1);
    assert_eq!(f.mode() & 0o2000, 0, "files do not take the setgid bit");
    let sub = fs::metadata(shared.join("sub")).unwrap();
    assert_eq!(sub.gid(), 1);
    assert_eq!(sub.mode() & 0o2000, 0o2000);

    // Another user's creations are theirs (the mount allows others).
    fs::set_permissions(m.cluster.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let open = m.p("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let as_nobody = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    let (file, dir, in_shared) = (open.join("file"), open.join("dir"), shared.join("byn"));
    as_nobody(&["touch", file.to_str().unwrap()]);
    as_nobody(&["mkdir", dir.to_str().unwrap()]);
    as_nobody(&["touch", in_shared.to_str().unwrap()]);
    for p in [&file, &dir] {
        let meta = fs::metadata(p).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "{p:?}");
    }
    let meta = fs::metadata(&in_shared).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 1));
}

/// A program started from the mount, killed and reaped on every path.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_running_from_the_mount_is_never_truncated_under_it() {
    use std::os::unix::fs::PermissionsExt;
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    let sleep = fs::read("/usr/bin/sleep").unwrap();
    for i in 0..8 {
        let exe = m.p(&format!("sleep{i}"));
        fs::write(&exe, &sleep).unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = Running(Command::new(&exe).arg("10").spawn().unwrap());
        // Opens that would write or truncate the running program fail with
        // ETXTBSY, O_RDONLY|O_TRUNC included (it reaches the daemon).
        for flags in [libc::O_WRONLY, libc::O_RDWR, libc::O_RDONLY | libc::O_TRUNC] {
            let c = cstr(&exe);
            // SAFETY: valid NUL-terminated path.
            let fd = unsafe { libc::open(c.as_ptr(), flags) };
            let err = std::io::Error::last_os_error();
            if fd >= 0 {
                // SAFETY: fd was just opened.
                unsafe { libc::close(fd) };
            }
            assert_eq!(fd, -1, "round {i}: open with {flags:#x} succeeded");
            assert_eq!(
                err.raw_os_error(),
                Some(libc::ETXTBSY),
                "round {i}: {flags:#x}"
            );
        }
        // ...and the program keeps running, its file intact.
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "round {i}: the program died: {:?}",
            child.0.try_wait()
        );
        drop(child);
        assert_eq!(fs::read(&exe).unwrap().len(), sleep.len());
        fs::remove_file(&exe).unwrap();
    }
}
