#!/usr/bin/env python3
"""`sipshield replay` on a capture the test writes itself (issue 4: "A replay test on a capture
the test generates"). No network: the capture is a pcap file of Ethernet/IPv4/UDP frames.
Usage: replay_test.py SIPSHIELD_BINARY [TEST...]"""

import json
import os
import struct
import subprocess
import sys

from harness import SECRET, Failure, check, run

LISTEN = "10.0.0.1"
LEGIT = ["10.1.0.1", "10.1.0.2", "10.1.0.3"]
FLOODER = "10.9.9.9"
SCANNER = "10.6.6.6"


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(src, dst, sport, dport, payload, ttl=60):
    """Ethernet + IPv4 + UDP around `payload`, lengths exact, UDP checksum 0 (none)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, ttl, 17, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    ether = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
    return ether + ip + udp


def write_pcap(path, packets):
    """packets: [(time_s, frame bytes)] -> classic pcap, microsecond timestamps, Ethernet."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, data in packets:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)


def request(method, source, call_id, cseq, user_agent="replay-test/1.0", to_tag=""):
    to = f"<sip:bob@{LISTEN}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [f"{method} sip:bob@{LISTEN} SIP/2.0",
             f"Via: SIP/2.0/UDP {source}:5060;branch=z9hG4bK{call_id}{cseq}{method.lower()}",
             "Max-Forwards: 70",
             f"From: <sip:alice@{source}>;tag=f{call_id}",
             f"To: {to}",
             f"Call-ID: {call_id}@{source}",
             f"CSeq: {cseq} {method}",
             f"Contact: <sip:alice@{source}:5060>",
             f"User-Agent: {user_agent}",
             "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def capture(path):
    """Legit calls from three sources, an INVITE flood from one, a scanner's OPTIONS; plus
    datagrams not sent to us (ignored by replay). Returns the packet count sent to us."""
    start = 1_700_000_000.0
    packets = []
    for i, source in enumerate(LEGIT):
        for call in range(6):  # one call a second per source: INVITE, ACK, BYE
            t = start + call + i * 0.1
            cid = f"legit{i}x{call}"
            packets.append((t, frame(source, LISTEN, 5060, 5060, request("INVITE", source, cid, 1))))
            packets.append((t + 0.2, frame(source, LISTEN, 5060, 5060,
                                           request("ACK", source, cid, 1, to_tag="b1"))))
            packets.append((t + 0.5, frame(source, LISTEN, 5060, 5060,
                                           request("BYE", source, cid, 2, to_tag="b1"))))
    for n in range(2000):  # 1000 INVITEs a second for 2 s, a new call each
        t = start + 1.0 + n / 1000.0
        packets.append((t, frame(FLOODER, LISTEN, 5070, 5060,
                                 request("INVITE", FLOODER, f"flood{n}", 1, "flooder"))))
    for n in range(5):
        t = start + 2.5 + n * 0.1
        packets.append((t, frame(SCANNER, LISTEN, 5099, 5060,
                                 request("OPTIONS", SCANNER, f"scan{n}", 1, "friendly-scanner"))))
    ours = len(packets)
    for n in range(7):  # a backend's datagrams to someone else: not for the balancer
        packets.append((start + n * 0.3, frame("10.0.0.2", "10.1.0.1", 5060, 5060,
                                               request("OPTIONS", "10.0.0.2", f"other{n}", 1))))
    packets.sort(key=lambda p: p[0])
    write_pcap(path, packets)
    return ours, len(packets)


def config(path, dry_run=False):
    text = f"""
[server]
listen = ["{LISTEN}:5060"]
workers = 1
[balancer]
secret = "{SECRET}"
[[backend]]
name = "b1"
address = "10.0.0.2:5060"
[[backend]]
name = "b2"
address = "10.0.0.3:5060"
[control]
socket = ""
[shield]
[shield.scanner]
action = "ban"
ban_seconds = 600
[[shield.rate_limit]]
name = "invite-per-source"
methods = ["INVITE"]
key = "source"
rate = 5
burst = 10
action = "ban"
ban_after = 20
ban_seconds = 300
dry_run = {"true" if dry_run else "false"}
"""
    with open(path, "w") as f:
        f.write(text)


