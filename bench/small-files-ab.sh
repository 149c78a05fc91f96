#!/usr/bin/env bash
# Interleaved A/B of small-file work through our mount for several builds:
# for each directory given (holding alluxio, alluxio-master, alluxio-worker
# and alluxio-fuse of one build), in the order given, starts `alluxio local`
# from it and times, over 1,000 files of 4 KiB in one directory: creating
# and writing them (each closed: one completeFile), renaming each, and
# unlinking them. Prints one line per run: the directory and the three
# rates. Used for the cost of issue 17's durability work (directory fsyncs
# in the local UFS, per-path ordering, answers that wait for durability).
#
#   bench/small-files-ab.sh BIN_A BIN_B BIN_A BIN_B
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 BIN_DIR..." >&2; exit 2; }
. "$(dirname "$0")/ab-cluster.sh"
for bin in "$@"; do
  ab_start "$bin" small-ab
  python3 - "$AB_WORK/mnt" "$bin" <<'PY'
import os, sys, time
d = os.path.join(sys.argv[1], "d")
os.mkdir(d)
n, data = 1000, b"x" * 4096
def timed(f):
    t = time.perf_counter()
    for i in range(n):
        f(i)
    return n / (time.perf_counter() - t)
def create(i):
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(data)
rates = [
    timed(create),
    timed(lambda i: os.rename(os.path.join(d, f"f{i}"), os.path.join(d, f"g{i}"))),
    timed(lambda i: os.unlink(os.path.join(d, f"g{i}"))),
]
print(sys.argv[2], "create+write %.0f, rename %.0f, unlink %.0f files/s" % tuple(rates))
PY
  ab_stop
done
