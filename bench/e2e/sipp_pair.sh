#!/usr/bin/env bash
# sipp_pair.sh: run one sipp client scenario against one sipp server scenario on loopback,
# directly (no balancer) or through a balancer the caller already started, and report
# whether every call succeeded plus the achieved call rate.
#
# Usage: bench/e2e/sipp_pair.sh [options] PAIR
#   PAIR: call | callee-bye | register     (uac.xml/uas.xml, uac_callee_bye.xml/
#         uas_callee_bye.xml, register.xml/uas_register.xml from tests/sipp/)
#   --calls N        calls to place (default 50, max 1000000)
#   --rate R         calls/s (default 50)
#   --limit L        max simultaneous calls (sipp -l; default: sipp's 3 x rate x call length)
#   --uas IP:PORT    where the server scenario listens (default 127.0.0.31:15060)
#   --target IP:PORT where the client sends (default: the UAS; give the balancer here)
#   --uac-ip IP      client address (default 127.0.0.1), port 15061
#   --timeout S      hard bound for each sipp (default 60, max 600)
#   --keep DIR       keep logs in DIR (default: a temp dir, removed)
# Prints one line: pair, calls, successful, failed, retrans (client side), elapsed_s,
# calls_per_s (successful / wall time of the client, including the call length and the
# final-BYE wait) and sipp_cps (sipp's own cumulative call rate); exits 0 only if all calls
# succeeded on both sides.
#
# Every sipp gets -buff_size 4194304 (BENCH-NOTES: the 64 KiB default caps near 2,500
# calls/s) and -aa (auto-answer OPTIONS/INFO/NOTIFY/UPDATE, so a balancer's OPTIONS health
# checks do not break the server scenario).

set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SIPP_DIR="$(cd "$SCRIPT_DIR/../../tests/sipp" && pwd)"

CALLS=50
RATE=50
LIMIT=""
UAS="127.0.0.31:15060"
TARGET=""
UAC_IP=127.0.0.1
TIMEOUT=60
KEEP=""
PAIR=""

die() { echo "sipp_pair: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --calls) CALLS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --limit) LIMIT="$2"; shift 2 ;;
    --uas) UAS="$2"; shift 2 ;;
    --target) TARGET="$2"; shift 2 ;;
    --uac-ip) UAC_IP="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) PAIR="$1"; shift ;;
  esac
done
case "$PAIR" in
  call) UAC_XML=uac.xml; UAS_XML=uas.xml; EXTRA=() ;;
  callee-bye) UAC_XML=uac_callee_bye.xml; UAS_XML=uas_callee_bye.xml; EXTRA=() ;;
  register) UAC_XML=register.xml; UAS_XML=uas_register.xml
            EXTRA=(-au alice -ap sipshield-test) ;;
  *) die "PAIR must be call, callee-bye or register" ;;
esac
(( CALLS >= 1 && CALLS <= 1000000 )) || die "--calls out of range"
(( TIMEOUT >= 1 && TIMEOUT <= 600 )) || die "--timeout out of range"
TARGET="${TARGET:-$UAS}"
UAS_IP="${UAS%:*}"
UAS_PORT="${UAS##*:}"
for a in "$UAS_IP" "${TARGET%:*}" "$UAC_IP"; do
  [[ "$a" == 127.* ]] || die "loopback addresses only ($a)"
done

if [[ -n "$KEEP" ]]; then
  LOG_DIR="$KEEP"
  mkdir -p "$LOG_DIR"
else
  LOG_DIR="$(mktemp -d /tmp/sipp_pair.XXXXXX)"
