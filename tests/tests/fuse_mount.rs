//! The FUSE daemon against a real cluster: `alluxio-fuse mount` onto a temp
//! dir, then POSIX operations through `std::fs` on the mount, compared with
//! the same operations on a local file where bytes matter.
//!
//! Every test unmounts (and stops the daemon) from a guard's `Drop`, so a
//! failing assertion never leaves a mount behind.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use alluxio_tests::fuse::{errno_of, Mounted};
use alluxio_tests::test_bytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_directories_through_the_mount() {
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    // mkdir, create, write, read back.
    fs::create_dir(m.p("d")).unwrap();
    let data = test_bytes(1, (3 << 20) + 17);
    fs::write(m.p("d/f"), &data).unwrap();
    assert_eq!(fs::read(m.p("d/f")).unwrap(), data);
    // The cluster sees the same bytes, and so does the UFS (CACHE_THROUGH).
    let cat = m.cluster.cli(&["fs", "cat", "/d/f"]).ok();
    assert_eq!(cat.bytes, data);
    assert_eq!(fs::read(m.cluster.ufs_dir().join("d/f")).unwrap(), data);

    // ls -l: names, kinds and sizes from readdirplus.
    fs::write(m.p("d/small"), b"abc").unwrap();
    fs::create_dir(m.p("d/sub")).unwrap();
    let mut names: Vec<(String, bool, u64)> = fs::read_dir(m.p("d"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let md = e.metadata().unwrap();
            (e.file_name().into_string().unwrap(), md.is_dir(), md.len())
        })
        .collect();
    names.sort();
    assert_eq!(names[0], ("f".into(), false, data.len() as u64));
    assert_eq!(names[1], ("small".into(), false, 3));
    assert_eq!(names[2].0, "sub");
    assert!(names[2].1);
    let ls = Command::new("ls").arg("-l").arg(m.p("d")).output().unwrap();
    assert!(ls.status.success());
    assert!(String::from_utf8_lossy(&ls.stdout).contains("small"));

    // Inode numbers are the master's ids (a directory keeps its id; a
    // rewritten file keeps the number of its first version).
    use std::os::unix::fs::MetadataExt;
    let ino = fs::metadata(m.p("d/sub")).unwrap().ino();
    let info = m.cluster.client().get_status("/d/sub").await.unwrap();
    assert_eq!(ino, info.id);

    // rename over an existing file replaces it.
    fs::rename(m.p("d/small"), m.p("d/f")).unwrap();
    assert_eq!(fs::read(m.p("d/f")).unwrap(), b"abc");
    assert_eq!(errno_of(fs::metadata(m.p("d/small"))), libc::ENOENT);

    // chmod.
    fs::set_permissions(m.p("d/f"), fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        fs::metadata(m.p("d/f")).unwrap().permissions().mode() & 0o7777,
        0o600
    );

    // unlink and rmdir.
    fs::remove_file(m.p("d/f")).unwrap();
    assert_eq!(errno_of(fs::metadata(m.p("d/f"))), libc::ENOENT);
    fs::remove_dir(m.p("d/sub")).unwrap();
    fs::remove_dir(m.p("d")).unwrap();
    assert_eq!(errno_of(fs::metadata(m.p("d"))), libc::ENOENT);

    // A file written straight into the UFS shows up.
    fs::write(m.cluster.ufs_dir().join("from_ufs.txt"), b"outside").unwrap();
    assert_eq!(fs::read(m.p("from_ufs.txt")).unwrap(), b"outside");

    // Error cases.
    fs::create_dir(m.p("e")).unwrap();
    fs::write(m.p("e/file"), b"x").unwrap();
    assert_eq!(errno_of(fs::read(m.p("missing"))), libc::ENOENT);
    assert_eq!(errno_of(fs::create_dir(m.p("e"))), libc::EEXIST);
    assert_eq!(
        errno_of(
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(m.p("e/file"))
        ),
        libc::EEXIST
    );
    assert_eq!(errno_of(fs::remove_dir(m.p("e"))), libc::ENOTEMPTY);
    assert_eq!(errno_of(fs::metadata(m.p("e/file/x"))), libc::ENOTDIR);
    assert_eq!(errno_of(fs::remove_dir(m.p("e/file"))), libc::ENOTDIR);
    assert_eq!(errno_of(fs::remove_file(m.p("e"))), libc::EISDIR);
    let long = "n".repeat(256);
    assert_eq!(errno_of(fs::write(m.p(&long), b"x")), libc::ENAMETOOLONG);
    assert_eq!(errno_of(fs::create_dir(m.p(&long))), libc::ENAMETOOLONG);
    // The longest allowed name (NAME_MAX, 255 bytes) works.
    let max = "m".repeat(255);
    fs::write(m.p(&max), b"ok").unwrap();
    assert_eq!(fs::read(m.p(&max)).unwrap(), b"ok");
    // RENAME_NOREPLACE onto an existing name.
    fs::write(m.p("e/other"), b"y").unwrap();
    let (a, b) = (cstr(&m.p("e/other")), cstr(&m.p("e/file")));
    // SAFETY: valid NUL-terminated paths.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    assert_eq!(rc, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EEXIST)
    );
    assert_eq!(fs::read(m.p("e/file")).unwrap(), b"x");

    // statfs reports the workers' capacity.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let c = cstr(&m.fuse.mnt);
    // SAFETY: valid path and output struct.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    assert!(st.f_blocks > 0, "no capacity reported");

    // stat lists the mount.
    let out = m.fuse_cli(&["stat"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(m.fuse.mnt.to_str().unwrap()));

    // The mount table shows what we are: type fuse.alluxio (the daemon
    // mounts itself as root, fusermount3 sets the subtype otherwise).
    let canon = fs::canonicalize(&m.fuse.mnt).unwrap();
    let table = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = table
        .lines()
        .find(|l| l.split(' ').nth(4) == canon.to_str())
        .expect("the mount is in the mount table");
    let tail = line.split(" - ").nth(1).unwrap();
    assert!(
        tail.starts_with("fuse.alluxio alluxio:/ "),
        "type and source: {tail}"
    );
    // The daemon (root here) widened the mount's read-ahead window from the
    // kernel's 128 KiB to the 1 MiB default.
    let device = line.split(' ').nth(2).unwrap();
    let knob = format!("/sys/class/bdi/{device}/read_ahead_kb");
    assert_eq!(fs::read_to_string(&knob).unwrap().trim(), "1024", "{knob}");

    // A UFS or journal on a FUSE mount (like one on NFS) may hang a call:
    // its short calls go to the blocking pool, a local disk's run inline.
    use alluxio_common::short_calls::ShortCalls;
    assert_eq!(ShortCalls::for_dir(&m.fuse.mnt), ShortCalls::Pool);
    assert_eq!(
        ShortCalls::for_dir(&m.fuse.mnt.join("not/made/yet")),
        ShortCalls::Pool
    );
}

