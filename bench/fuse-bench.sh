#!/usr/bin/env bash
# FUSE benchmark, all in one run: our mount (release build, `alluxio local`:
# master + worker + alluxio-fuse), JuiceFS (SQLite metadata, local file
# storage), SeaweedFS (weed server -filer + weed mount) and a native
# directory, side by side on this machine.
#
#   bench/fuse-bench.sh [--size 256M] [--files 10000] [--only alluxio,juicefs,seaweedfs,native] [--dir /var/tmp] [--less-page-reporting] [--alluxio-options OPTS]
#
# --alluxio-options: mount options for our mount (`alluxio local -o OPTS`),
# e.g. `direct_io`; the default measures the default mount.
#
# --less-page-reporting: on a VM whose balloon hands freed memory back to
# the host (free page reporting), raise page_reporting_order to 10 for the
# run (restored on exit), so memory freed in bulk — the cache drops, fio's
# invalidation — is mostly not given back, and the first touch of the pages
# the next read allocates does not fault in the host. It applies to every
# system alike; without it, first reads after a cache drop swing (see
# docs/benchmarks.md).
#
# Everything (mounts, data, metadata, the native directory) lives in one
# work directory under --dir (default /var/tmp; see peers.sh for why).
#
# Targets (--only): alluxio, juicefs (SQLite), juicefs-redis, seaweedfs,
# native (peers.sh); by default all but juicefs-redis, as in earlier runs.
#
# Data: fio sequential write (bs=1M, without and then with fio's default
# fallocate of the whole file first) and read of one --size file, the read
# cold (after `sync; echo 3 > /proc/sys/vm/drop_caches`) and warm (again at
# once), and random 4 KiB reads of it (psync, 8 s). Metadata: create, stat
# and unlink of --files empty files in one directory, and `ls -l` of it
# (after dropping the caches). Results go to stdout as a Markdown table with
# ratios (ours vs each peer); raw numbers stay in $WORK/results.jsonl.
# Every mount and process is torn down on every exit path (trap).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/peers.sh

SIZE=256M
FILES=10000
ONLY=alluxio,juicefs,seaweedfs,native
BASE=/var/tmp
LESS_REPORTING=
ALLUXIO_OPTIONS=
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --dir) BASE=$2; shift 2 ;;
    --less-page-reporting) LESS_REPORTING=1; shift ;;
    --alluxio-options) ALLUXIO_OPTIONS=$2; shift 2 ;;
    *) echo "usage: $0 [--size 256M] [--files 10000] [--only $TARGETS_ALL] [--dir /var/tmp] [--less-page-reporting] [--alluxio-options OPTS]" >&2; exit 2 ;;
  esac
done

peers_tools fio

REPORTING_KNOB=/sys/module/page_reporting/parameters/page_reporting_order
if [ -n "$LESS_REPORTING" ]; then
  if [ ! -w "$REPORTING_KNOB" ]; then
    echo "--less-page-reporting: $REPORTING_KNOB is not writable here" >&2
    exit 2
  fi
  REPORTING_WAS=$(cat "$REPORTING_KNOB")
  PEERS_ON_EXIT+=("echo $REPORTING_WAS >$REPORTING_KNOB")
fi
BENCH_NAME=fuse-bench peers_start "$ALLUXIO_OPTIONS"
if [ -n "$LESS_REPORTING" ]; then
  echo 10 >"$REPORTING_KNOB"
  echo "page_reporting_order $REPORTING_WAS -> 10 for this run" >&2
fi

