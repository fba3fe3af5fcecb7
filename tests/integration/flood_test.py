#!/usr/bin/env python3
"""Flood on loopback (issue 4): legit sipp calls through sipshield with a [shield] config
while a spoofed-source INVITE/REGISTER flood (bench/spoof_flood: raw socket, random
127.x.y.z sources) hits the balancer flat out. Checks legit call success >= 99%, reports the
share of the flood that reached the backends, and checks that the balancer's memory does not
grow with the number of distinct flood sources. Also drives `sipshieldctl top/bans/rules/stats`
and /metrics against the flooded daemon.

Usage: flood_test.py SIPSHIELD SIPSHIELDCTL SPOOF_FLOOD [TEST...]   (needs root: raw socket)"""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

from harness import Failure, Shield, check, run, uac, uas

LISTEN_IP = "127.0.9.10"
LISTEN = f"{LISTEN_IP}:5060"
BACKENDS = [("b1", "127.0.9.31:5060"), ("b2", "127.0.9.32:5060")]
CALLER = "127.0.9.41:5061"
# The flood never uses the test's own addresses (caller, balancer, backends): all in 127.0.9/24.
AVOID = "127.0.9.0/24"
CALLS = 1000
CALL_RATE = 80  # calls/s: ~12.5 s of calls
PHASE1_SOURCES = 20_000
PHASE2_SOURCES = 300_000
PHASE2_PACKETS = 600_000
PHASE2_SECONDS = 6

SHIELD = """
[shield]
[shield.flood]
window_ms = 1000
source_threshold = 2000
prefix_threshold = 20000
action = "ban"
ban_seconds = 60
[[shield.rate_limit]]
name = "invite-per-source"
methods = ["INVITE"]
key = "source"
rate = 300
burst = 600
action = "ban"
ban_after = 50
ban_seconds = 60
[[shield.rate_limit]]
name = "register-per-source"
methods = ["REGISTER"]
key = "source"
rate = 20
burst = 40
[[shield.rate_limit]]
name = "unverified-new-requests"
methods = ["INVITE", "REGISTER"]
trust = ["unverified"]
key = "global"
rate = 200
burst = 400
"""

CTL = None
FLOOD = None


def free_tcp_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class FloodShield(Shield):
    """A Shield with record-route (so the caller's ACK proves return routability), a control
    socket, metrics and the [shield] rules above."""

    def __init__(self, workdir, binary, backend_listen=None):
        self.socket_path = os.path.join(workdir, "control.sock")
        self.metrics_port = free_tcp_port(LISTEN_IP)
        # Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) before
        # reuse, so the control plane's periodic stats snapshots (allocated and freed off the
        # fast path) would show as RSS growth. A 1 MB quarantine keeps RSS about live memory,
        # which is what the flood tests measure; release builds ignore the variable.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "quarantine_size_mb=1"]))
        super().__init__(workdir, binary, LISTEN, BACKENDS, record_route=True, workers=2,
                         backend_listen=backend_listen, env=env)

    def write_config(self, backends):
        super().write_config(backends)
        with open(self.config_path) as f:
            text = f.read()
        text = text.replace('socket = ""', f'socket = "{self.socket_path}"')
        text += f'[metrics]\nlisten = "{LISTEN_IP}:{self.metrics_port}"\n' + SHIELD
        with open(self.config_path + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.config_path + ".tmp", self.config_path)


