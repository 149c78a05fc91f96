#!/usr/bin/env python3
"""POSIX coherence scenarios for tests/tests/fuse_coherence.rs.

`coherence.py SCENARIO DIR` runs one scenario in directory DIR (a fresh,
empty directory: on a local file system for the reference run, in the FUSE
mount for the run under test) and prints what it observed as one JSON
object. The Rust test runs each scenario on both and requires the same
output, so every observation here is something a local file system
determines exactly (bytes, sizes, link counts, errors; never timings or
inode numbers).
"""

import ctypes
import errno
import json
import mmap
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

LIBC = ctypes.CDLL(None, use_errno=True)
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_INSERT_RANGE = 0x20


def fallocate(fd, mode, offset, length):
    """fallocate(2): 'ok' or the errno's name."""
    r = LIBC.fallocate(fd, mode, ctypes.c_long(offset), ctypes.c_long(length))
    return "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]


def digest(data):
    """Bytes as something JSON can hold and a failure message can show."""
    if len(data) <= 64:
        return data.decode("latin-1")
    import hashlib

    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def readers_see_writes(d):
    """The issue's sequence: read-only descriptors opened before and after
    a writer see its bytes before it flushes or closes, with sizes that
    agree with what reads return."""
    p = os.path.join(d, "f")
    open(p, "w").close()
    out = {}
    r = os.open(p, os.O_RDONLY)
    w = os.open(p, os.O_RDWR)
    os.write(w, b"hello world")
    out["before_close"] = digest(os.pread(r, 100, 0))
    out["fstat_r"] = os.fstat(r).st_size
    r2 = os.open(p, os.O_RDONLY)
    out["opened_after"] = digest(os.pread(r2, 100, 0))
    out["stat"] = os.stat(p).st_size
    os.pwrite(w, b"HELLO", 0)
    out["overwritten"] = digest(os.pread(r, 100, 0))
    os.ftruncate(w, 5)
    out["truncated"] = [digest(os.pread(r2, 100, 0)), os.fstat(r2).st_size]
    os.write(w, b" again")  # at the descriptor's offset (11): a hole of zeros
    out["extended"] = [digest(os.pread(r, 100, 0)), os.fstat(r).st_size]
    os.close(w)
    out["after_close"] = digest(os.pread(r, 100, 0))
    out["after_close_r2"] = digest(os.pread(r2, 100, 0))
    os.close(r)
    os.close(r2)
    # A large file written in order (past the mount's write-behind start)
    # read back through a second descriptor while the writer goes on.
    big = os.path.join(d, "big")
    w = os.open(big, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    r = os.open(big, os.O_RDONLY)
    block = bytes(range(256)) * 4096  # 1 MiB
    checks = []
    for i in range(24):
        os.write(w, block[i:] + block[:i])
        if i % 6 == 5:
            end = (i + 1) << 20
            checks.append(digest(os.pread(r, 1 << 20, end - (1 << 20))))
            checks.append(os.fstat(r).st_size)
    os.close(w)
    checks.append(digest(os.pread(r, 1 << 20, 23 << 20)))
    os.close(r)
    out["big"] = checks
    return out


def child_reader(p, size):
    """Reads `size` bytes of p in another process (by a fresh open)."""
    code = f"import os;f=os.open({p!r},os.O_RDONLY);print(os.pread(f,{size},0).decode('latin-1'),end='')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout.decode()


def two_processes(d):
    """A writer in this process, readers in another one, before the writer
    closes; and a reader in this process of what another process writes."""
    p = os.path.join(d, "f")
    out = {}
    w = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(w, b"written by the parent")
    out["child_reads"] = child_reader(p, 100)
    # A reader kept open here while a child process writes and exits
    # without closing explicitly.
    q = os.path.join(d, "g")
    open(q, "wb").close()
    r = os.open(q, os.O_RDONLY)
    code = f"import os;f=os.open({q!r},os.O_WRONLY);os.write(f,b'from the child');os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True)
    out["parent_reads"] = digest(os.pread(r, 100, 0))
    # A child process that keeps its descriptor open and writes while the
    # parent reads.
    code = (
        f"import os,sys;f=os.open({q!r},os.O_WRONLY|os.O_APPEND)\n"
        "for line in sys.stdin:\n"
        "    os.write(f,line.encode());print('done',flush=True)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seen = []
    for i in range(5):
        child.stdin.write(f"line {i}\n")
        child.stdin.flush()
        child.stdout.readline()
        seen.append(digest(os.pread(r, 1000, 0)))
    child.stdin.close()
    child.wait()
    out["appended_while_open"] = seen
    os.close(r)
    os.close(w)
    return out


def tail_follow(d):
    """`tail -f` follows a file another process appends to for a few
    seconds, then exits with the writer (--pid)."""
    p = os.path.join(d, "log")
    open(p, "w").close()
    code = (
        f"import os,time;f=os.open({p!r},os.O_WRONLY|os.O_APPEND)\n"
        "for i in range(40):\n"
        "    os.write(f,b'event %03d %s\\n'%(i,b'x'*(i*7%50)));time.sleep(0.075)\n"
        "os.close(f)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code])
    tail = subprocess.Popen(
        ["tail", "-f", "-s", "0.1", f"--pid={writer.pid}", "-n", "+1", p],
        stdout=subprocess.PIPE,
    )
    writer.wait()
    try:
        followed, _ = tail.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        tail.kill()
        followed, _ = tail.communicate()
    with open(p, "rb") as f:
        content = f.read()
    # A reader polling from its own offset, as `tail -f` without inotify.
    polled = b""
    q = os.path.join(d, "log2")
    w = os.open(q, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    r = os.open(q, os.O_RDONLY)
    for i in range(200):
        os.write(w, b"%d," % i)
        polled += os.read(r, 4096)
    os.close(w)
    polled += os.read(r, 4096)
    os.close(r)
    return {
        "followed_equals_file": followed == content,
        "lines": content.count(b"\n"),
        "content": digest(content),
        "polled": digest(polled),
    }


def sqlite_work(db, who, n, mode):
    """n small transactions on db."""
    c = sqlite3.connect(db, timeout=60, isolation_level=None)
    c.execute(f"PRAGMA journal_mode={mode}")
    for i in range(n):
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO t(who, i, pad) VALUES (?, ?, ?)", (who, i, "p" * (i * 37 % 500)))
        if i % 10 == 0:
            c.execute("UPDATE t SET pad = ? WHERE who = ? AND i = ?", ("u" * 99, who, i))
        c.execute("COMMIT")
    c.close()


def sqlite(d, mode):
    db = os.path.join(d, "db.sqlite")
    c = sqlite3.connect(db, isolation_level=None)
    c.execute(f"PRAGMA journal_mode={mode}")
    c.execute("CREATE TABLE t(who TEXT, i INTEGER, pad TEXT, PRIMARY KEY (who, i))")
    c.close()
    n = 40
    # Two connections in one process, in two threads, interleaving
    # transactions.
    threads = [threading.Thread(target=sqlite_work, args=(db, w, n, mode)) for w in ("a", "b")]
    for t in threads:
        t.start()
    # And a connection kept open across all of it that reads between.
    reader = sqlite3.connect(db, timeout=60, isolation_level=None)
    for t in threads:
        t.join()
    counts = [reader.execute("SELECT count(*) FROM t").fetchone()[0]]
    # Two more processes of the same mount.
    code = (
        "import sys;sys.path.insert(0,sys.argv[1]);import coherence;"
        "coherence.sqlite_work(sys.argv[2],sys.argv[3],int(sys.argv[4]),sys.argv[5])"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    procs = [subprocess.Popen([sys.executable, "-c", code, here, db, w, str(n), mode]) for w in ("c", "d")]
    sqlite_work(db, "e", n, mode)
    for pr in procs:
        if pr.wait() != 0:
            raise SystemExit(f"sqlite child failed: {pr.returncode}")
    counts.append(reader.execute("SELECT count(*) FROM t").fetchone()[0])
    rows = reader.execute("SELECT who, count(*), sum(i), sum(length(pad)) FROM t GROUP BY who").fetchall()
    check = reader.execute("PRAGMA integrity_check").fetchone()[0]
    reader.close()
    c = sqlite3.connect(db)
    check_fresh = c.execute("PRAGMA integrity_check").fetchone()[0]
    c.close()
    return {"counts": counts, "rows": rows, "integrity": check, "integrity_fresh": check_fresh}


def sqlite_delete_journal(d):
    return sqlite(d, "DELETE")


def sqlite_wal(d):
    return sqlite(d, "WAL")


def mmap_and_read(d):
    """A shared writable mapping and read(2) of the same file agree, before
    and after msync, and after the mapping's descriptor is closed."""
    p = os.path.join(d, "m")
    with open(p, "wb") as f:
        f.write(b"." * 8192)
    w = os.open(p, os.O_RDWR)
    r = os.open(p, os.O_RDONLY)
    m = mmap.mmap(w, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    out = {}
    m[0:5] = b"first"
    out["read_before_msync"] = digest(os.pread(r, 10, 0))
    m[4096:4102] = b"second"
    m.flush()
    out["read_after_msync"] = [digest(os.pread(r, 10, 0)), digest(os.pread(r, 10, 4096))]
    # read(2)'s writes show in the mapping.
    os.pwrite(w, b"WRITE", 100)
    out["map_sees_write"] = digest(m[100:105])
    # A private mapping of another descriptor sees the shared changes too.
    r2 = os.open(p, os.O_RDONLY)
    m2 = mmap.mmap(r2, 8192, mmap.MAP_PRIVATE, mmap.PROT_READ)
    out["other_map"] = [digest(m2[0:5]), digest(m2[4096:4102]), digest(m2[100:105])]
    m2.close()
    os.close(r2)
    m.close()
    os.close(w)
    out["after_close"] = [digest(os.pread(r, 5, 0)), digest(os.pread(r, 6, 4096))]
    os.close(r)
    with open(p, "rb") as f:
        whole = f.read()
    out["reopened"] = digest(whole)
    return out


def two_writers(d):
    """Two descriptors appending (O_APPEND) and writing at positions, in
    one process and in two: nothing overwrites anything."""
    p = os.path.join(d, "a")
    a = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    b = os.open(p, os.O_WRONLY | os.O_APPEND)
    for i in range(50):
        os.write(a if i % 2 else b, b"<%02d:%s>" % (i, b"ab"[i % 2 : i % 2 + 1] * (i % 7)))
    os.close(a)
    os.close(b)
    out = {"one_process": digest(open(p, "rb").read())}
    q = os.path.join(d, "b")
    open(q, "wb").close()
    code = (
        f"import os,sys;f=os.open({q!r},os.O_WRONLY|os.O_APPEND)\n"
        "for i in range(200):\n"
        "    os.write(f,('[%s%03d]'%(sys.argv[1],i)).encode())\n"
        "os.close(f)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, who]) for who in ("x", "y", "z")]
    for pr in procs:
        pr.wait()
    data = open(q, "rb").read().decode()
    records = sorted(data.replace("][", "]\n[").split("\n"))
    out["appenders"] = {"length": len(data), "records": len(records), "unique": len(set(records))}
    # Positioned writers: each its own stripe of one file.
    s = os.path.join(d, "s")
    fds = [os.open(s, os.O_RDWR | os.O_CREAT, 0o644) for _ in range(3)]
    for rnd in range(20):
        for k, fd in enumerate(fds):
            os.pwrite(fd, bytes([65 + k]) * 100, (rnd * 3 + k) * 100)
    out["stripes_before_close"] = digest(os.pread(fds[0], 6000, 0))
    for fd in fds:
        os.close(fd)
    out["stripes"] = digest(open(s, "rb").read())
    return out


def rename_and_unlink(d):
    """Descriptors kept open across a rename of their file, an unlink, and
    a rename over it keep reading and writing the same file."""
    out = {}
    p = os.path.join(d, "f")
    with open(p, "wb") as f:
        f.write(b"original")
    w = os.open(p, os.O_RDWR)
    r = os.open(p, os.O_RDONLY)
    os.rename(p, os.path.join(d, "g"))
    os.pwrite(w, b"ORIG", 0)
    out["renamed"] = [digest(os.pread(r, 100, 0)), os.fstat(r).st_nlink]
    os.close(w)
    out["renamed_after_close"] = digest(os.pread(r, 100, 0))
    os.close(r)
    out["at_new_name"] = digest(open(os.path.join(d, "g"), "rb").read())
    out["old_name"] = os.path.exists(p)
    # Unlinked while a writer and a reader have it open.
    u = os.path.join(d, "u")
    with open(u, "wb") as f:
        f.write(b"to be unlinked")
    w = os.open(u, os.O_RDWR)
    r = os.open(u, os.O_RDONLY)
    os.unlink(u)
    os.pwrite(w, b"STILL", 0)
    os.write(w, b" here")
    out["unlinked"] = [digest(os.pread(r, 100, 0)), os.fstat(r).st_nlink, os.fstat(w).st_size]
    os.ftruncate(w, 12)
    os.fchmod(w, 0o600)
    out["unlinked_truncated"] = [digest(os.pread(r, 100, 0)), os.fstat(r).st_size, oct(os.fstat(w).st_mode & 0o777)]
    os.close(w)
    out["unlinked_after_writer_closed"] = digest(os.pread(r, 100, 0))
    os.close(r)
    out["unlinked_gone"] = os.path.exists(u)
    # Unlinked while a writer streams it (past the mount's write-behind
    # start) and a reader has it open; the writer goes on after.
    st = os.path.join(d, "streamed")
    w = os.open(st, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    r = os.open(st, os.O_RDONLY)
    block = bytes(range(256)) * 4096
    for i in range(12):
        os.write(w, block[i:] + block[:i])
    os.unlink(st)
    for i in range(12, 20):
        os.write(w, block[i:] + block[:i])
    data = os.pread(r, 20 << 20, 0)
    out["streamed_unlinked"] = [digest(data), len(data), os.fstat(r).st_size]
    os.write(w, b"tail")
    os.close(w)
    out["streamed_unlinked_after_close"] = [digest(os.pread(r, 8, 20 << 20)), os.fstat(r).st_size]
    os.close(r)
    # One of two hard links unlinked while open: the file keeps its other
    # name, and what the descriptor writes reaches it.
    h1, h2 = os.path.join(d, "h1"), os.path.join(d, "h2")
    with open(h1, "wb") as f:
        f.write(b"linked")
    os.link(h1, h2)
    w = os.open(h1, os.O_RDWR)
    os.unlink(h1)
    os.pwrite(w, b"LINKED", 0)
    out["hard_link"] = [os.fstat(w).st_nlink, digest(os.pread(w, 100, 0))]
    os.close(w)
    out["hard_link_other_name"] = digest(open(h2, "rb").read())
    os.unlink(h2)
    # Unlinked while only a reader has it open.
    v = os.path.join(d, "v")
    with open(v, "wb") as f:
        f.write(b"read-only holder " * 1000)
    r = os.open(v, os.O_RDONLY)
    os.unlink(v)
    out["reader_only"] = [digest(os.pread(r, 17, 17 * 999)), os.fstat(r).st_size, os.fstat(r).st_nlink]
    os.close(r)
    # Replaced by a rename while open.
    t = os.path.join(d, "t")
    with open(t, "wb") as f:
        f.write(b"old target")
    r = os.open(t, os.O_RDONLY)
    n = os.path.join(d, "n")
    with open(n, "wb") as f:
        f.write(b"new file")
    os.rename(n, t)
    out["replaced"] = [digest(os.pread(r, 100, 0)), os.fstat(r).st_nlink]
    os.close(r)
    out["replaced_name"] = digest(open(t, "rb").read())
    out["names"] = sorted(os.listdir(d))
    return out


def small_gaps(d):
    """umask 0777, fallocate modes, copy_file_range's modification time."""
    out = {}
    old = os.umask(0o777)
    try:
        fd = os.open(os.path.join(d, "masked"), os.O_WRONLY | os.O_CREAT, 0o666)
        os.close(fd)
        os.mkdir(os.path.join(d, "masked_dir"), 0o777)
        os.mkfifo(os.path.join(d, "masked_fifo"), 0o666)
    finally:
        os.umask(old)
    out["masked_modes"] = [
        oct(os.stat(os.path.join(d, name)).st_mode & 0o7777)
        for name in ("masked", "masked_dir", "masked_fifo")
    ]
    os.umask(0o027)
    try:
        fd = os.open(os.path.join(d, "masked27"), os.O_WRONLY | os.O_CREAT, 0o666)
        os.close(fd)
    finally:
        os.umask(old)
    out["masked_027"] = oct(os.stat(os.path.join(d, "masked27")).st_mode & 0o7777)

    p = os.path.join(d, "sparse")
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(fd, b"0123456789" * 10, 0)
    os.ftruncate(fd, 1 << 20)  # a sparse tail
    res = {
        "beyond_end": fallocate(fd, 0, 3 << 20, 8192),
        "size_after": os.fstat(fd).st_size,
        "keep_size": fallocate(fd, FALLOC_FL_KEEP_SIZE, 8 << 20, 4096),
        "size_after_keep": os.fstat(fd).st_size,
        "inside": fallocate(fd, 0, 4096, 4096),
        "punch": fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 20),
        "zero_range": fallocate(fd, FALLOC_FL_ZERO_RANGE, 50, 10),
        "zero_range_extends": fallocate(fd, FALLOC_FL_ZERO_RANGE, (3 << 20) + 8192, 100),
        "bytes": digest(os.pread(fd, 100, 0)),
        "size_final": os.fstat(fd).st_size,
        "tail_zero": os.pread(fd, 8192, 3 << 20) == bytes(8192),
    }
    os.close(fd)
    res["after_close"] = [os.stat(p).st_size, digest(open(p, "rb").read(100))]
    out["fallocate"] = res
    # Allocated whole first, then written in order past the mount's
    # write-behind start (fio does this), but not to the end: the rest
    # stays zeros.
    big = os.path.join(d, "preallocated")
    fd = os.open(big, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    allocated = fallocate(fd, 0, 0, 24 << 20)
    block = bytes(range(256)) * 4096
    for i in range(16):
        os.write(fd, block[i:] + block[:i])
    size_open = os.fstat(fd).st_size
    os.close(fd)
    with open(big, "rb") as f:
        data = f.read()
    out["preallocated"] = [allocated, size_open, len(data), digest(data), data[16 << 20 :] == bytes(8 << 20)]

    src = os.path.join(d, "src")
    with open(src, "wb") as f:
        f.write(b"s" * 100000)
    dst = os.path.join(d, "dst")
    with open(dst, "wb") as f:
        f.write(b"d" * 10)
    os.utime(dst, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    fi = os.open(src, os.O_RDONLY)
    fo = os.open(dst, os.O_WRONLY)
    copied = os.copy_file_range(fi, fo, 100000, 0, 5)
    out["copy_file_range"] = {
        "copied": copied,
        "mtime_moved_before_close": os.fstat(fo).st_mtime_ns > 1_000_000_000_000_000_000,
        "size_before_close": os.fstat(fo).st_size,
    }
    os.close(fo)
    os.close(fi)
    out["copy_file_range"]["mtime_moved"] = os.stat(dst).st_mtime_ns > 1_000_000_000_000_000_000
    out["copy_file_range"]["bytes"] = digest(open(dst, "rb").read())
    # An explicit modification time set before close (cp -p) survives it.
    fo = os.open(dst, os.O_WRONLY)
    os.write(fo, b"rewritten")
    os.utime(fo, ns=(1_200_000_000_123_456_789, 1_200_000_000_123_456_789))
    os.close(fo)
    out["mtime_set_before_close"] = os.stat(dst).st_mtime_ns
    return out


def fallocate_unsupported(d):
    """Modes a FUSE file system is never asked for (the kernel answers
    itself); run in the mount only, as a local file system may support
    them."""
    p = os.path.join(d, "f")
    with open(p, "wb") as f:
        f.write(b"x" * 16384)
    fd = os.open(p, os.O_RDWR)
    out = {
        "collapse": fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096),
        "insert": fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096),
    }
    os.close(fd)
    return out


SCENARIOS = {
    f.__name__: f
    for f in (
        readers_see_writes,
        two_processes,
        tail_follow,
        sqlite_delete_journal,
        sqlite_wal,
        mmap_and_read,
        two_writers,
        rename_and_unlink,
        small_gaps,
        fallocate_unsupported,
    )
}

if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    scenario, directory = sys.argv[1], sys.argv[2]
    print(json.dumps(SCENARIOS[scenario](directory), sort_keys=True))