# --- measurements ------------------------------------------------------------
RESULTS=$WORK/results.jsonl
fio_job() { # <dir> <name> <rw> <bs> [extra...] ; prints the fio JSON
  local dir=$1 name=$2 rw=$3 bs=$4
  shift 4
  fio --name="$name" --directory="$dir" --filename=bench.bin --rw="$rw" --bs="$bs" \
    --size="$SIZE" --ioengine=psync --numjobs=1 --group_reporting \
    --output-format=json "$@"
}
bw_mibs() { python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(max(j["read"]["bw_bytes"], j["write"]["bw_bytes"])/2**20)'; }
iops() { python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(j["read"]["iops"])'; }

for t in $(peers_started); do
  d=${DIR[$t]}
  echo "== $t ($d)" >&2
  # Every system starts with no dirty pages to write back (a fresh release
  # build leaves hundreds of MB of them: the first write measured 255 and
  # 265 MiB/s right after a build, 936 with this sync).
  drop_caches
  # Without fio's default preallocation: the plain streaming write (our
  # mount answered fallocate with EOPNOTSUPP until issue 16, so fio skipped
  # it there; the line stays comparable across sessions).
  record "$t" seq_write "$(fio_job "$d" seqwrite write 1M --end_fsync=1 --fallocate=none | bw_mibs)" MiB/s
  drop_caches
  record "$t" seq_read_cold "$(fio_job "$d" seqread read 1M | bw_mibs)" MiB/s
  record "$t" seq_read_warm "$(fio_job "$d" seqread read 1M | bw_mibs)" MiB/s
  record "$t" rand_read_4k "$(fio_job "$d" randread randread 4k --runtime=8 --time_based | iops)" IOPS
  rm -f "$d/bench.bin"
  # fio's default: fallocate(2) the whole file first (a preallocated file
  # is written over, as databases and downloaders do).
  drop_caches
  record "$t" seq_write_prealloc "$(fio_job "$d" seqwrite write 1M --end_fsync=1 --fallocate=native | bw_mibs)" MiB/s
  rm -f "$d/bench.bin"
  # The metadata loop starts on a settled system: removing the 1 GiB file
  # leaves background work behind (ours frees the worker's cached copy and
  # the UFS copy; the disk discards both). Right after it our first 2,500
  # creates ran at 1,251/s, after a 10 s pause at 1,583/s (steady: ~1,630).
  sync
  sleep 10
  # Metadata: one process, no fork per file.
  python3 - "$d/meta" "$FILES" >"$WORK/meta.$t" <<'EOF'
import os, subprocess, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
names = [os.path.join(d, "f%05d" % i) for i in range(n)]
def timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t
def create():
    for p in names:
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
def drop():
    os.sync()
    try:
        open("/proc/sys/vm/drop_caches", "w").write("3")
    except OSError:
        pass
def ls():
    subprocess.run(["ls", "-l", d], stdout=subprocess.DEVNULL, check=True)
def stat():
    for p in names:
        os.stat(p)
def unlink():
    for p in names:
        os.unlink(p)
c = timed(create); drop(); l = timed(ls); drop(); s = timed(stat); u = timed(unlink)
os.rmdir(d)
print(n / c, l, n / s, n / u)
EOF
  read -r c l s u <"$WORK/meta.$t"
  record "$t" create "$c" files/s
  record "$t" ls_l "$l" s
  record "$t" stat "$s" files/s
  record "$t" unlink "$u" files/s
done

# --- report ------------------------------------------------------------------
python3 - "$RESULTS" "$SIZE" "$FILES" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
v = {(r["target"], r["metric"]): r["value"] for r in rows}
targets = [t for t in ["alluxio", "juicefs", "juicefs-redis", "seaweedfs", "native"] if any(k[0] == t for k in v)]
metrics = [("seq_write", f"sequential write {sys.argv[2]}, bs=1M", "MiB/s", True),
           ("seq_write_prealloc", f"sequential write {sys.argv[2]}, preallocated (fallocate) first", "MiB/s", True),
           ("seq_read_cold", "sequential read, cold", "MiB/s", True),
           ("seq_read_warm", "sequential read, warm", "MiB/s", True),
           ("rand_read_4k", "random 4 KiB read", "IOPS", True),
           ("create", f"create {sys.argv[3]} empty files", "files/s", True),
           ("stat", f"stat {sys.argv[3]} files", "files/s", True),
           ("unlink", f"unlink {sys.argv[3]} files", "files/s", True),
           ("ls_l", f"ls -l of {sys.argv[3]} entries", "s", False)]
head = "| test | unit | " + " | ".join(targets) + " | " + " | ".join(
    f"ours/{t}" for t in targets if t != "alluxio") + " |"
print(head)
print("|" + "---|" * (head.count("|") - 1))
def fmt(x):
    return f"{x:,.2f}" if x < 10 else f"{x:,.0f}"
for m, label, unit, higher in metrics:
    cells = [fmt(v[(t, m)]) if (t, m) in v else "-" for t in targets]
    ratios = []
    for t in targets:
        if t == "alluxio":
            continue
        a, b = v.get(("alluxio", m)), v.get((t, m))
        if a is None or b is None or a == 0 or b == 0:
            ratios.append("-")
        else:
            ratios.append(f"{(a / b if higher else b / a):.2f}x")
    print(f"| {label} | {unit} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
print()
print("ours/peer > 1 means we are faster (for ls -l: the peer's time over ours).")
EOF
