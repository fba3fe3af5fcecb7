#!/usr/bin/env bash
# forward_rate.sh: how many SIP messages/s a balancer forwards on this box.
#
# For each balancer named on the command line it starts the balancer on a loopback address,
# two udp_sink backends behind it, and drives it with udp_blaster (INVITE with SDP, a new
# Call-ID per message). It reports:
#   - loss-free rate: the highest offered rate (binary search over a bounded number of steps)
#     at which the sinks together received >= (1 - LOSS) of what the blaster sent;
#   - flat-out: the blaster sends as fast as it can; forwarded/s = sinks' total / duration
#     (median of RUNS runs).
# One markdown table row per balancer goes to stdout; progress goes to stderr.
#
# Usage: bench/e2e/forward_rate.sh [options] BALANCER...     BALANCER: kamailio | sipshield
#   --build DIR         meson build dir holding bench/udp_blaster, bench/udp_sink
#                       (default: /work/main/build-e2e)
#   --workers N         balancer worker processes/threads (default 2)
#   --step-seconds S    length of each search step (default 3)
#   --steps N           binary-search steps (default 8, max 20)
#   --flat-seconds S    length of each flat-out run (default 5)
#   --runs N            flat-out runs, median reported (default 3, max 9)
#   --loss F            allowed loss fraction (default 0.001 = 0.1%)
#   --source-ports K    blaster source sockets (default 4, spreads over SO_REUSEPORT workers)
#   --burst N           blaster sendmmsg vector (default 32)
#   --port P            UDP port for balancer and sinks (default 5060)
#   --no-header         print only the rows
#
# Needs root for sysctl (it raises net.core.rmem_max/wmem_max to 4 MiB as BENCH-NOTES says
# and restores the old values on exit). Every loop is bounded; only processes this script
# started are signalled, by pid.
#
# Adding a balancer: define start_balancer_<name> (see the contract above
# start_balancer_kamailio) and pass <name> on the command line.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"

BUILD="$REPO_DIR/build-e2e"
WORKERS=2
STEP_S=3
STEPS=8
FLAT_S=5
RUNS=3
LOSS=0.001
SRC_PORTS=4
BURST=32
PORT=5060
HEADER=1
BALANCERS=()

LB_IP=127.0.0.10
SINK_IPS=(127.0.0.21 127.0.0.22)

die() { echo "forward_rate: $*" >&2; exit 2; }
log() { echo "forward_rate: $*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --step-seconds) STEP_S="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --flat-seconds) FLAT_S="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --loss) LOSS="$2"; shift 2 ;;
    --source-ports) SRC_PORTS="$2"; shift 2 ;;
    --burst) BURST="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --no-header) HEADER=0; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) BALANCERS+=("$1"); shift ;;
  esac
