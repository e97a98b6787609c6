#!/usr/bin/env bash
# Side-by-side benchmarks: our servers beside the peers a user would pick,
# with the same load generator, in interleaved rounds, pinned (server on
# vCPU 1, load on vCPU 0 for throughput; both on vCPU 0 for latency), every
# reply verified. Writes one JSON line per run to bench/results/RUN.jsonl,
# then BENCHMARKS-side-by-side.md and SVG charts from them (benchreport).
#
#   bench/side_by_side.sh [--rounds N] [--seconds S] [--quick] [--ws]
#
# --quick: a seconds-long smoke of every scenario at small scale (CI).
# --ws: only the WebSocket scenarios (ours beside tokio-tungstenite).
# Loopback only; every server and load stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
seconds=4
quick=0
ws_only=0
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --quick) quick=1; rounds=1; seconds=1; shift ;;
    --ws) ws_only=1; shift ;;
    *) echo "usage: $0 [--rounds N] [--seconds S] [--quick] [--ws]" >&2; exit 2 ;;
  esac
done

profile=release
[ "$quick" = 1 ] && profile=dev
flag=(--release); [ "$profile" = dev ] && flag=()
cargo build "${flag[@]}" --locked -p proto-tokio --examples >&2
cargo build "${flag[@]}" --locked -p proto-echo >&2
cargo build "${flag[@]}" --locked -p proto-loadgen >&2
dir="${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo release)"
ex="$dir/examples"
loadgen="$dir/loadgen"

run_id=$(date -u +%Y%m%dT%H%M%SZ)
results=bench/results
# A quick run (CI) leaves nothing in the tree.
[ "$quick" = 1 ] && results=$(mktemp -d)
mkdir -p "$results"
out="$results/$run_id.jsonl"
: > "$out"
# Below the ephemeral range (32768 and up), where the load generator's
# own connections in TIME_WAIT would make a listening bind fail.
port=$((21000 + RANDOM % 10000))

# Pinning, where taskset exists and there are two vCPUs.
# It is only called in subshells (`&`, `$(...)`), and execs, so that the
# pid `$!` names is the server itself and `kill` reaches it.
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }

# server NAME -> the command that serves echo (or broadcast) on $port,
# speaking tokio-util's LengthDelimitedCodec defaults (WebSocket for
# ours-ws* and tungstenite: see codec_of).
server_cmd() {
  local addr="127.0.0.1:$port"
  case $1 in
    ours-tokio-events) echo "$dir/echo_server --addr $addr --preset tokio-util --max-sessions 20000 --run-for 600" ;;
    ours-tokio-handler) echo "$dir/echo_server --addr $addr --preset tokio-util --max-sessions 20000 --handler --run-for 600" ;;
    ours-smol) echo "$dir/echo_server --runtime smol --addr $addr --preset tokio-util --max-sessions 20000 --run-for 600" ;;
    framed) echo "$ex/peer_servers framed-echo --addr $addr --run-for 600" ;;
    framed-batched) echo "$ex/peer_servers framed-echo-batched --addr $addr --run-for 600" ;;
    raw) echo "$ex/peer_servers raw-echo --addr $addr --run-for 600" ;;
    ours-broadcast) echo "$ex/broadcast_server --addr $addr --run-for 600" ;;
    tokio-broadcast) echo "$ex/peer_servers broadcast --addr $addr --run-for 600" ;;
    ours-ws) echo "$dir/echo_server --addr $addr --preset websocket --max-sessions 20000 --run-for 600" ;;
    ours-ws-handler) echo "$dir/echo_server --addr $addr --preset websocket --max-sessions 20000 --handler --run-for 600" ;;
    tungstenite) echo "$ex/peer_servers ws-echo --addr $addr --run-for 600" ;;
  esac
}

# server NAME -> the load generator's --codec for it.
codec_of() {
  case $1 in
    ours-ws*|tungstenite) echo websocket ;;
    *) echo tokio-util ;;
  esac
}

# one SCENARIO SERVER SERVER_CPU LOAD_CPU -- LOADGEN ARGS...
one() {
  local scenario=$1 server=$2 scpu=$3 lcpu=$4; shift 5
  port=$((port + 1))
  # shellcheck disable=SC2046
  pin "$scpu" $(server_cmd "$server") >/dev/null 2>&1 &
  local spid=$!
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  local extra=()
  [ "$1" = idle ] && extra=(--server-pid "$spid")
  local line
  if line=$(pin "$lcpu" "$loadgen" "$@" --addr "127.0.0.1:$port" --codec "$(codec_of "$server")" \
      --label "$server" --json --quiet "${extra[@]}"); then :; else
    echo "  $scenario / $server: the load generator reported a failure" >&2
  fi
  kill -TERM "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  [ -n "$line" ] && echo "{\"scenario\":\"$scenario\",\"round\":$round,${line#\{}" >> "$out"
  echo "  $scenario / $server: ${line:0:160}" >&2
}

echo_servers=(ours-tokio-events ours-tokio-handler ours-smol framed framed-batched raw)
if [ "$quick" = 1 ]; then
  c10k=200; idles=(100); members=50; rates=(100)
else
  c10k=10000; idles=(1000 10000 19000); members=1000; rates=(250 500 1000)
fi
ws_idle=$([ "$quick" = 1 ] && echo 100 || echo 1000)
[ "$ws_only" = 1 ] && { echo_servers=(); idles=(); rates=(); }
s=$seconds
for round in $(seq 1 "$rounds"); do
  echo "== round $round of $rounds" >&2
  for server in "${echo_servers[@]}"; do
    one ping-pong "$server" 0 0 -- echo --connections 1 --window 1 --seconds "$s"
    one 50x16 "$server" 1 0 -- echo --connections 50 --window 16 --seconds "$s"
    one 100x32 "$server" 1 0 -- echo --connections 100 --window 32 --seconds "$s"
    one 1000x4x256B "$server" 1 0 -- echo --connections 1000 --window 4 --size 256 --seconds "$s"
    one c10k-open-loop "$server" 1 0 -- rate --connections "$c10k" --rate 10 --seconds $((s * 2 + 4)) --warmup 3
  done
  for server in ours-ws ours-ws-handler tungstenite; do
    one ws-50x16 "$server" 1 0 -- echo --connections 50 --window 16 --seconds "$s"
  done
  for server in ours-ws tungstenite; do
    one "ws-idle-$ws_idle" "$server" 1 0 -- idle --connections "$ws_idle" --seconds 3
  done
  for n in "${idles[@]}"; do
    for server in ours-tokio-events framed; do
      one "idle-$n" "$server" 1 0 -- idle --connections "$n" --seconds 3
    done
  done
  for rate in "${rates[@]}"; do
    for server in ours-broadcast tokio-broadcast; do
      one "broadcast-$members-at-$rate" "$server" 1 0 -- broadcast --members "$members" --senders 1 --rate "$rate" --seconds "$s"
    done
  done
done
cargo build "${flag[@]}" --locked -p proto-loadgen --bin benchreport >&2
"$dir/benchreport" "$out" "$results/$run_id-charts" > "$results/$run_id.md"
echo "results: $out, table: $results/$run_id.md, charts: $results/$run_id-charts/" >&2
# None of our servers lost, corrupted or failed anything (a peer's losses,
# such as a lagging broadcast channel's, are its figures, not a failure).
if grep '"label":"ours' "$out" | grep -q '"lost":[1-9]\|"errors":[1-9]\|"failed_connections":[1-9]'; then
  echo "one of our servers lost, corrupted or failed something: see $out" >&2
  exit 1
fi
