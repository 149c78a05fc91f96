//! Issue 19, decision 0014: attributes set on a file whose staged copy has
//! bytes to commit (`tar`'s `futimens`, `fchown`, `fchmod` before `close`,
//! `cp -p`'s) stay with the copy and are set by the commit, in the same
//! master call and journal entry as the bytes. Other clients see the old
//! version with its old attributes until the close, then the new bytes
//! with the new attributes; a daemon killed before the close leaves the
//! state after some prefix of the program's calls — never the bytes of one
//! version with the attributes of another.

use std::io::{BufRead, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Child, Command, Stdio};

use alluxio_tests::fuse::Mounted;
use alluxio_tests::http::{calls, delta};
use alluxio_tests::test_bytes;

/// The times the writer sets (ns since the epoch).
const MTIME: i64 = 1_600_000_000_000_000_005;
const ATIME: i64 = 1_600_000_100_000_000_007;

/// Rewrites `old` (O_TRUNC) and creates `new` (O_EXCL, mode 0600) as `tar`
/// does: write, set the times, chmod; writes `big` past the size at which
/// the daemon streams a version before the close (write-behind) and does
/// the same; then waits for a line on stdin before it closes them.
const WRITER: &str = r#"
import os, sys
old, new, big = sys.argv[1], sys.argv[2], sys.argv[3]
mtime, atime = int(sys.argv[4]), int(sys.argv[5])
a = os.open(old, os.O_WRONLY | os.O_TRUNC)
os.write(a, b"B" * 2000)
os.utime(a, ns=(atime, mtime))
os.fchmod(a, 0o600)
b = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(b, b"N" * 300)
os.utime(b, ns=(atime, mtime))
os.fchmod(b, 0o644)
c = os.open(big, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for _ in range(9):
    os.write(c, b"G" * (1 << 20))
os.utime(c, ns=(atime, mtime))
os.fchmod(c, 0o600)
print("written", flush=True)
sys.stdin.readline()
os.close(a)
os.close(b)
os.close(c)
print("closed", flush=True)
sys.stdin.readline()
"#;

/// The writer process, killed however the test ends.
struct Writer(Child);

impl Writer {
    fn start(m: &Mounted) -> Writer {
        let child = Command::new("python3")
            .arg("-c")
            .arg(WRITER)
            .arg(m.p("old.txt"))
            .arg(m.p("new.txt"))
            .arg(m.p("big.bin"))
            .arg(MTIME.to_string())
            .arg(ATIME.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        Writer(child)
    }

    /// Waits for the writer to print `want`.
    fn expect(&mut self, want: &str) {
        let mut line = String::new();
        let out = self.0.stdout.as_mut().unwrap();
        std::io::BufReader::new(out).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), want);
    }

    fn go_on(&mut self) {
        let stdin = self.0.stdin.as_mut().unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the master holds for `path`: bytes, permission bits, mtime.
async fn held(m: &Mounted, path: &str) -> (Vec<u8>, u32, i64) {
    let fs = m.cluster.client();
    let info = fs.get_status(path).await.unwrap();
    assert!(info.completed, "{path} is incomplete: {info:?}");
    let mut input = fs.open_file(path).await.unwrap();
    let bytes = input.read_to_end().await.unwrap().to_vec();
    (bytes, info.mode & 0o7777, info.mtime_ns)
}

async fn old_file(m: &Mounted) -> (Vec<u8>, u32, i64) {
    let fs = m.cluster.client();
    alluxio_tests::put_new(&fs, "/old.txt", &test_bytes(1, 1000)).await;
    held(m, "/old.txt").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_set_while_writing_are_committed_with_the_bytes() {
    let m = Mounted::start("/", "").await;
    let before = old_file(&m).await;
    assert_eq!(before.1, 0o644);
    let port = m.cluster.master_web_port(0);
    let calls_before = calls(port);
    let mut writer = Writer::start(&m);
    writer.expect("written");

    // Other clients: the old version, with its old attributes; the new
    // file as its create left it.
    assert_eq!(held(&m, "/old.txt").await, before);
    let (bytes, mode, mtime) = held(&m, "/new.txt").await;
    assert_eq!((bytes.len(), mode), (0, 0o600));
    assert_ne!(mtime, MTIME);
    // This mount: what the program did.
    let sizes = [
        ("old.txt", 2000, 0o600),
        ("new.txt", 300, 0o644),
        ("big.bin", 9 << 20, 0o600),
    ];
    for (name, size, mode) in sizes {
        let st = std::fs::metadata(m.p(name)).unwrap();
        assert_eq!(
            (st.size(), st.permissions().mode() & 0o7777),
            (size, mode),
            "{name} on the writer's mount"
        );
        assert_eq!(
            st.mtime() * 1_000_000_000 + st.mtime_nsec(),
            MTIME,
            "{name}"
        );
        assert_eq!(
            st.atime() * 1_000_000_000 + st.atime_nsec(),
            ATIME,
            "{name}"
        );
    }

    writer.go_on();
    writer.expect("closed");
    assert_eq!(held(&m, "/old.txt").await, (vec![b'B'; 2000], 0o600, MTIME));
    assert_eq!(held(&m, "/new.txt").await, (vec![b'N'; 300], 0o644, MTIME));
    assert_eq!(
        held(&m, "/big.bin").await,
        (vec![b'G'; 9 << 20], 0o600, MTIME)
    );
    let fs = m.cluster.client();
    for path in ["/old.txt", "/new.txt", "/big.bin"] {
        let info = fs.get_status(path).await.unwrap();
        assert_eq!(info.atime_ns, ATIME, "{path}");
    }
    // Each file: one version started and completed; no attribute call.
    let (made, _) = delta(&calls_before, &calls(port));
    assert_eq!(made.get("SetAttribute"), None, "{made:?}");
    assert_eq!(made.get("CompleteFile"), Some(&3.0), "{made:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_before_the_close_leaves_the_attributes_with_their_bytes() {
    let mut m = Mounted::start("/", "").await;
    let before = old_file(&m).await;
    let mut writer = Writer::start(&m);
    writer.expect("written");
    m.fuse.kill_daemon();
    drop(writer);

    // The rewritten file: its old bytes with their old attributes; the
    // new one: as its create left it (empty, 0600, its own time).
    assert_eq!(held(&m, "/old.txt").await, before);
    let (bytes, mode, mtime) = held(&m, "/new.txt").await;
    assert_eq!((bytes.len(), mode), (0, 0o600));
    assert_ne!(mtime, MTIME);

    m.remount();
    assert_eq!(std::fs::read(m.p("old.txt")).unwrap(), test_bytes(1, 1000));
    let st = std::fs::metadata(m.p("old.txt")).unwrap();
    assert_eq!(st.permissions().mode() & 0o7777, 0o644);
    let st = std::fs::metadata(m.p("new.txt")).unwrap();
    assert_eq!((st.size(), st.permissions().mode() & 0o7777), (0, 0o600));
}