def replay(binary, capture_path, config_path, *extra):
    proc = subprocess.run([binary, "replay", capture_path, "--config", config_path] +
                          list(extra), capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def rule(report, name):
    for r in report["rules"]:
        if r["name"] == name:
            return r
    raise Failure(f"no rule {name} in {report['rules']}")


def test_flood_banned_scanner_matched(workdir, binary):
    pcap = os.path.join(workdir, "attack.pcap")
    ours, total = capture(pcap)
    conf = os.path.join(workdir, "shield.toml")
    config(conf)
    code, out, err = replay(binary, pcap, conf, "--json")
    check(code == 0, f"exit {code}: {err}")
    report = json.loads(out)
    check(report["datagrams"] == {"read": total, "replayed": ours, "not_for_us": total - ours,
                                  "skipped_frames": 0, "fragments": 0},
          f"datagrams {report['datagrams']}")
    totals = report["totals"]
    check(totals["received"] == ours, f"totals {totals}")
    banned = {b["address"]: b for b in report["bans"]}
    check(FLOODER in banned and banned[FLOODER]["rule"] == "invite-per-source" and
          banned[FLOODER]["reason"] == "rate_limited", f"flooder not banned: {report['bans']}")
    check(banned[FLOODER]["seconds"] == 300, f"ban length {banned[FLOODER]}")
    check(SCANNER in banned and banned[SCANNER]["rule"] == "scanner" and
          banned[SCANNER]["reason"] == "scanner_fingerprint", f"scanner: {report['bans']}")
    for source in LEGIT:
        check(source not in banned, f"legit {source} banned: {report['bans']}")
    # Every legit message was forwarded (18 calls x 3 requests); the flood was mostly stopped.
    limit = rule(report, "invite-per-source")
    # ban_after = 20: twenty violations, then the ban stops the rest before the rate stage.
    check(limit["matched"] == 20 and limit["dropped"] == 20 and limit["banned"] == 1 and
          limit["dry_run_matched"] == 0, f"rate rule {limit}")
    scanner = rule(report, "scanner")
    check(scanner["matched"] == 1 and scanner["banned"] == 1, f"scanner rule {scanner}")
    bans_rule = rule(report, "bans")
    check(bans_rule["matched"] >= 1900, f"later flood/scanner packets hit the ban: {bans_rule}")
    check(totals["forwarded_requests"] >= 54 and totals["forwarded_requests"] <= 54 + 15,
          f"forwarded {totals} (54 legit + the flooder's burst allowance)")
    by_reason = report["dropped_by_reason"]
    check(by_reason.get("rate_limited", 0) + by_reason.get("banned", 0) >= 1900,
          f"by reason {by_reason}")
    check(by_reason.get("scanner_fingerprint") == 1, f"by reason {by_reason}")
    check(totals["dropped"] == ours - totals["forwarded"] - totals["replied"] -
          totals["keepalive"], f"totals add up {totals}")

    # The same run as tables.
    code, text_out, err = replay(binary, pcap, conf)
    check(code == 0 and "invite-per-source" in text_out and FLOODER in text_out and
          "BANNED" in text_out, f"text report {code}: {text_out}{err}")


def test_dry_run_counts_without_acting(workdir, binary):
    pcap = os.path.join(workdir, "attack.pcap")
    ours, _ = capture(pcap)
    conf = os.path.join(workdir, "dry.toml")
    config(conf, dry_run=True)
    code, out, err = replay(binary, pcap, conf, "--json")
    check(code == 0, f"exit {code}: {err}")
    report = json.loads(out)
    limit = rule(report, "invite-per-source")
    check(limit["dry_run"] is True and limit["dry_run_matched"] >= 1900 and
          limit["dropped"] == 0 and limit["banned"] == 0, f"dry-run rule {limit}")
    check(all(b["address"] != FLOODER for b in report["bans"]), f"bans {report['bans']}")
    # The flood goes through: every INVITE but the scanner's OPTIONS (banned) is forwarded.
    check(report["totals"]["forwarded_requests"] >= 54 + 2000, f"totals {report['totals']}")


def test_bad_inputs_exit_2(workdir, binary):
    pcap = os.path.join(workdir, "attack.pcap")
    capture(pcap)
    bad = os.path.join(workdir, "bad.toml")
    config(bad)
    with open(bad, "a") as f:
        f.write("[[shield.rate_limit]]\nname = \"x\"\nrate = \"fast\"\n")
    code, out, err = replay(binary, pcap, bad)
    check(code == 2 and "shield.rate_limit[1]" in err and "rate" in err,
          f"bad config: {code} {err!r}")
    good = os.path.join(workdir, "good.toml")
    config(good)
    missing = os.path.join(workdir, "missing.pcap")
    code, _, err = replay(binary, missing, good)
    check(code == 2 and "missing.pcap" in err, f"missing capture: {code} {err!r}")
    garbage = os.path.join(workdir, "garbage.pcap")
    with open(garbage, "wb") as f:
        f.write(b"this is not a capture at all" * 10)
    code, _, err = replay(binary, garbage, good)
    check(code == 2 and err, f"garbage capture: {code} {err!r}")


TESTS = [test_flood_banned_scanner_matched, test_dry_run_counts_without_acting,
         test_bad_inputs_exit_2]

if __name__ == "__main__":
    binary = sys.argv[1]
    wanted = sys.argv[2:]
    selected = [t for t in TESTS if not wanted or t.__name__ in wanted]
    sys.exit(run(selected, binary))
