#!/usr/bin/env bash
# Real tools on each mount, side by side in one run (issue 19): our mount
# (`alluxio local`), JuiceFS with SQLite and with Redis metadata, SeaweedFS
# and a native directory (bench/peers.sh says how each is set up).
#
#   bench/tools-bench.sh [--rounds 1] [--only alluxio,juicefs,juicefs-redis,seaweedfs,native] [--dir /var/tmp] [--alluxio-options OPTS]
#
# The inputs are real third-party material, fetched once from Debian's
# archive into --dir/tools-bench-inputs and reused: git's own sources at
# 2.39.5 (4,547 entries, 41 MB) and at 2.30.2, Debian's `orig` tarballs.
# This machine reaches no git host, so the repository is made from them: a
# local repository with the 2.30.2 tree as one commit and the 2.39.5 tree
# as the next (every file that changed in between differs).
#
# For each target, each round, in this order (seconds, lower is better):
#   tar_x         tar -xf of the 2.39.5 tarball (decompressed beforehand)
#   find          find -type f over the extracted tree, caches dropped first
#   du            du -s over it
#   cp_a          cp -a of the same tree, from the local disk, into the mount
#   rm_rf         rm -rf of the extracted tree (the copy goes untimed)
#   git_clone     git clone (file://, no hard links) of the repository
#   git_checkout  git checkout from the 2.39.5 commit to the 2.30.2 one
#   git_status    git status in the clone, caches dropped first
#   sqlite        500 INSERTs into a SQLite database, each its own
#                 transaction (Python's sqlite3, the default rollback journal
#                 and synchronous=FULL)
# Dirty pages are written back (sync) before each step, untimed. A step
# that fails is recorded as failed and reported, not timed.
#
# The report: each step's median over the rounds for every target, and
# ours against the best peer (JuiceFS, JuiceFS+Redis, SeaweedFS) of the
# same run: the peer's time over ours (above 1: we are faster).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/peers.sh

ROUNDS=1
ONLY=$TARGETS_ALL
BASE=/var/tmp
ALLUXIO_OPTIONS=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --dir) BASE=$2; shift 2 ;;
    --alluxio-options) ALLUXIO_OPTIONS=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds 1] [--only $TARGETS_ALL] [--dir /var/tmp] [--alluxio-options OPTS]" >&2; exit 2 ;;
  esac
done

peers_tools git sqlite3 xz:xz-utils curl

# --- inputs ------------------------------------------------------------------
INPUTS=$BASE/tools-bench-inputs
mkdir -p "$INPUTS"
fetch() { # <version>: git's orig tarball from Debian, decompressed
  local v=$1 url=http://deb.debian.org/debian/pool/main/g/git/git_$1.orig.tar.xz
  if [ ! -f "$INPUTS/git-$v.tar" ]; then
    curl -sSf -o "$INPUTS/git-$v.tar.xz" "$url"
    xz -d "$INPUTS/git-$v.tar.xz"
  fi
}
fetch 2.30.2
fetch 2.39.5
if [ ! -d "$INPUTS/tree" ]; then
  mkdir -p "$INPUTS/tree.new"
  tar -xf "$INPUTS/git-2.39.5.tar" -C "$INPUTS/tree.new"
  mv "$INPUTS/tree.new" "$INPUTS/tree"
fi
if [ ! -d "$INPUTS/repo" ]; then
  r=$INPUTS/repo.new
  rm -rf "$r"
  git init -q "$r"
  for v in 2.30.2 2.39.5; do
    git -C "$r" rm -rq --ignore-unmatch .
    tar -xf "$INPUTS/git-$v.tar" --strip-components=1 -C "$r"
    git -C "$r" add -A
    git -C "$r" -c user.name=bench -c user.email=bench@localhost commit -qm "git $v"
    git -C "$r" tag "v$v"
  done
  mv "$r" "$INPUTS/repo"
fi