done
[[ ${#BALANCERS[@]} -gt 0 ]] || die "name at least one balancer (kamailio, sipshield)"
(( STEPS >= 1 && STEPS <= 20 )) || die "--steps must be 1..20"
(( RUNS >= 1 && RUNS <= 9 )) || die "--runs must be 1..9"
(( WORKERS >= 1 && WORKERS <= 64 )) || die "--workers must be 1..64"
awk -v s="$STEP_S" -v f="$FLAT_S" 'BEGIN { exit !(s > 0 && s <= 60 && f > 0 && f <= 60) }' ||
  die "--step-seconds and --flat-seconds must be in (0, 60]"

BLASTER="$BUILD/bench/udp_blaster"
SINK="$BUILD/bench/udp_sink"
[[ -x "$BLASTER" && -x "$SINK" ]] ||
  die "missing $BLASTER or $SINK (ninja -C $BUILD bench/udp_blaster bench/udp_sink)"

RUN_DIR="$(mktemp -d /tmp/forward_rate.XXXXXX)"
OWN_PIDS=()          # every background process we started
BAL_PID=""           # the balancer under test (set by start_balancer_<name>)
SYSCTL_RESTORE=()    # "key=value" pairs to put back on exit

cleanup() {
  local pid
  for pid in "${OWN_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${OWN_PIDS[@]}"; do
    # Bounded wait: 50 x 0.1 s, then SIGKILL that one pid.
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  local kv
  for kv in "${SYSCTL_RESTORE[@]}"; do
    sysctl -q -w "$kv" >/dev/null 2>&1 || true
  done
  if [[ -n "${KEEP_RUN_DIR:-}" ]]; then
    log "run dir kept: $RUN_DIR"
  else
    rm -rf "$RUN_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one of our pids and forgets it.
stop_pid() {
  local pid="$1" keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${OWN_PIDS[@]}"; do
    [[ "$p" == "$pid" ]] || keep+=("$p")
  done
  OWN_PIDS=("${keep[@]}")
}

raise_sysctl() {
  local key="$1" want="$2" cur
  cur="$(sysctl -n "$key" 2>/dev/null || echo 0)"
  if (( cur < want )); then
    if sysctl -q -w "$key=$want" >/dev/null 2>&1; then
      SYSCTL_RESTORE+=("$key=$cur")
      log "raised $key $cur -> $want"
    else
      log "WARNING: cannot raise $key (need root); buffers stay capped at $cur"
    fi
  fi
}

# Waits (bounded, 10 s) until something listens on UDP ip:port.
wait_udp_listen() {
  local ip="$1" port="$2"
  for _ in $(seq 100); do
    if ss -Hlun "sport = :$port" 2>/dev/null | grep -q "$ip:$port"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

json_field() {  # json_field FILE KEY -> number from the last line of FILE
  tail -n 1 "$1" | sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p"
}

udp_rcvbuf_errors() {
  awk '/^Udp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp
}

#---------------------------------------------------------------------------------------------
# Balancer hooks.
#
# Contract of start_balancer_<name> LISTEN_IP PORT WORKERS RUNDIR BACKEND...:
#   - start the balancer in the FOREGROUND as a background job of this shell (no daemonizing,
#     so $! is the process to stop), listening on UDP LISTEN_IP:PORT, with WORKERS workers,
#     forwarding to the BACKENDs ("ip:port", one per sink) by Call-ID hash, statelessly;
#   - keep every file (config, pid file, log) under RUNDIR;
#   - set BAL_PID=$! and append it to OWN_PIDS; return non-zero if it cannot start.
# The script then waits until LISTEN_IP:PORT is bound and stops BAL_PID with SIGTERM.
#---------------------------------------------------------------------------------------------

start_balancer_kamailio() {
  local ip="$1" port="$2" workers="$3" dir="$4"
  shift 4
  command -v kamailio >/dev/null || { log "kamailio not installed"; return 1; }
  : > "$dir/dispatcher.list"
  local be
  for be in "$@"; do
    echo "1 sip:$be" >> "$dir/dispatcher.list"
  done
  # -DD: foreground main process (children still forked), -E: log to stderr.
  kamailio -f "$SCRIPT_DIR/kamailio-dispatcher.cfg" -DD -E \
    -Y "$dir" -P "$dir/kamailio.pid" -m 64 -M 8 \
    -A "LISTEN=udp:$ip:$port" -A "DSLIST=\"$dir/dispatcher.list\"" -A "WORKERS=$workers" \
    > "$dir/kamailio.log" 2>&1 &
  BAL_PID=$!
  OWN_PIDS+=("$BAL_PID")
}

start_balancer_sipshield() {
  local ip="$1" port="$2" workers="$3" dir="$4"
  shift 4
  {
    echo "[server]"
    echo "listen = [\"$ip:$port\"]"
    echo "workers = $workers"
    echo "socket_buffer_bytes = 4194304"
    echo "[balancer]"
    echo "key = \"call-id\""
    echo "secret = \"0123456789abcdef0123456789abcdef\""
    echo "[health]"
    echo "enabled = false   # udp_sink does not answer OPTIONS"
    echo "[control]"
    echo "socket = \"\""
    local n=0 backend
    for backend in "$@"; do
      n=$((n + 1))
      echo "[[backend]]"
      echo "name = \"sink$n\""
      echo "address = \"$backend\""
    done
  } > "$dir/sipshield.toml"
  "$BUILD/src/cli/sipshield" run --config "$dir/sipshield.toml" > "$dir/sipshield.log" 2>&1 &
  BAL_PID=$!
  OWN_PIDS+=("$BAL_PID")
}

#---------------------------------------------------------------------------------------------
# One measurement: fresh sinks, one blaster run at RATE (0 = flat out) for SECONDS.
# Runs in the main shell (never in $(...)) so the sink pids stay in OWN_PIDS for cleanup;
# sets M_SENT, M_RECV, M_ELAPSED (blaster's seconds) and M_ERRS (UDP RcvbufErrors delta).
#---------------------------------------------------------------------------------------------
measure() {
  local rate="$1" secs="$2" dir="$3"
  local sink_pids=() i
  for i in "${!SINK_IPS[@]}"; do
    "$SINK" --listen "${SINK_IPS[$i]}:$PORT" --rcvbuf 4194304 --duration 120 \
      > "$dir/sink$i.out" 2> "$dir/sink$i.err" &
    sink_pids+=($!)
    OWN_PIDS+=($!)
  done
  for i in "${!SINK_IPS[@]}"; do
    wait_udp_listen "${SINK_IPS[$i]}" "$PORT" || die "sink ${SINK_IPS[$i]}:$PORT did not start"
  done
  local err0 err1
  err0="$(udp_rcvbuf_errors)"
  "$BLASTER" --target "$LB_IP:$PORT" --rate "$rate" --duration "$secs" \
    --source-ports "$SRC_PORTS" --burst "$BURST" --quiet > "$dir/blaster.out"
  # Let the balancer drain its queue before the sinks stop counting.
  sleep 0.5
  err1="$(udp_rcvbuf_errors)"
  local pid
  for pid in "${sink_pids[@]}"; do
    stop_pid "$pid"
  done
  local sent elapsed received=0 r
  sent="$(json_field "$dir/blaster.out" sent)"
  elapsed="$(json_field "$dir/blaster.out" elapsed_s)"
  for i in "${!SINK_IPS[@]}"; do
    r="$(json_field "$dir/sink$i.out" received)"
    received=$(( received + ${r:-0} ))
  done
  M_SENT="${sent:-0}"
  M_RECV="$received"
  M_ELAPSED="${elapsed:-1}"
  M_ERRS=$(( err1 - err0 ))
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

run_balancer() {
  local name="$1"
  declare -F "start_balancer_$name" >/dev/null || die "no start_balancer_$name in this script"
  local dir="$RUN_DIR/$name"
  mkdir -p "$dir"
  local backends=() ip
  for ip in "${SINK_IPS[@]}"; do
    backends+=("$ip:$PORT")
  done
  BAL_PID=""
  if ! "start_balancer_$name" "$LB_IP" "$PORT" "$WORKERS" "$dir" "${backends[@]}"; then
    log "$name: could not start"
    echo "| $name | $WORKERS | n/a | n/a | n/a | n/a | did not start |"
    return 0
  fi
  if ! wait_udp_listen "$LB_IP" "$PORT"; then
    log "$name: not listening on $LB_IP:$PORT; log tail:"
    tail -n 5 "$dir"/*.log >&2 || true
    stop_pid "$BAL_PID"
    echo "| $name | $WORKERS | n/a | n/a | n/a | n/a | did not listen |"
    return 0
  fi
  sleep 0.5

  # Flat out, RUNS times; the median forwarded/s also bounds the search.
  local fwd_rates=() off_rates=() losses=() run sent recv el errs
  for run in $(seq "$RUNS"); do
    measure 0 "$FLAT_S" "$dir"
    sent=$M_SENT recv=$M_RECV el=$M_ELAPSED errs=$M_ERRS
    fwd_rates+=("$(awk -v r="$recv" -v e="$el" 'BEGIN { printf "%.0f", r / e }')")
    off_rates+=("$(awk -v s="$sent" -v e="$el" 'BEGIN { printf "%.0f", s / e }')")
    losses+=("$(awk -v s="$sent" -v r="$recv" 'BEGIN { printf "%.1f", 100 * (s - r) / s }')")
    log "$name flat-out run $run: sent=$sent received=$recv in ${el}s" \
        "(offered ${off_rates[-1]}/s, forwarded ${fwd_rates[-1]}/s," \
        "loss ${losses[-1]}%, udp rcvbuf errors +$errs)"
  done
  local flat_fwd flat_off flat_loss
  flat_fwd="$(printf '%s\n' "${fwd_rates[@]}" | median)"
  flat_off="$(printf '%s\n' "${off_rates[@]}" | median)"
  flat_loss="$(printf '%s\n' "${losses[@]}" | median)"

  # Binary search for the highest rate with loss below LOSS. The blaster must also reach
  # 98% of the asked rate, or the step measured the generator, not the balancer.
  local lo=0 hi mid ok step best_detail=""
  hi="$(awk -v f="$flat_fwd" 'BEGIN { h = int(f * 2); if (h < 2000) h = 2000; print h }')"
  for step in $(seq "$STEPS"); do
    mid=$(( (lo + hi) / 2 ))
    measure "$mid" "$STEP_S" "$dir"
    sent=$M_SENT recv=$M_RECV el=$M_ELAPSED errs=$M_ERRS
    ok="$(awk -v s="$sent" -v r="$recv" -v e="$el" -v m="$mid" -v l="$LOSS" -v t="$STEP_S" \
      'BEGIN { print (s > 0 && r >= s * (1 - l) && s >= 0.98 * m * t) ? 1 : 0 }')"
    log "$name step $step: rate=$mid sent=$sent received=$recv" \
        "loss=$(awk -v s="$sent" -v r="$recv" 'BEGIN { printf "%.3f", s ? 100*(s-r)/s : 0 }')%" \
        "rcvbuf_errors=+$errs -> $([[ $ok == 1 ]] && echo pass || echo fail)"
    if [[ "$ok" == 1 ]]; then
      lo=$mid
      best_detail="$sent/$recv"
    else
      hi=$mid
    fi
  done
  if ! kill -0 "$BAL_PID" 2>/dev/null; then
    log "WARNING: $name exited during the run"
  fi
  stop_pid "$BAL_PID"
  echo "| $name | $WORKERS | $lo | $flat_off | $flat_fwd | $flat_loss | sent/recv at best step: ${best_detail:-none}; search ${STEPS}x${STEP_S}s, flat ${RUNS}x${FLAT_S}s |"
}

raise_sysctl net.core.rmem_max 4194304
raise_sysctl net.core.wmem_max 4194304

if (( HEADER )); then
  echo "| balancer | workers | loss-free rate (msg/s, loss < $(awk -v l="$LOSS" 'BEGIN { print l * 100 }')%) | flat-out offered (msg/s) | flat-out forwarded (msg/s) | flat-out loss % | notes |"
  echo "|---|---|---|---|---|---|---|"
fi
for b in "${BALANCERS[@]}"; do
  run_balancer "$b"
done