fi
UAS_PID=""
cleanup() {
  if [[ -n "$UAS_PID" ]]; then
    kill -TERM "$UAS_PID" 2>/dev/null || true
    wait "$UAS_PID" 2>/dev/null || true
  fi
  [[ -n "$KEEP" ]] || rm -rf "$LOG_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both sides use -m CALLS so each exits by itself once every call is done; -timeout bounds
# them if calls are lost. sipp's exit code is 0 only when all its calls succeeded.
# sipp 3.6.1's own -timeout did not end a client stuck with unanswered calls (seen at 8k
# calls/s under load), so timeout(1) bounds each sipp too: TERM, then KILL 5 s later.
( cd "$LOG_DIR" && exec timeout -k 5 "$((TIMEOUT + 15))" \
    sipp -sf "$SIPP_DIR/$UAS_XML" -i "$UAS_IP" -p "$UAS_PORT" \
    -m "$CALLS" -buff_size 4194304 -aa -nostdin -timeout "$((TIMEOUT + 10))" \
    -trace_err -trace_screen > uas.out 2>&1 ) &
UAS_PID=$!
for _ in $(seq 50); do
  ss -Hlun "sport = :$UAS_PORT" 2>/dev/null | grep -q "$UAS_IP:$UAS_PORT" && break
  sleep 0.1
done

LIMIT_ARGS=()
[[ -z "$LIMIT" ]] || LIMIT_ARGS=(-l "$LIMIT")
t0=$(date +%s.%N)
set +e
( cd "$LOG_DIR" && exec timeout -k 5 "$((TIMEOUT + 5))" \
    sipp -sf "$SIPP_DIR/$UAC_XML" "$TARGET" -i "$UAC_IP" -p 15061 \
    -m "$CALLS" -r "$RATE" "${LIMIT_ARGS[@]}" "${EXTRA[@]}" -buff_size 4194304 -aa -nostdin \
    -timeout "$TIMEOUT" -trace_err -trace_screen > uac.out 2>&1 )
uac_rc=$?
t1=$(date +%s.%N)
wait "$UAS_PID"
uas_rc=$?
set -e
UAS_PID=""

# -trace_screen writes the final statistics screen to <scenario>_<pid>_screen.log.
stat() {  # stat SCREEN_LOG LABEL [COLUMN] -> last value in that column (3 = cumulative)
  awk -F'|' -v l="$2" -v c="${3:-3}" 'index($0, l) == 3 { v = $c }
    END { gsub(/[^0-9.]/, "", v); print v + 0 }' "$1"
}
uac_screen="$(ls "$LOG_DIR"/"${UAC_XML%.xml}"_*_screen.log 2>/dev/null | head -1)"
# A sipp stopped by timeout(1) leaves the screen log empty but prints its last screens to
# stdout; use that then (the last value in the file wins in stat()).
if [[ -z "$uac_screen" || ! -s "$uac_screen" ]]; then
  uac_screen="$LOG_DIR/uac.out"
fi
ok="$(stat "$uac_screen" 'Successful call')"
failed="$(stat "$uac_screen" 'Failed call')"
# Scenario screen rows look like "INVITE ---------->  B-RTD1 50  0  0": the first number
# after the arrow is Messages, the next one Retrans.
retrans="$(awk '/---------->|<----------/ {
    n = 0; after = 0
    for (i = 1; i <= NF; ++i) {
      if ($i ~ /^(---------->|<----------)$/) { after = 1; continue }
      if (after && $i ~ /^[0-9]+$/) { if (++n == 2) { s += $i; break } }
    }
  } END { print s + 0 }' "$uac_screen")"
sipp_cps="$(awk -F'|' '/^  Call Rate/ { v = $3 } END { gsub(/[^0-9.]/, "", v); print v + 0 }' \
  "$uac_screen")"
elapsed="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
cps="$(awk -v n="$ok" -v e="$elapsed" 'BEGIN { printf "%.0f", (e > 0) ? n / e : 0 }')"
current="$(stat "$uac_screen" 'Current Calls' 2)"
[[ "$uac_rc" != 124 && "$uac_rc" != 137 ]] || current="$current(killed-by-timeout)"
echo "pair=$PAIR calls=$CALLS rate=$RATE successful=$ok failed=$failed unfinished=$current" \
     "retrans=$retrans" \
     "uac_rc=$uac_rc uas_rc=$uas_rc elapsed_s=$elapsed calls_per_s=$cps" \
     "sipp_cps=$sipp_cps logs=$LOG_DIR${KEEP:+ (kept)}"
[[ "$uac_rc" == 0 && "$uas_rc" == 0 && "$ok" == "$CALLS" ]]
