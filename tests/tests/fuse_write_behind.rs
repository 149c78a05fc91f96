//! Large files written in order through the mount are streamed to the
//! cluster without a second local copy (write-behind, `fuse/src/fs/
//! write_behind.rs`). Everything that needs the bytes back — a read through
//! the writing handle, an out-of-order write, fsync then more writes, a
//! truncation, an unlink or a rename of the open file — must see exactly
//! what a local file would. Each case runs the same operations on a local
//! temporary file and compares the bytes; and a stream that fails (the UFS
//! fills up) must fail the writer, not lose data silently.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use alluxio_tests::fuse::Mounted;

/// Comfortably past the 8 MiB at which a stream starts.
const MIB: usize = 1 << 20;

/// Deterministic, position-dependent bytes (a shifted copy is detected).
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed)
        .collect()
}

/// Writes `total` bytes in 1 MiB calls, in order, to both files.
fn write_in_order(files: &mut [&mut File], seed: u8, total: usize) {
    let data = pattern(seed, total);
    for chunk in data.chunks(MIB) {
        for f in files.iter_mut() {
            f.write_all(chunk).unwrap();
        }
    }
}

fn same_bytes(mounted: &Path, local: &Path, what: &str) {
    let (a, b) = (fs::read(mounted).unwrap(), fs::read(local).unwrap());
    assert_eq!(a.len(), b.len(), "{what}: length");
    assert!(a == b, "{what}: contents differ");
}

/// Drops the mount's cached pages of `f`, so the next read reaches the
/// daemon instead of the pages the writes left in the kernel's cache.
fn forget_cached(f: &File) {
    use std::os::fd::AsRawFd;
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise");
}

