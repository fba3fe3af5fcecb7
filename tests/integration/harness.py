"""Shared pieces of the integration tests: start sipshield and sipp on loopback, read their
results, and always stop (by pid) what was started. Standard library only."""

import csv
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(ROOT, "tests", "sipp")
SECRET = "00112233445566778899aabbccddeeff"


class Failure(Exception):
    pass


def terminate(proc, timeout):
    """SIGTERM a process we started, SIGKILL it after `timeout` s. True if it stopped in time."""
    if proc.poll() is not None:
        return True
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def check(condition, message):
    if not condition:
        raise Failure(message)


class Sipp:
    """One sipp process in its own directory (sipp writes its logs to the cwd)."""

    def __init__(self, workdir, name, args):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        cmd = ["sipp"] + args + ["-buff_size", "4194304", "-aa", "-nostdin",
                                 "-trace_err", "-trace_stat", "-fd", "1", "-trace_msg"]
        self.out = open(os.path.join(self.dir, "stdout.txt"), "w")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.out,
                                     stderr=subprocess.STDOUT)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise Failure(f"{self.name}: sipp did not finish in {timeout}s")

    def stop(self):
        terminate(self.proc, 5)
        self.out.close()

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stats(self):
        """The last row of sipp's -trace_stat CSV as a dict (cumulative columns)."""
        files = [f for f in os.listdir(self.dir) if f.endswith(".csv")]
        if not files:
            return {}
        with open(os.path.join(self.dir, files[0])) as f:
            rows = list(csv.reader(f, delimiter=";"))
        if len(rows) < 2:
            return {}
        return dict(zip(rows[0], rows[-1]))

    def successful(self):
        return int(self.stats().get("SuccessfulCall(C)", "0") or 0)

    def failed(self):
        return int(self.stats().get("FailedCall(C)", "0") or 0)

    def errors(self, limit=3, mentioning=()):
        """The first `limit` events of sipp's -trace_err log that end or disturb a call (aborts,
        unexpected messages, timeouts), one line each, so that a failure message read in CI
        output says why calls failed. Answered OPTIONS and late retransmissions of calls that
        already succeeded are left out: sipp logs them, but they fail nothing. With
        `mentioning`, only events that name one of those strings (Call-IDs) count."""
        events = []
        for f in sorted(os.listdir(self.dir)):
            if not f.endswith("_errors.log"):
                continue
            with open(os.path.join(self.dir, f), errors="replace") as log:
                text = log.read()
            # Each event starts with "YYYY-MM-DD<TAB>HH:MM:SS.micro<TAB>epoch: "; a quoted
            # message may follow, over several lines: keep the event's first line, up to the
            # next event when sipp wrote two on one line.
            stamp = r"\d{4}-\d\d-\d\d\t[\d:.]+\t"
            for m in re.finditer(stamp + r"[\d.]+: (.*?)(?=" + stamp + r"|\n|$)", text):
                event = m.group(1).strip()[:200]
                if "Automatic response mode" in event or "(successful)" in event:
                    continue
                if mentioning and not any(x in event for x in mentioning):
                    continue
                events.append(event)
                if len(events) >= limit:
                    return events
        return events

    @staticmethod
    def call_ids_in(events):
        """The Call-IDs that errors() events name."""
        return [m.group(1) for e in events for m in re.finditer(r"Call-I[Dd] '([^']+)'", e)]

    def messages(self):
        """Every message of sipp's -trace_msg log as (direction, text): direction is "sent" or
        "received", text the SIP message as sipp logged it."""
        out = []
        for f in sorted(os.listdir(self.dir)):
            if not f.endswith("_messages.log"):
                continue
            with open(os.path.join(self.dir, f), errors="replace") as log:
                blocks = re.split(r"\n-{20,} [^\n]*\n", "\n" + log.read())
            for block in blocks:
                m = re.match(r"\w+ message (sent|received)[^\n]*\n\n?(.*)", block, re.S)
                if m:
                    out.append((m.group(1), m.group(2)))
        return out

    def call_ids(self):
        """Call-IDs of every message this sipp received or sent (-trace_msg)."""
        ids = set()
        for f in os.listdir(self.dir):
            if f.endswith("_messages.log"):
                with open(os.path.join(self.dir, f), errors="replace") as log:
                    for line in log:
                        m = re.match(r"^(?:Call-ID|i)\s*:\s*(\S+)", line, re.I)
                        if m:
                            ids.add(m.group(1))
        return ids


