#!/usr/bin/env bash
# Interleaved A/B of stat(2) through our mount for several builds: for each
# directory given (holding alluxio, alluxio-master, alluxio-worker and
# alluxio-fuse of one build), in the order given, starts `alluxio local`
# from it, creates 10,000 empty files in one directory, and times three
# passes of os.stat over them, each after dropping the page and dentry
# caches. Prints one line per run: the directory and the three rates.
#
#   bench/stat-ab.sh BIN_A BIN_B BIN_A BIN_B
#
# Everything lives in a fresh directory under /var/tmp per run (see
# fuse-bench.sh for why not /tmp), removed afterwards.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 BIN_DIR..." >&2; exit 2; }
. "$(dirname "$0")/ab-cluster.sh"
for bin in "$@"; do
  ab_start "$bin" stat-ab
  python3 - "$AB_WORK/mnt" "$bin" <<'PY'
import os, sys, time
d = os.path.join(sys.argv[1], "d")
os.mkdir(d)
n = 10000
for i in range(n):
    open(os.path.join(d, f"f{i}"), "w").close()
rates = []
for _ in range(3):
    os.system("sync; echo 3 > /proc/sys/vm/drop_caches")
    t = time.perf_counter()
    for i in range(n):
        os.stat(os.path.join(d, f"f{i}"))
    rates.append(n / (time.perf_counter() - t))
print(sys.argv[2], " ".join(f"{r:,.0f}" for r in rates), "files/s")
PY
  ab_stop
done
