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
. "$(dirname "$0")/ab-cluster.sh"
job() { # <dir> <rw> <bs> [extra...]
  local dir=$1 rw=$2 bs=$3
  shift 3
  fio --name=ab --directory="$dir" --filename=bench.bin --rw="$rw" --bs="$bs" --size=1G \
    --ioengine=psync --numjobs=1 --fallocate=none --output-format=json "$@"
}
for bin in "$@"; do
  ab_start "$bin" randread-ab
  job "$AB_WORK/mnt" write 1M --end_fsync=1 >/dev/null
  sync
  echo 3 >/proc/sys/vm/drop_caches
  job "$AB_WORK/mnt" read 1M >/dev/null
  iops=$(job "$AB_WORK/mnt" randread 4k --runtime=8 --time_based |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))')
  echo "$bin $iops"
  ab_stop
done
