//! Every descriptor sees every write (issue 16): within one mount, all
//! descriptors and mappings of a file see the bytes of every write that
//! returned, as on a local file system; between mounts, close-to-open.
//!
//! Each scenario of `tests/scenarios/coherence.py` runs twice, in a local
//! directory and in the mount, and what it observed (bytes, sizes, link
//! counts, errors) must be the same. A few facts of the local run are
//! asserted too, so a scenario cannot pass by observing nothing.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use alluxio_tests::fuse::{FuseMount, Mounted};

const OPTIONS: &str = "attr_timeout=1,entry_timeout=1";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/coherence.py")
}

/// Runs `scenario` in a new directory `dir` and returns what it printed.
fn run(scenario: &str, dir: &Path) -> String {
    fs::create_dir_all(dir).unwrap();
    let out = Command::new("python3")
        .arg(script())
        .arg(scenario)
        .arg(dir)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "{scenario} in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `scenario` in a local directory beside the cluster (the same file
/// system as its UFS) and in the mount; they must agree. Returns the local
/// run's output.
fn same_as_local(m: &Mounted, scenario: &str) -> String {
    let local = run(scenario, &m.cluster.path().join("local").join(scenario));
    let mounted = run(scenario, &m.p(scenario));
    assert_eq!(
        mounted, local,
        "{scenario}: the mount (left) differs from a local directory (right)"
    );
    local
}

fn has(out: &str, fact: &str) {
    assert!(out.contains(fact), "expected {fact} in {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptors_of_one_mount_see_every_write() {
    let m = Mounted::start("/", OPTIONS).await;
    let out = same_as_local(&m, "readers_see_writes");
    has(&out, r#""before_close": "hello world""#);
    has(&out, r#""opened_after": "hello world""#);
    has(&out, r#""overwritten": "HELLO world""#);
    let out = same_as_local(&m, "two_processes");
    has(&out, r#""child_reads": "written by the parent""#);
    has(&out, r#""parent_reads": "from the child""#);
    has(
        &out,
        r#""from the childline 0\nline 1\nline 2\nline 3\nline 4\n""#,
    );
    let out = same_as_local(&m, "tail_follow");
    has(&out, r#""followed_equals_file": true"#);
    has(&out, r#""lines": 40"#);
    let out = same_as_local(&m, "mmap_and_read");
    has(&out, r#""read_before_msync": "first....."#);
    has(&out, r#""map_sees_write": "WRITE""#);
    let out = same_as_local(&m, "two_writers");
    has(&out, r#""records": 600"#);
    has(&out, r#""unique": 600"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_files_survive_rename_and_unlink() {
    let m = Mounted::start("/", OPTIONS).await;
    let out = same_as_local(&m, "rename_and_unlink");
    has(&out, r#""renamed_after_close": "ORIGinal""#);
    has(&out, r#""unlinked_after_writer_closed": " here unlink""#);
    has(&out, r#""replaced_name": "new file""#);
    has(&out, r#""reader_only": ["#);
    has(&out, r#""streamed_unlinked": ["20971520 bytes, sha256 "#);
    has(&out, r#""hard_link_other_name": "LINKED""#);
    // Nothing of the unlinked files reached the UFS, and the renamed and
    // replaced files hold their last bytes there.
    let ufs = m.cluster.ufs_dir().join("rename_and_unlink");
    let mut names: Vec<String> = fs::read_dir(&ufs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["g", "t"]);
    assert_eq!(fs::read(ufs.join("g")).unwrap(), b"ORIGinal");
    assert_eq!(fs::read(ufs.join("t")).unwrap(), b"new file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_connections_share_one_database() {
    let m = Mounted::start("/", OPTIONS).await;
    for mode in ["sqlite_delete_journal", "sqlite_wal"] {
        let out = same_as_local(&m, mode);
        has(&out, r#""counts": [80, 200]"#);
        has(&out, r#""integrity": "ok""#);
        has(&out, r#""integrity_fresh": "ok""#);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn umask_fallocate_and_copy_file_range_as_on_a_local_disk() {
    let m = Mounted::start("/", OPTIONS).await;
    let out = same_as_local(&m, "small_gaps");
    has(&out, r#""masked_modes": ["0o0", "0o0", "0o0"]"#);
    has(&out, r#""beyond_end": "ok""#);
    has(&out, r#""tail_zero": true"#);
    has(&out, r#""preallocated": ["ok", 25165824, 25165824, "#);
    has(&out, r#""mtime_moved_before_close": true"#);
    has(&out, r#""mtime_set_before_close": 1200000000123456789"#);
    // The modes a FUSE file system is never asked for fail with "not
    // supported" (EOPNOTSUPP, which Python names ENOTSUP: the same number
    // on Linux).
    let out = run("fallocate_unsupported", &m.p("fallocate_unsupported"));
    has(&out, r#""collapse": "ENOTSUP""#);
    has(&out, r#""insert": "ENOTSUP""#);
    // The committed bytes are the local run's.
    let local = m.cluster.path().join("local/small_gaps/sparse");
    assert_eq!(
        fs::read(m.cluster.ufs_dir().join("small_gaps/sparse")).unwrap(),
        fs::read(local).unwrap()
    );
}

/// Reads all of `p` through a fresh descriptor.
fn read_fresh(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_to_open_between_mounts() {
    let m = Mounted::start("/", OPTIONS).await;
    let other = FuseMount::start_at(&m.cluster, "mnt2", "/", OPTIONS);
    let (a, b) = (m.p("shared"), other.mnt.join("shared"));
    fs::write(&a, b"v1").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // B caches the first version's attributes and pages.
    assert_eq!(read_fresh(&b), b"v1");
    assert_eq!(fs::metadata(&b).unwrap().len(), 2);

    // fsync on A: an open on B sees everything written before it.
    let w = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&a)
        .unwrap();
    w.write_all_at(b"version two, longer", 0).unwrap();
    w.sync_all().unwrap();
    assert_eq!(read_fresh(&b), b"version two, longer");
    // close on A: the whole new content, at once (B's cached attributes
    // of the older version do not cut the read short).
    w.write_all_at(b" and more", 19).unwrap();
    drop(w);
    assert_eq!(read_fresh(&b), b"version two, longer and more");
    assert_eq!(fs::metadata(&b).unwrap().len(), 28);

    // And back: B appends and closes, A opens.
    let mut f = fs::OpenOptions::new().append(true).open(&b).unwrap();
    std::io::Write::write_all(&mut f, b"+B").unwrap();
    drop(f);
    assert_eq!(read_fresh(&a), b"version two, longer and more+B");

    // Shorter again on B; A reads exactly the new bytes.
    fs::write(&b, b"short").unwrap();
    assert_eq!(read_fresh(&a), b"short");
    assert_eq!(
        fs::read(m.cluster.ufs_dir().join("shared")).unwrap(),
        b"short"
    );
}