def ctl_json(shield, *args):
    p = subprocess.run([CTL, "-s", shield.socket_path, "--json"] + list(args),
                       capture_output=True, text=True, timeout=20)
    check(p.returncode == 0, f"sipshieldctl {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failure("no VmRSS")


def flood_args(first_source, sources, packets, seconds, methods="invite,register", rate=0):
    return [FLOOD, "--target", LISTEN, "--count", str(packets), "--duration", str(seconds),
            "--sources", str(sources), "--first-source", str(first_source), "--methods",
            methods, "--avoid", AVOID, "--rate", str(rate)]


def flood(first_source, sources, packets, seconds):
    p = subprocess.run(flood_args(first_source, sources, packets, seconds),
                       capture_output=True, text=True, timeout=seconds + 30)
    check(p.returncode == 0, f"spoof_flood exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def source_of(index):
    """The address spoof_flood uses for source number `index` (its bijection over 24 bits)."""
    offset = (index * 0x9E3779B1) & 0xFFFFFF
    return f"127.{offset >> 16}.{(offset >> 8) & 0xFF}.{offset & 0xFF}"


# Phase 3: one heavy spoofed source, REGISTERs at a steady rate: the flood sketch must find it
# (`top`) and ban it (`bans`, event log). Its index is far from the phase 1/2 sources.
HEAVY_INDEX = 9_000_001
HEAVY = source_of(HEAVY_INDEX)


def heavy_hitter_phase(shield):
    """Runs the heavy source in the background and polls top and bans while it runs."""
    proc = subprocess.Popen(flood_args(HEAVY_INDEX, 1, 15_000, 3, "register", 5000),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen_top = None
    seen_ban = None
    try:
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and (seen_top is None or seen_ban is None):
            if seen_top is None:
                for s in ctl_json(shield, "top")["sources"]:
                    if s["address"] == HEAVY:
                        seen_top = s
            if seen_ban is None:
                for b in ctl_json(shield, "bans")["bans"]:
                    if b["address"] == HEAVY:
                        seen_ban = b
            time.sleep(0.05)
    finally:
        out, err = proc.communicate(timeout=30)
    check(proc.returncode == 0, f"spoof_flood (heavy) exit {proc.returncode}: {err}")
    return seen_top, seen_ban, json.loads(out.strip().splitlines()[-1])


def group(stats, name):
    return stats.get("groups", {}).get(name, {})


@contextlib.contextmanager
def started(*processes):
    try:
        yield processes
    finally:
        for p in processes:
            with contextlib.suppress(Exception):
                p.stop()


def stop_backends_then(shield, backends):
    """Stops the backends, lets sipshield take what they sent last, then stops it and returns
    its final report: every response a backend sent had its chance to be forwarded. (A backend
    retransmits its 200 to each leaked flood INVITE, which nobody ACKs, until it stops.)"""
    for b in backends:
        b.stop()
    time.sleep(0.5)
    return shield.stop()


def backend_responses(backends):
    """How many responses the backends sent toward the balancer (their answers to the health
    probes go to the prober's own socket and are left out)."""
    return sum(1 for b in backends for direction, text in b.messages()
               if direction == "sent" and text.startswith("SIP/2.0") and
               not re.search(r"^CSeq:\s*\d+\s+OPTIONS", text, re.M))


def test_flood_legit_calls_survive(workdir, binary):
    b1 = uas(workdir, "b1", BACKENDS[0][1])
    b2 = uas(workdir, "b2", BACKENDS[1][1])
    with started(b1, b2):
        shield = FloodShield(workdir, binary)
        with started(shield):
            pid = shield.proc.pid
            caller = uac(workdir, "uac", LISTEN, CALLER, calls=CALLS, rate=CALL_RATE)
            with started(caller):
                # Let the caller prove return routability (its first ACKs) before the flood.
                time.sleep(2.0)
                rss_start = rss_kib(pid)
                before = ctl_json(shield, "stats")["total"]["counters"]
                t0 = time.monotonic()
                phase1 = flood(0, PHASE1_SOURCES, PHASE1_SOURCES, 10)
                time.sleep(0.5)
                rss_phase1 = rss_kib(pid)
                phase2 = flood(PHASE1_SOURCES, PHASE2_SOURCES, PHASE2_PACKETS, PHASE2_SECONDS)
                flood_seconds = time.monotonic() - t0
                time.sleep(0.5)
                rss_phase2 = rss_kib(pid)
                heavy_top, heavy_ban, heavy = heavy_hitter_phase(shield)
                # The control plane answers while the shield is busy.
                top = ctl_json(shield, "top", "--limit", "5")
                rules = ctl_json(shield, "rules")
                bans = ctl_json(shield, "bans")
                stats = ctl_json(shield, "stats")
                with urllib.request.urlopen(
                        f"http://{LISTEN_IP}:{shield.metrics_port}/metrics", timeout=5) as r:
                    metrics = r.read().decode()
                code = caller.wait(90)
            ok, failed = caller.successful(), caller.failed()
            report = stop_backends_then(shield, [b1, b2])

    flood_sent = phase1["sent"] + phase2["sent"] + heavy["sent"]
    counters = stats["total"]["counters"]
    io = stats["total"]["io"]
    dropped = group(stats, "shield_dropped")
    shield_dropped = sum(dropped.values())
    # Requests the backends received beyond the legit calls' own (INVITE, ACK, BYE per call):
    # sipp counts a call for every out-of-call request that reaches it.
    incoming = sum(int(b.stats().get("IncomingCall(C)", "0") or 0) for b in (b1, b2))
    flood_at_backends = max(0, incoming - CALLS)
    per_rule = {r["name"]: r for r in rules["rules"]}
    print(f"  flood: {flood_sent} packets ({phase1['pps']:.0f} and {phase2['pps']:.0f} pps, "
          f"{phase1['sources_used'] + phase2['sources_used']} distinct sources in "
          f"{flood_seconds:.1f} s, then {heavy['sent']} from one heavy source)")
    print(f"  legit calls: {ok} ok, {failed} failed of {CALLS} (exit {code})")
    sent_responses = backend_responses([b1, b2])
    forwarded_responses = report["counters"]["forwarded_responses"]
    print(f"  backend responses: {sent_responses} sent, {forwarded_responses} forwarded "
          f"({sent_responses - forwarded_responses} lost at the shared socket)")
    print(f"  sipshield received {counters['received'] - before['received']} datagrams (flood "
          f"and legit) during the flood; the shield stopped {shield_dropped} "
          f"({json.dumps({k: v for k, v in dropped.items() if v})})")
    print(f"  flood reaching the backends: {flood_at_backends} of {flood_sent} sent = "
          f"{100.0 * flood_at_backends / max(flood_sent, 1):.3f}%")
    print(f"  RSS: {rss_start} KiB at start, {rss_phase1} KiB after {PHASE1_SOURCES} sources, "
          f"{rss_phase2} KiB after {PHASE1_SOURCES + PHASE2_SOURCES} sources "
          f"(growth {rss_phase2 - rss_phase1} KiB)")
    print(f"  rules: " + ", ".join(f"{n} matched={r['matched']} dropped={r['dropped']}"
                                  for n, r in per_rule.items() if r["seen"]))
    print(f"  heavy source {HEAVY}: top {heavy_top}; ban {heavy_ban}")
    print(f"  top now: {json.dumps(top['sources'][:3])}; bans now: {len(bans['bans'])}")

    check(phase2["sent"] >= 100_000, f"flood too weak to mean anything: {phase2}")
    if ok < 0.99 * CALLS:
        # The log directory stays on the machine that ran the test: say why calls failed.
        caller_errors = caller.errors(limit=5)
        failed_ids = caller.call_ids_in(caller_errors)
        backend_errors = [e for b in (b1, b2) for e in b.errors(limit=5, mentioning=failed_ids)]
        raise Failure(f"legit success {ok}/{CALLS} < 99% (failed {failed})\n"
                      f"  caller: {caller_errors}\n  backends on those calls: {backend_errors}")
    check(rss_phase2 - rss_phase1 < 4096,
          f"RSS grew {rss_phase2 - rss_phase1} KiB from {PHASE1_SOURCES} to "
          f"{PHASE1_SOURCES + PHASE2_SOURCES} flood sources")
    check(shield_dropped > 0.5 * (counters["received"] - before["received"] - 3 * CALLS),
          f"the shield stopped too little: {dropped} of {counters['received']}")
    check(per_rule["unverified-new-requests"]["dropped"] > 0, f"rules {per_rule}")
    check(flood_at_backends < 0.05 * flood_sent, f"{flood_at_backends} flood requests leaked")
    check(re.search(r'^sipshield_shield_dropped_total\{reason="rate_limited"\} [1-9]', metrics,
                    re.M), "no shield drops in /metrics")
    check(re.search(r'^sipshield_rule_matched_total\{rule="unverified-new-requests"\} [1-9]',
                    metrics, re.M), "no rule counters in /metrics")
    check(all(not b["address"].startswith("127.0.9.") for b in bans["bans"]),
          f"a legit party was banned: {bans}")
    check(report["counters"]["received"] >= counters["received"], "final report")
    check(heavy_top is not None and heavy_top["count"] >= 1000,
          f"`top` never showed the heavy source {HEAVY}: {top}")
    check(heavy_ban is not None and heavy_ban["rule"] == "flood" and
          heavy_ban["reason"] == "flood" and heavy_ban["kind"] == "auto",
          f"`bans` never showed the heavy source {HEAVY} banned by the flood rule: {bans}")
    check(any(b["address"] == HEAVY for b in bans["bans"]), f"ban gone too early: {bans}")
    check(per_rule["flood"]["banned"] >= 1, f"flood rule {per_rule['flood']}")
    check(re.search(r'"event":"ban_set".*"address":"' + re.escape(HEAVY) + '"', shield.events()),
          "no ban_set event for the heavy source")


# A backend side for the balancer: the backends' traffic arrives here, not at LISTEN.
BACKEND_SIDE = "127.0.9.11:5060"


def test_flood_backend_side_keeps_responses(workdir, binary):
    """The same flood at a balancer with [server] backend_listen: the backends' responses
    arrive at their own socket, so however far the flood overflows the client-side socket
    (the sanitizer build reads far slower than it comes), none of them is lost there."""
    b1 = uas(workdir, "b1", BACKENDS[0][1])
    b2 = uas(workdir, "b2", BACKENDS[1][1])
    with started(b1, b2):
        shield = FloodShield(workdir, binary, backend_listen=BACKEND_SIDE)
        with started(shield):
            caller = uac(workdir, "uac", LISTEN, CALLER, calls=CALLS, rate=CALL_RATE)
            with started(caller):
                time.sleep(2.0)  # the caller proves return routability first
                before = ctl_json(shield, "stats")["total"]["counters"]
                phase1 = flood(0, PHASE1_SOURCES, PHASE1_SOURCES, 10)
                phase2 = flood(PHASE1_SOURCES, PHASE2_SOURCES, PHASE2_PACKETS, PHASE2_SECONDS)
                after = ctl_json(shield, "stats")["total"]["counters"]
                code = caller.wait(90)
            ok, failed = caller.successful(), caller.failed()
            report = stop_backends_then(shield, [b1, b2])
    flood_sent = phase1["sent"] + phase2["sent"]
    received = after["received"] - before["received"]
    sent_responses = backend_responses([b1, b2])
    forwarded_responses = report["counters"]["forwarded_responses"]
    print(f"  flood: {flood_sent} packets ({phase1['pps']:.0f} and {phase2['pps']:.0f} pps); "
          f"sipshield received {received} datagrams meanwhile (flood and legit, both sides)")
    print(f"  legit calls: {ok} ok, {failed} failed of {CALLS} (exit {code})")
    print(f"  backend responses: {sent_responses} sent, {forwarded_responses} forwarded")
    check(phase2["sent"] >= 100_000, f"flood too weak to mean anything: {phase2}")
    if ok < 0.99 * CALLS:
        raise Failure(f"legit success {ok}/{CALLS} < 99% (failed {failed}): {caller.errors(5)}")
    check(forwarded_responses == sent_responses,
          f"{sent_responses - forwarded_responses} of {sent_responses} backend responses lost")


TESTS = [test_flood_legit_calls_survive, test_flood_backend_side_keeps_responses]

if __name__ == "__main__":
    binary, CTL, FLOOD = sys.argv[1], sys.argv[2], sys.argv[3]
    if os.geteuid() != 0:
        print("SKIP: the spoofed flood needs a raw socket (root or CAP_NET_RAW)")
        sys.exit(77)
    wanted = sys.argv[4:]
    sys.exit(run([t for t in TESTS if not wanted or t.__name__ in wanted], binary))
