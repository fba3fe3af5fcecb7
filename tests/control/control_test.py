#!/usr/bin/env python3
"""Control plane end to end (issue 6): a real sipshield on 127.0.6.x with a control socket and
a metrics endpoint, driven by sipshieldctl, raw socket requests, HTTP GETs and INVITEs from
Python UDP sockets. Usage: control_test.py SIPSHIELD SIPSHIELDCTL [TEST...]"""

import contextlib
import json
import math
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import Failure, Shield, check, run  # noqa: E402

CTL = None  # the sipshieldctl binary, from argv
LISTEN = "127.0.6.10:5060"
BACKENDS = [("b1", "127.0.6.31:5060"), ("b2", "127.0.6.32:5060")]
CLIENT = "127.0.6.41"


def free_tcp_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ControlShield(Shield):
    """A Shield with [control], [metrics], optional [log] and weights; probes off so the UDP
    peers below need not answer OPTIONS."""

    def __init__(self, workdir, binary, events_file=None, weights=None, socket_path=None):
        self.socket_path = socket_path or os.path.join(workdir, "run", "control.sock")
        self.metrics_port = free_tcp_port("127.0.6.10")
        self.events_file = events_file
        self.weights = dict(weights or {})
        super().__init__(workdir, binary, LISTEN, BACKENDS, workers=2)

    def write_config(self, backends):
        super().write_config(backends)
        with open(self.config_path) as f:
            text = f.read()
        text = text.replace('socket = ""', f'socket = "{self.socket_path}"')
        text = text.replace("[health]\n", "[health]\nenabled = false\n")
        for name, weight in self.weights.items():
            text = re.sub(rf'(name = "{name}"\naddress = "[^"]*"\n)', rf"\1weight = {weight}\n",
                          text)
        text += f'[metrics]\nlisten = "127.0.6.10:{self.metrics_port}"\n'
        if self.events_file:
            text += f'[log]\nevents = "{self.events_file}"\n'
        with open(self.config_path + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.config_path + ".tmp", self.config_path)

    def events(self):
        text = super().events()
        if self.events_file and os.path.exists(self.events_file):
            with open(self.events_file, errors="replace") as f:
                text += f.read()
        return text

    def url(self, path):
        return f"http://127.0.6.10:{self.metrics_port}{path}"