def uas(workdir, name, address, scenario="uas.xml"):
    host, port = address.rsplit(":", 1)
    return Sipp(workdir, name, ["-sf", os.path.join(SCENARIOS, scenario),
                                "-i", host.strip("[]"), "-p", port])


def uac(workdir, name, target, local, calls, rate, pause_ms=200, scenario="uac.xml",
        extra=()):
    host, port = local.rsplit(":", 1)
    return Sipp(workdir, name, ["-sf", os.path.join(SCENARIOS, scenario), target,
                                "-i", host.strip("[]"), "-p", port, "-m", str(calls), "-r", str(rate),
                                "-d", str(pause_ms), "-timeout", "60"] + list(extra))


class Shield:
    """A sipshield daemon with a config written from `backends` and extra settings."""

    def __init__(self, workdir, binary, listen, backends, record_route=False, health=(300, 200),
                 workers=2, backend_listen=None, env=None):
        self.workdir = workdir
        self.binary = binary
        self.listen = listen
        self.backend_listen = backend_listen
        self.config_path = os.path.join(workdir, "sipshield.toml")
        self.record_route = record_route
        self.health = health
        self.workers = workers
        self.write_config(backends)
        self.log_path = os.path.join(workdir, "sipshield.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "run", "--config", self.config_path],
                                     stderr=self.log, stdout=self.log, env=env)
        self.report = None
        self.wait_for_event("started", 10)

    def write_config(self, backends):
        lines = ["[server]", f'listen = ["{self.listen}"]', f"workers = {self.workers}"]
        if self.backend_listen:
            lines.append(f'backend_listen = ["{self.backend_listen}"]')
        lines += ["[balancer]", f'secret = "{SECRET}"',
                  f"record_route = {'true' if self.record_route else 'false'}",
                  "[health]", f"interval_ms = {self.health[0]}", f"timeout_ms = {self.health[1]}",
                  "failures_to_down = 2", "successes_to_up = 2",
                  "[control]", 'socket = ""']
        for name, address in backends:
            lines += ["[[backend]]", f'name = "{name}"', f'address = "{address}"']
        with open(self.config_path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(self.config_path + ".tmp", self.config_path)

    def reload(self, backends):
        self.write_config(backends)
        self.proc.send_signal(signal.SIGHUP)
        self.wait_for_event("reloaded", 5)

    def events(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for_event(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.events()):
                return time.monotonic()
            if self.proc.poll() is not None:
                raise Failure(f"sipshield exited ({self.proc.returncode}):\n{self.events()}")
            time.sleep(0.05)
        raise Failure(f"no '{pattern}' event within {timeout}s:\n{self.events()}")

    def stop(self):
        """SIGTERM, then the final JSON report (counters, backends)."""
        if not terminate(self.proc, 10):
            raise Failure("sipshield did not stop on SIGTERM within 10s")
        self.log.close()
        import json
        for line in reversed(self.events().splitlines()):
            if line.startswith('{"counters"'):
                self.report = json.loads(line)
                return self.report
        raise Failure("no final report from sipshield:\n" + self.events())


def udp_exchange(target, payload, local=("127.0.0.1", 0), timeout=1.0):
    """Sends one datagram and returns the first answer (bytes) or None."""
    family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind(local)
        s.settimeout(timeout)
        s.sendto(payload, target)
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None


def run(tests, binary):
    """Runs the named test functions; prints one line each and a closing count."""
    passed = failed = 0
    for test in tests:
        workdir = tempfile.mkdtemp(prefix=f"sipshield-{test.__name__}-")
        start = time.monotonic()
        try:
            test(workdir, binary)
            passed += 1
            print(f"PASS {test.__name__} ({time.monotonic() - start:.1f}s)", flush=True)
        except Failure as e:
            failed += 1
            print(f"FAIL {test.__name__}: {e}\n  (logs in {workdir})", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
