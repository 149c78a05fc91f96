#!/usr/bin/env bash
# Interleaved A/B of random 4 KiB reads through our mount for several
# builds: for each directory given (holding alluxio, alluxio-master,
# alluxio-worker and alluxio-fuse of one build), in the order given, starts
# `alluxio local` from it, writes a 1 GiB file with fio, drops the caches,
# reads the file once in order, then runs 8 s of 4 KiB random reads (psync,
# one job, as bench/fuse-bench.sh does). Prints one line per run: the
# directory and the IOPS.
#
#   bench/randread-ab.sh BIN_A BIN_B BIN_A BIN_B
#
# Everything lives in a fresh directory under /var/tmp per run (see
# fuse-bench.sh for why not /tmp), removed afterwards.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 BIN_DIR..." >&2; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
job() { # <dir> <rw> <bs> [extra...]
  local dir=$1 rw=$2 bs=$3
  shift 3
  fio --name=ab --directory="$dir" --filename=bench.bin --rw="$rw" --bs="$bs" --size=1G \
    --ioengine=psync --numjobs=1 --fallocate=none --output-format=json "$@"
}
for bin in "$@"; do
  work=$(mktemp -d /var/tmp/randread-ab.XXXXXX)
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
  job "$work/mnt" write 1M --end_fsync=1 >/dev/null
  sync
  echo 3 >/proc/sys/vm/drop_caches
  job "$work/mnt" read 1M >/dev/null
  iops=$(job "$work/mnt" randread 4k --runtime=8 --time_based |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))')
  echo "$bin $iops"
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -rf "$work"
done
