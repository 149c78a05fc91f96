# Sourced by the interleaved A/B scripts (stat-ab.sh, randread-ab.sh):
# `ab_start BIN_DIR NAME` starts `alluxio local` from one build's binaries
# in a fresh directory under /var/tmp (see fuse-bench.sh for why not /tmp)
# on free loopback ports and waits for its mount; it sets $AB_WORK (the
# directory; the mount is $AB_WORK/mnt) and $AB_PID. `ab_stop` stops it and
# removes the directory.
ab_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ab_start() { # <bin dir> <name>
  AB_WORK=$(mktemp -d "/var/tmp/$2.XXXXXX")
  mkdir -p "$AB_WORK/conf" "$AB_WORK/mnt"
  HOME=$AB_WORK ALLUXIO_CONF_DIR=$AB_WORK/conf "$1/alluxio" \
    -Dalluxio.master.hostname=127.0.0.1 \
    -Dalluxio.master.rpc.port="$(ab_free_port)" -Dalluxio.master.web.port="$(ab_free_port)" \
    -Dalluxio.worker.hostname=127.0.0.1 \
    -Dalluxio.worker.rpc.port="$(ab_free_port)" -Dalluxio.worker.web.port="$(ab_free_port)" \
    local --data-dir "$AB_WORK/data" --mount-point "$AB_WORK/mnt" >"$AB_WORK/local.out" 2>&1 &
  AB_PID=$!
  for _ in $(seq 150); do mountpoint -q "$AB_WORK/mnt" && break; sleep 0.2; done
  mountpoint -q "$AB_WORK/mnt" || { cat "$AB_WORK/local.out" >&2; kill "$AB_PID"; exit 1; }
}
ab_stop() {
  kill -TERM "$AB_PID"
  wait "$AB_PID" 2>/dev/null || true
  rm -rf "$AB_WORK"
}