def ctl(shield_or_path, *args):
    path = shield_or_path if isinstance(shield_or_path, str) else shield_or_path.socket_path
    p = subprocess.run([CTL, "-s", path] + list(args), capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def ctl_json(shield, *args):
    code, out, err = ctl(shield, "--json", *args)
    check(code == 0, f"sipshieldctl {' '.join(args)}: exit {code}: {err}")
    return json.loads(out)


def raw_request(path, line):
    """Sends one raw line on the control socket and returns the answer line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(line)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Peers:
    """UDP sockets standing in for the backends; they count the Call-IDs they receive."""

    def __init__(self):
        self.socks = {}
        for name, address in BACKENDS:
            host, port = address.rsplit(":", 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((host, int(port)))
            s.setblocking(False)
            self.socks[name] = s

    def collect(self, expected, timeout=3.0):
        """Reads until `expected` INVITEs arrived (or timeout); returns {name: [call-ids]}."""
        got = {name: [] for name in self.socks}
        deadline = time.monotonic() + timeout
        while sum(len(v) for v in got.values()) < expected and time.monotonic() < deadline:
            idle = True
            for name, s in self.socks.items():
                with contextlib.suppress(BlockingIOError):
                    data = s.recv(65535)
                    idle = False
                    m = re.search(rb"\r\nCall-ID:\s*(\S+)", data, re.I)
                    if data.startswith(b"INVITE") and m:
                        got[name].append(m.group(1).decode())
            if idle:
                time.sleep(0.005)
        return got

    def stop(self):
        for s in self.socks.values():
            s.close()


def invite(n, tag):
    return (f"INVITE sip:service@{LISTEN} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {CLIENT}:5070;branch=z9hG4bK-{tag}-{n}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:alice@{CLIENT}>;tag=f{tag}{n}\r\n"
            f"To: <sip:service@{LISTEN}>\r\n"
            f"Call-ID: ctl-{tag}-{n}@{CLIENT}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:alice@{CLIENT}:5070>\r\n"
            "Content-Length: 0\r\n\r\n").encode()


def send_invites(peers, count, tag):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((CLIENT, 5070))
        for n in range(count):
            s.sendto(invite(n, tag), ("127.0.6.10", 5060))
            if n % 10 == 9:
                time.sleep(0.002)  # stay far below any socket buffer
    got = peers.collect(count)
    total = sum(len(v) for v in got.values())
    check(total == count, f"{tag}: backends got {total} of {count} INVITEs: "
                          f"{ {k: len(v) for k, v in got.items()} }")
    return {k: len(v) for k, v in got.items()}


def backend(answer, name):
    for b in answer["backends"]:
        if b["name"] == name:
            return b
    raise Failure(f"no backend {name} in {answer}")


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise Failure(f"timed out waiting for {what}")


METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,|(?=\})))*\}'
SAMPLE = re.compile(rf"^({METRIC})({LABELS})? (\S+)(?: -?\d+)?$")


def parse_exposition(text):
    """Strict Prometheus text parser: every line is HELP, TYPE or a sample of a declared family
    whose block it belongs to; returns {(name, frozenset(labels)): value}."""
    check(text.endswith("\n"), "exposition must end with a newline")
    types, helps, seen, finished, current = {}, set(), {}, set(), None
    for number, line in enumerate(text[:-1].split("\n"), 1):
        m = re.match(rf"^# (HELP|TYPE) ({METRIC}) (.+)$", line)
        if m:
            kind, name, rest = m.groups()
            family = name
            if kind == "TYPE":
                check(rest in ("counter", "gauge", "histogram", "summary", "untyped"),
                      f"line {number}: bad type {rest}")
                check(name not in types, f"line {number}: second TYPE")
                check(rest != "counter" or name.endswith("_total"),
                      f"line {number}: counter not *_total")
                types[name] = rest
            else:
                check(name not in helps, f"line {number}: second HELP")
                helps.add(name)
        else:
            m = SAMPLE.match(line)
            check(m is not None, f"line {number}: not a valid sample: {line!r}")
            name, labels, value = m.groups()
            family = name
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                    family = name[:-len(suffix)]
            check(family in types and family in helps, f"line {number}: no HELP/TYPE for {name}")
            pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or "")
            check(len({k for k, _ in pairs}) == len(pairs), f"line {number}: repeated label")
            v = float(value)  # accepts +Inf/NaN spellings Prometheus uses
            key = (name, frozenset(pairs))
            check(key not in seen, f"line {number}: duplicate series")
            seen[key] = v
        if family != current:
            check(family not in finished, f"line {number}: {family} split into two blocks")
            if current:
                finished.add(current)
            current = family
    return seen


def metric(samples, name, **labels):
    want = set(labels.items())
    values = [v for (n, ls), v in samples.items() if n == name and want <= set(ls)]
    check(len(values) >= 1, f"no {name}{labels}")
    return sum(values)


# ------------------------------------------------------------------------------------------


def test_backends_drain_undrain(workdir, binary):
    peers = Peers()
    shield = ControlShield(workdir, binary)
    try:
        mode = stat.S_IMODE(os.stat(shield.socket_path).st_mode)
        check(mode == 0o660, f"socket mode {oct(mode)}")
        answer = ctl_json(shield, "backends")
        check([b["name"] for b in answer["backends"]] == ["b1", "b2"], f"backends {answer}")
        check(all(b["state"] == "up" and b["weight"] == 100 for b in answer["backends"]), answer)
        b1 = backend(answer, "b1")
        check(b1["address"] == "127.0.6.31:5060" and "consecutive_failures" in b1["health"], b1)
        code, table, _ = ctl(shield, "backends")
        check(code == 0 and re.search(r"^b1\s+127\.0\.6\.31:5060\s+up\s+100", table, re.M), table)

        spread = send_invites(peers, 40, "before")
        check(spread["b1"] > 0 and spread["b2"] > 0, f"no spread before drain: {spread}")
        answer = ctl_json(shield, "backends")
        check(backend(answer, "b1")["requests"] == spread["b1"], f"requests {answer} vs {spread}")

        code, out, err = ctl(shield, "drain", "b1")
        check(code == 0 and out.startswith("ok"), f"drain: {code} {out} {err}")
        check(backend(ctl_json(shield, "backends"), "b1")["state"] == "draining", "not draining")
        drained = send_invites(peers, 40, "drained")
        check(drained == {"b1": 0, "b2": 40}, f"new calls reached a draining backend: {drained}")
        shield.wait_for_event(r'"event":"backend_draining","detail":"b1', 2)

        code, out, err = ctl(shield, "undrain", "b1")
        check(code == 0, f"undrain: {err}")
        check(backend(ctl_json(shield, "backends"), "b1")["state"] == "up", "not up again")
        after = send_invites(peers, 40, "after")
        check(after["b1"] > 0, f"undrained b1 got no new calls: {after}")

        code, _, err = ctl(shield, "drain", "nope")
        check(code == 1 and "no backend named nope" in err, f"drain nope: {code} {err}")
    finally:
        shield.stop()
        peers.stop()
    check(not os.path.exists(shield.socket_path), "control socket left behind after exit")


def test_stats_metrics_health_ready(workdir, binary):
    peers = Peers()
    shield = ControlShield(workdir, binary)
    try:
        before = ctl_json(shield, "stats")
        send_invites(peers, 30, "stats")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(5):
                s.sendto(b"INVITE \x00garbage\r\n\r\n", ("127.0.6.10", 5060))
        wait_until(lambda: ctl_json(shield, "stats")["total"]["counters"]["received"]
                   >= before["total"]["counters"]["received"] + 35, 3, "35 more received")
        stats = ctl_json(shield, "stats")
        total, old = stats["total"]["counters"], before["total"]["counters"]
        check(total["received"] - old["received"] == 35, f"received {old} -> {total}")
        check(total["forwarded_requests"] - old["forwarded_requests"] == 30, f"{total}")
        dropped = sum(v for k, v in total.items() if k.startswith("dropped_"))
        check(dropped - sum(v for k, v in old.items() if k.startswith("dropped_")) == 5,
              f"garbage not counted as dropped: {total}")
        check(len(stats["workers"]) == 2, f"workers {stats['workers']}")
        for name, value in total.items():
            per_worker = sum(w["counters"][name] for w in stats["workers"])
            check(per_worker == value, f"{name}: workers sum {per_worker} != total {value}")
        check(stats["total"]["io"]["sent"] >= 30, f"io {stats['total']['io']}")
        code, table, _ = ctl(shield, "stats")
        check(code == 0 and re.search(r"^received\s+\d+\s+\d+\s+\d+$", table, re.M), table)

        time.sleep(0.25)  # the metrics snapshot is refreshed every 100 ms
        status, body = http_get(shield.url("/metrics"))
        check(status == 200, f"/metrics {status}")
        samples = parse_exposition(body)
        check(metric(samples, "sipshield_packets_received_total") == total["received"],
              "received in metrics differs from stats")
        check(metric(samples, "sipshield_forwarded_total", direction="request") ==
              total["forwarded_requests"], "forwarded")
        check(metric(samples, "sipshield_backend_up", backend="b1") == 1, "b1 up")
        check(metric(samples, "sipshield_backend_requests_total") == 30, "backend requests")
        bursts = metric(samples, "sipshield_burst_duration_seconds_count")
        check(bursts > 0, "no bursts in the latency histogram")
        check(metric(samples, "sipshield_burst_duration_seconds_bucket", le="+Inf") == bursts,
              "+Inf bucket != count")

        check(http_get(shield.url("/health")) == (200, "ok\n"), "health")
        check(http_get(shield.url("/ready")) == (200, "ready\n"), "ready")
        for name in ("b1", "b2"):
            check(ctl(shield, "drain", name)[0] == 0, f"drain {name}")
        wait_until(lambda: http_get(shield.url("/ready"))[0] == 503, 2, "/ready 503")
        status, body = http_get(shield.url("/metrics"))
        check(metric(parse_exposition(body), "sipshield_backend_up") == 0, "backend_up")
        check(metric(parse_exposition(body), "sipshield_backend_draining") == 2, "draining")
        check(ctl(shield, "undrain", "b2")[0] == 0, "undrain b2")
        wait_until(lambda: http_get(shield.url("/ready"))[0] == 200, 2, "/ready 200")
        check(http_get(shield.url("/nope"))[0] == 404, "unknown path")
    finally:
        shield.stop()
        peers.stop()


def test_reload_and_events(workdir, binary):
    events = os.path.join(workdir, "events.jsonl")
    shield = ControlShield(workdir, binary, events_file=events)
    try:
        check(ctl(shield, "drain", "b2")[0] == 0, "drain b2")
        shield.weights = {"b1": 50}
        shield.write_config(BACKENDS)
        code, out, err = ctl(shield, "reload")
        check(code == 0 and out.strip() == "ok", f"reload: {code} {out} {err}")
        answer = ctl_json(shield, "backends")
        check(backend(answer, "b1")["weight"] == 50, f"weight not reloaded: {answer}")
        check(backend(answer, "b2")["state"] == "draining", "drain lost on reload")

        with open(shield.config_path, "a") as f:
            f.write("[bogus]\nx = 1\n")
        code, _, err = ctl(shield, "reload")
        check(code == 1 and "reload failed" in err and "bogus" in err, f"bad reload: {code} {err}")
        check(backend(ctl_json(shield, "backends"), "b1")["weight"] == 50, "running config lost")

        with open(events) as f:
            lines = [json.loads(line) for line in f]
        names = [e["event"] for e in lines]
        for wanted in ("started", "backend_draining", "reload_applied", "reloaded",
                       "reload_failed"):
            check(wanted in names, f"no {wanted} event in {names}")
        check(all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["ts"]) for e in lines),
              "bad ts")
        applied = [e["detail"] for e in lines if e["event"] == "reload_applied"]
        check(any("b1" in d and "50" in d for d in applied), f"applied {applied}")
    finally:
        shield.stop()


def test_dead_socket_and_unavailable(workdir, binary):
    dead = os.path.join(workdir, "none", "control.sock")
    code, out, err = ctl(dead, "backends")
    check(code == 1 and err == f"sipshieldctl: cannot connect to {dead}: No such file or "
          "directory (is sipshield running?)\n", f"dead socket: {code} {out!r} {err!r}")
    code, _, err = ctl(dead, "frobnicate")
    check(code == 2 and "Traceback" not in err, f"usage error: {code} {err}")

    shield = ControlShield(workdir, binary)
    try:
        for command in ("top", "bans", "rules"):
            code, out, err = ctl(shield, command)
            check(code == 1 and err == "sipshieldctl: not available: filters not enabled\n",
                  f"{command}: {code} {out} {err}")
        code, out, _ = ctl(shield, "--json", "rules")
        check(code == 1 and json.loads(out) == {"error": "not available: filters not enabled"},
              out)
        check(raw_request(shield.socket_path, b'{"cmd":"bogus"}\n') ==
              {"error": "unknown command: bogus"}, "unknown command")
        check("bad JSON" in raw_request(shield.socket_path, b"stats please\n")["error"],
              "bad JSON")
        help_answer = raw_request(shield.socket_path, b'{"cmd":"help"}\n')["commands"]
        check({"backends", "stats", "drain", "undrain", "reload", "top", "bans", "rules"} <=
              set(help_answer), f"help {help_answer}")
        # A daemon killed without cleanup leaves its socket; the next one replaces it.
        shield.proc.kill()
        shield.proc.wait()
        check(os.path.exists(shield.socket_path), "expected a stale socket after SIGKILL")
        code, _, err = ctl(shield, "stats")
        check(code == 1 and "Connection refused (is sipshield running?)" in err, err)
    finally:
        with contextlib.suppress(Failure):
            shield.stop()
    again = ControlShield(workdir, binary, socket_path=shield.socket_path)
    try:
        check(ctl(again, "backends")[0] == 0, "new daemon did not replace the stale socket")
    finally:
        again.stop()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    CTL = sys.argv[2]
    wanted = sys.argv[3:]
    tests = [test_backends_drain_undrain, test_stats_metrics_health_ready,
             test_reload_and_events, test_dead_socket_and_unavailable]
    sys.exit(run([t for t in tests if not wanted or t.__name__ in wanted], sys.argv[1]))