fn cstr(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

/// Applies the same edits to `path` (in the mount) and to a local file and
/// compares the results byte for byte after each close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_writes_append_truncate_match_a_local_file() {
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    let local = m.cluster.path().join("local.bin");
    let remote = m.p("edit.bin");
    let initial = test_bytes(7, 1_500_000);
    for p in [&local, &remote] {
        fs::write(p, &initial).unwrap();
    }
    let check = |what: &str| {
        assert!(
            fs::read(&remote).unwrap() == fs::read(&local).unwrap(),
            "contents differ after {what}"
        );
    };
    check("initial write");
    // Random writes (inside, straddling the end, past the end leaving a hole).
    for p in [&local, &remote] {
        let f = fs::OpenOptions::new().write(true).open(p).unwrap();
        f.write_all_at(b"hello", 10).unwrap();
        f.write_all_at(&test_bytes(8, 300_000), 1_000_000).unwrap();
        f.write_all_at(&test_bytes(9, 1000), 1_400_000).unwrap();
        f.write_all_at(b"tail", 2_000_000).unwrap();
    }
    check("random writes");
    // Append.
    for p in [&local, &remote] {
        let mut f = fs::OpenOptions::new().append(true).open(p).unwrap();
        f.write_all(b"appended").unwrap();
        f.write_all(&test_bytes(10, 70_000)).unwrap();
    }
    check("append");
    // Truncate a closed file, shorter then longer.
    for p in [&local, &remote] {
        fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(123_457)
            .unwrap();
    }
    check("truncate shorter");
    for p in [&local, &remote] {
        let f = fs::OpenOptions::new().write(true).open(p).unwrap();
        f.set_len(200_000).unwrap();
    }
    check("truncate longer");
    // truncate(2) by path (setattr without an open handle).
    for p in [&local, &remote] {
        let c = cstr(p);
        // SAFETY: valid path.
        assert_eq!(unsafe { libc::truncate(c.as_ptr(), 5000) }, 0);
    }
    check("truncate by path");
    // Read-modify-write through one read/write handle, reading the staged copy.
    for p in [&local, &remote] {
        let mut f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .unwrap();
        f.seek(SeekFrom::Start(100)).unwrap();
        f.write_all(b"XYZ").unwrap();
        let mut buf = [0u8; 3];
        f.seek(SeekFrom::Start(100)).unwrap();
        f.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"XYZ");
    }
    check("read-modify-write");
    // Overwrite with O_TRUNC.
    for p in [&local, &remote] {
        fs::write(p, b"short now").unwrap();
    }
    check("overwrite");
    // The inode number survives the new versions.
    use std::os::unix::fs::MetadataExt;
    let before = fs::metadata(&remote).unwrap().ino();
    fs::write(&remote, b"again").unwrap();
    assert_eq!(fs::metadata(&remote).unwrap().ino(), before);
    // fsync returns after the commit: the cluster has the bytes.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&remote)
        .unwrap();
    f.write_all(b"synced").unwrap();
    f.sync_all().unwrap();
    assert_eq!(
        m.cluster.cli(&["fs", "cat", "/edit.bin"]).ok().stdout,
        "synced"
    );
    drop(f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_a_tree_in_and_out_and_mount_errors() {
    let mut m = Mounted::start("/sub", "attr_timeout=1,entry_timeout=1").await;
    // Mounting a file is refused below; the daemon logs why.
    m.cluster
        .expect_log("cannot mount /sub/top.txt: not a directory");
    // The sub-path is the mount's root.
    fs::write(m.p("top.txt"), b"in sub").unwrap();
    assert_eq!(
        m.cluster.cli(&["fs", "cat", "/sub/top.txt"]).ok().stdout,
        "in sub"
    );

    let src = m.cluster.path().join("tree");
    for (i, rel) in ["a/1", "a/2", "a/b/3", "c/4", "5"].iter().enumerate() {
        let p = src.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, test_bytes(i as u64, i * 100_000 + 3)).unwrap();
    }
    let cp_in = Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(m.p("tree"))
        .status()
        .unwrap();
    assert!(cp_in.success());
    let back = m.cluster.path().join("back");
    let cp_out = Command::new("cp")
        .arg("-r")
        .arg(m.p("tree"))
        .arg(&back)
        .status()
        .unwrap();
    assert!(cp_out.success());
    let diff = Command::new("diff")
        .arg("-r")
        .arg(&src)
        .arg(&back)
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );

    // Mounting again on the same point is refused, clearly.
    let again = m.fuse_cli(&["mount", m.fuse.mnt.to_str().unwrap(), "/"]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("busy") || err.contains("already mounted"),
        "{err}"
    );
    // A missing mount point.
    let missing = m.cluster.path().join("nope");
    let out = m.fuse_cli(&["mount", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    // A path that is not a directory in Alluxio.
    let other = m.cluster.path().join("mnt2");
    fs::create_dir_all(&other).unwrap();
    let out = m.fuse_cli(&["mount", other.to_str().unwrap(), "/sub/top.txt"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Unmount through the command; the mount point is a plain dir again.
    let out = m.fuse_cli(&["unmount", m.fuse.mnt.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read_dir(&m.fuse.mnt).unwrap().count(), 0);
    let out = m.fuse_cli(&["unmount", m.fuse.mnt.to_str().unwrap()]);
    assert!(!out.status.success());
    assert_eq!(errno_of(fs::read(m.p("top.txt"))), libc::ENOENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cluster_is_reported() {
    let dir = tempfile_dir();
    let conf = dir.join("conf");
    fs::create_dir_all(&conf).unwrap();
    let port = alluxio_tests::free_port();
    fs::write(
        conf.join("alluxio-site.properties"),
        format!("alluxio.master.hostname=127.0.0.1\nalluxio.master.rpc.port={port}\n"),
    )
    .unwrap();
    let mnt = dir.join("mnt");
    fs::create_dir_all(&mnt).unwrap();
    let start = std::time::Instant::now();
    let out = Command::new(alluxio_tests::bin_path("alluxio-fuse"))
        .env("ALLUXIO_CONF_DIR", &conf)
        .env("HOME", &dir)
        .env("ALLUXIO_LOGS_DIR", dir.join("logs"))
        .arg("mount")
        .arg(&mnt)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unreachable"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
    assert!(alluxio_fuse_not_mounted(&mnt));
    // The detached daemon logged through its (rotated) per-mount log file,
    // not only its stderr: the error is there as a log line.
    let logs: Vec<_> = fs::read_dir(dir.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let log = logs
        .iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("fuse"))
        .unwrap_or_else(|| panic!("no fuse log in {logs:?}"));
    let text = fs::read_to_string(log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("ERROR") && l.contains("unreachable")),
        "{text}"
    );
    let _ = fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("alluxio-fuse-test-{}", std::process::id()));
    fs::create_dir_all(&d).unwrap();
    d
}

fn alluxio_fuse_not_mounted(mnt: &Path) -> bool {
    !fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(mnt.to_str().unwrap())
}

/// The first `len` bytes of a file mapped shared and read-only, unmapped
/// when dropped.
struct SharedMap {
    addr: *mut libc::c_void,
    len: usize,
}

impl SharedMap {
    fn of(path: &Path, len: usize) -> SharedMap {
        use std::os::fd::AsRawFd;
        let f = fs::File::open(path).unwrap();
        // SAFETY: a fresh read-only mapping of an open file, unmapped in Drop.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert_ne!(
            addr,
            libc::MAP_FAILED,
            "{}",
            std::io::Error::last_os_error()
        );
        SharedMap { addr, len }
    }

    /// The mapped bytes (touching them reads them in).
    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` bytes long and lives as long as self.
        unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.len) }
    }

    /// How many of its pages the kernel's page cache holds, without
    /// faulting any in (`mincore`).
    fn resident_pages(&self) -> usize {
        let mut vec = vec![0u8; self.len.div_ceil(4096)];
        // SAFETY: `vec` has one byte per page of the mapping.
        let rc = unsafe { libc::mincore(self.addr, self.len, vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        vec.iter().filter(|b| *b & 1 == 1).count()
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: mapped in `of` with this length.
        unsafe { libc::munmap(self.addr, self.len) };
    }
}

/// How many of the first `len` bytes of `path` the kernel's page cache
/// holds, in pages.
fn resident_pages(path: &Path, len: usize) -> usize {
    SharedMap::of(path, len).resident_pages()
}

/// `-o direct_io`: files opened read-only bypass the page cache (reads of
/// any size and offset still return the right bytes, and shared mappings
/// still work); the default mount keeps what it read in the page cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_io_reads_bypass_the_page_cache() {
    let mut m = Mounted::start("/", "").await;
    let data = test_bytes(7, (3 << 20) + 17);
    let local = tempfile_dir().join("direct_io.bin");
    fs::write(&local, &data).unwrap();
    let _ = m
        .cluster
        .cli(&["fs", "copyFromLocal", local.to_str().unwrap(), "/f"])
        .ok();
    fs::remove_file(&local).unwrap();

    // Default: what a read brought in stays cached.
    assert_eq!(resident_pages(&m.p("f"), data.len()), 0);
    assert_eq!(fs::read(m.p("f")).unwrap(), data);
    assert_eq!(
        resident_pages(&m.p("f"), data.len()),
        data.len().div_ceil(4096)
    );

    m.fuse.options = "direct_io".into();
    m.remount();
    assert_eq!(fs::read(m.p("f")).unwrap(), data);
    let f = fs::File::open(m.p("f")).unwrap();
    let mut buf = vec![0u8; 4096];
    for off in [0usize, 1, 4095, 1 << 20, (3 << 20) - 5, data.len() - 3] {
        let n = f.read_at(&mut buf, off as u64).unwrap();
        let want = &data[off..(off + 4096).min(data.len())];
        assert_eq!(&buf[..n], want, "4 KiB read at {off}");
    }
    assert_eq!(f.read_at(&mut buf, data.len() as u64).unwrap(), 0);
    drop(f);
    assert_eq!(
        resident_pages(&m.p("f"), data.len()),
        0,
        "direct_io reads must not fill the page cache"
    );
    // A shared mapping of a direct_io file reads through the page cache
    // (FUSE_DIRECT_IO_ALLOW_MMAP) and sees the same bytes.
    let map = SharedMap::of(&m.p("f"), data.len());
    assert!(map.bytes() == &data[..], "mapped bytes differ");
    drop(map);

    // Files opened for writing keep the page cache: a rewrite through the
    // mount reads back whole, in both modes.
    let new = test_bytes(8, (1 << 20) + 3);
    fs::write(m.p("f"), &new).unwrap();
    assert_eq!(fs::read(m.p("f")).unwrap(), new);
    assert_eq!(m.cluster.cli(&["fs", "cat", "/f"]).ok().bytes, new);
}