fn open_rw(p: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(p)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_out_of_order_writes_see_the_streamed_bytes() {
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (m.p("a.bin"), dir.path().join("a.bin"));
    let (mut a, mut b) = (open_rw(&pa), open_rw(&pb));

    write_in_order(&mut [&mut a, &mut b], 1, 20 * MIB);
    // Read back through the writing handle, inside the streamed range.
    let mut got = vec![0u8; 3 * MIB];
    forget_cached(&a);
    a.read_exact_at(&mut got, 12 * MIB as u64).unwrap();
    assert!(got == pattern(1, 20 * MIB)[12 * MIB..15 * MIB], "read-back");
    // The size is right while streaming.
    assert_eq!(fs::metadata(&pa).unwrap().len(), 20 * MIB as u64);
    // More in-order writes, then out-of-order ones into the streamed part
    // and the staged prefix, then append again.
    write_in_order(&mut [&mut a, &mut b], 2, 5 * MIB);
    for f in [&mut a, &mut b] {
        f.write_all_at(&pattern(3, 100_000), 17 * MIB as u64 + 5)
            .unwrap();
        f.write_all_at(&pattern(4, 4096), 4096).unwrap();
        f.seek(SeekFrom::End(0)).unwrap();
    }
    write_in_order(&mut [&mut a, &mut b], 5, 9 * MIB);
    drop(a);
    drop(b);
    same_bytes(&pa, &pb, "after close");

    // fsync in the middle, keep writing, read, fsync again.
    let (pc, pd) = (m.p("c.bin"), dir.path().join("c.bin"));
    let (mut c, mut d) = (open_rw(&pc), open_rw(&pd));
    write_in_order(&mut [&mut c, &mut d], 6, 16 * MIB);
    c.sync_all().unwrap();
    same_bytes(&pc, &pd, "after the first fsync (other handle)");
    write_in_order(&mut [&mut c, &mut d], 7, 12 * MIB);
    c.sync_all().unwrap();
    let mut got = vec![0u8; MIB];
    forget_cached(&c);
    c.read_exact_at(&mut got, 10 * MIB as u64).unwrap();
    assert!(
        got == fs::read(&pd).unwrap()[10 * MIB..11 * MIB],
        "read after fsync"
    );
    write_in_order(&mut [&mut c, &mut d], 8, 3 * MIB);
    drop(c);
    drop(d);
    same_bytes(&pc, &pd, "fsync, write, fsync, write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncate_unlink_and_rename_of_a_streaming_file() {
    let m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    let dir = tempfile::tempdir().unwrap();

    // Truncation into the streamed range, then growth past the end.
    let (pa, pb) = (m.p("t.bin"), dir.path().join("t.bin"));
    let (mut a, mut b) = (open_rw(&pa), open_rw(&pb));
    write_in_order(&mut [&mut a, &mut b], 9, 20 * MIB);
    for f in [&mut a, &mut b] {
        f.set_len(14 * MIB as u64 + 77).unwrap();
        f.set_len(22 * MIB as u64).unwrap();
        f.seek(SeekFrom::End(0)).unwrap();
    }
    write_in_order(&mut [&mut a, &mut b], 10, MIB);
    drop(a);
    drop(b);
    same_bytes(&pa, &pb, "truncate and grow");

    // Unlinked while open: the handle still reads every byte written.
    let pu = m.p("u.bin");
    let mut u = open_rw(&pu);
    write_in_order(&mut [&mut u], 11, 18 * MIB);
    fs::remove_file(&pu).unwrap();
    let mut got = vec![0u8; 18 * MIB];
    forget_cached(&u);
    u.read_exact_at(&mut got, 0).unwrap();
    assert!(got == pattern(11, 18 * MIB), "unlinked file read back");
    drop(u);
    assert!(!pu.exists());

    // A hard link made while streaming, then the name the stream was
    // opened under is unlinked: the other name gets every byte.
    let (ph, pl) = (m.p("h1.bin"), dir.path().join("h.bin"));
    let (mut h, mut l) = (open_rw(&ph), open_rw(&pl));
    write_in_order(&mut [&mut h, &mut l], 16, 12 * MIB);
    fs::hard_link(&ph, m.p("h2.bin")).unwrap();
    write_in_order(&mut [&mut h, &mut l], 17, 3 * MIB);
    fs::remove_file(&ph).unwrap();
    write_in_order(&mut [&mut h, &mut l], 18, 2 * MIB);
    drop(h);
    drop(l);
    same_bytes(&m.p("h2.bin"), &pl, "hard link, first name unlinked");

    // Renamed (and its directory renamed) while open: every byte lands under
    // the final name.
    fs::create_dir(m.p("d1")).unwrap();
    let (pr, pl) = (m.p("d1/r.bin"), dir.path().join("r.bin"));
    let (mut r, mut l) = (open_rw(&pr), open_rw(&pl));
    write_in_order(&mut [&mut r, &mut l], 12, 12 * MIB);
    fs::rename(&pr, m.p("d1/r2.bin")).unwrap();
    write_in_order(&mut [&mut r, &mut l], 13, 10 * MIB);
    fs::rename(m.p("d1"), m.p("d2")).unwrap();
    write_in_order(&mut [&mut r, &mut l], 14, 10 * MIB);
    drop(r);
    drop(l);
    same_bytes(&m.p("d2/r2.bin"), &pl, "renamed while written");
    let names: Vec<_> = fs::read_dir(m.p("d2"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("r2.bin")]);
}

/// Mounts a tmpfs of `size` at `dir` (root only); unmounted on drop.
struct SmallFs(std::path::PathBuf);

impl SmallFs {
    fn mount(dir: &Path, size: &str) -> SmallFs {
        fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs at {}", dir.display());
        SmallFs(dir.to_path_buf())
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_fails_fails_the_writer() {
    let mut m = Mounted::start("/", "attr_timeout=1,entry_timeout=1").await;
    // The full UFS fails the stream on purpose; the daemon logs it.
    m.cluster
        .expect_log("write-behind failed, the file keeps its last committed version");
    // The UFS directory under /small holds 24 MiB: a 64 MiB file cannot
    // be written through to it.
    let _small = SmallFs::mount(&m.cluster.ufs_dir().join("small"), "24m");
    let p = m.p("small/big.bin");
    let data = pattern(15, 64 * MIB);
    let outcome = (|| -> std::io::Result<()> {
        let mut f = open_rw(&p);
        for chunk in data.chunks(MIB) {
            f.write_all(chunk)?;
        }
        f.sync_all()?;
        drop(f);
        Ok(())
    })();
    let err = outcome.expect_err("writing 64 MiB into a 24 MiB UFS must fail");
    assert!(
        matches!(err.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EIO)),
        "error: {err}"
    );
    // Nothing claims to hold the 64 MiB: whatever the name shows now is
    // not a complete 64 MiB version.
    let len = fs::metadata(&p).map(|md| md.len()).unwrap_or(0);
    let read = fs::read(&p).map(|b| b.len()).unwrap_or(0);
    assert!(
        len < 64 * MIB as u64 || read < 64 * MIB,
        "len {len}, read {read}"
    );
    // The mount keeps working.
    fs::write(m.p("after.txt"), b"still fine").unwrap();
    assert_eq!(fs::read(m.p("after.txt")).unwrap(), b"still fine");
}