BENCH_NAME=tools-bench peers_start "$ALLUXIO_OPTIONS"

# --- measurements ------------------------------------------------------------
# step <target> <metric> <command...>: times one step, after a sync.
step() {
  local t=$1 m=$2
  shift 2
  sync
  local start end
  start=$(date +%s.%N)
  if "$@" >"$WORK/step.out" 2>&1; then
    end=$(date +%s.%N)
    record "$t" "$m" "$(awk "BEGIN { print $end - $start }")" s
  else
    echo "$t $m FAILED:" >&2
    tail -5 "$WORK/step.out" >&2
    record "$t" "$m" -1 s
  fi
}
sqlite_loop() { # <database>
  python3 - "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("create table t (id integer primary key, v text)")
for i in range(500):
    db.execute("begin")
    db.execute("insert into t (v) values (?)", ("x" * 100,))
    db.execute("commit")
db.close()
EOF
}

for round in $(seq "$ROUNDS"); do
  for t in $(peers_started); do
    d=${DIR[$t]}/r$round
    echo "== $t round $round ($d)" >&2
    mkdir -p "$d/t"
    step "$t" tar_x tar -xf "$INPUTS/git-2.39.5.tar" -C "$d/t"
    drop_caches
    step "$t" find sh -c "find '$d/t' -type f | wc -l"
    step "$t" du du -s "$d/t"
    step "$t" cp_a cp -a "$INPUTS/tree" "$d/cp"
    step "$t" rm_rf rm -rf "$d/t"
    rm -rf "$d/cp"
    step "$t" git_clone git clone -q --no-hardlinks "file://$INPUTS/repo" "$d/g"
    step "$t" git_checkout git -C "$d/g" checkout -q v2.30.2
    drop_caches
    step "$t" git_status git -C "$d/g" status --porcelain
    rm -rf "$d/g"
    step "$t" sqlite sqlite_loop "$d/bench.db"
    rm -rf "$d"
  done
done

# --- report ------------------------------------------------------------------
python3 - "$WORK/results.jsonl" "$ROUNDS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs = {}
for r in rows:
    runs.setdefault((r["target"], r["metric"]), []).append(r["value"])
def value(t, m):
    vs = runs.get((t, m))
    if not vs or min(vs) < 0:
        return None  # missing, or failed in some round
    return statistics.median(vs)
targets = [t for t in ["alluxio", "juicefs", "juicefs-redis", "seaweedfs", "native"]
           if any(k[0] == t for k in runs)]
peers = [t for t in targets if t in ("juicefs", "juicefs-redis", "seaweedfs")]
steps = [("tar_x", "tar x of git 2.39.5 (4,547 entries, 41 MB)"),
         ("find", "find -type f over it, caches dropped"),
         ("du", "du -s over it"),
         ("cp_a", "cp -a of the same tree into the mount"),
         ("rm_rf", "rm -rf of the extracted tree"),
         ("git_clone", "git clone (file://) of the repository"),
         ("git_checkout", "git checkout 2.39.5 -> 2.30.2"),
         ("git_status", "git status, caches dropped"),
         ("sqlite", "500 SQLite inserts, one transaction each")]
print(f"Seconds, median of {sys.argv[2]} round(s); lower is better.\n")
head = "| step | " + " | ".join(targets) + " | best peer | best peer / ours |"
print(head)
print("|" + "---|" * (head.count("|") - 1))
for m, label in steps:
    cells = []
    for t in targets:
        v = value(t, m)
        cells.append("failed" if (t, m) in runs and v is None else "-" if v is None else f"{v:.2f}")
    ours = value("alluxio", m)
    best = min(((value(t, m), t) for t in peers if value(t, m) is not None), default=None)
    if ours and best:
        ratio, bp = f"{best[0] / ours:.2f}x", best[1]
    else:
        ratio, bp = "-", best[1] if best else "-"
    print(f"| {label} | " + " | ".join(cells) + f" | {bp} | {ratio} |")
EOF
