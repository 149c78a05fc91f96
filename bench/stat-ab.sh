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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for bin in "$@"; do
  work=$(mktemp -d /var/tmp/stat-ab.XXXXXX)
  mkdir -p "$work/conf" "$work/mnt"
  HOME=$work ALLUXIO_CONF_DIR=$work/conf "$bin/alluxio" \
    -Dalluxio.master.hostname=127.0.0.1 \
    -Dalluxio.master.rpc.port="$(free_port)" -Dalluxio.master.web.port="$(free_port)" \
    -Dalluxio.worker.hostname=127.0.0.1 \
    -Dalluxio.worker.rpc.port="$(free_port)" -Dalluxio.worker.web.port="$(free_port)" \
    local --data-dir "$work/data" --mount-point "$work/mnt" >"$work/local.out" 2>&1 &
  pid=$!
  for _ in $(seq 150); do mountpoint -q "$work/mnt" && break; sleep 0.2; done
  mountpoint -q "$work/mnt" || { cat "$work/local.out" >&2; kill "$pid"; exit 1; }
  python3 - "$work/mnt" "$bin" <<'PY'
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
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
done
