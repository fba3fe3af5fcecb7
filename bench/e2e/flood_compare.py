#!/usr/bin/env python3
"""The flood scenario of tests/integration/flood_test.py run against several balancers in one
run, same machine (issue 4's comparison table): Kamailio 5.6 stateless dispatcher with pike
(and, in a second row, pike + a ratelimit pipe) from bench/e2e/kamailio-pike.cfg, then
sipshield with flood_test.py's [shield] config.

For each balancer: two sipp UAS backends, one sipp UAC placing CALLS calls at CALL_RATE
calls/s through the balancer, and 2 s in, bench/spoof_flood sends flood_test.py's bounded
spoofed INVITE/REGISTER flood (20k packets from 20k sources, then 600k from 300k more capped
at 6 s, then 15k REGISTERs at 5k/s from one source) from random 127/8 sources, never from
127.0.8.0/24 (the caller, balancer and backends). Prints one markdown table.

Usage: flood_compare.py SIPSHIELD SPOOF_FLOOD [--calls 600] [--rate 60]
                        [--only kamailio-pike,kamailio-pike-rl,sipshield]
Needs root (raw socket). Loopback only; every process is bounded and stopped by pid."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from harness import Failure, Shield, Sipp, SCENARIOS, terminate, uac  # noqa: E402
from flood_test import HEAVY_INDEX, PHASE1_SOURCES, PHASE2_PACKETS, PHASE2_SECONDS  # noqa: E402
from flood_test import PHASE2_SOURCES, SHIELD  # noqa: E402

LB_IP = "127.0.8.10"
LISTEN = f"{LB_IP}:5060"
BACKENDS = [("b1", "127.0.8.31:5060"), ("b2", "127.0.8.32:5060")]
CALLER = "127.0.8.41:5061"
AVOID = "127.0.8.0/24"
KAMAILIO = "/usr/sbin/kamailio"
KAMAILIO_CFG = os.path.join(HERE, "kamailio-pike.cfg")
RL_PIPE = "1:TAILDROP:400"


class QuietUas(Sipp):
    """A sipp UAS backend without -trace_msg: under a flood that reaches it the message log
    would grow by gigabytes. -trace_stat still gives IncomingCall(C)."""

    def __init__(self, workdir, name, address):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        host, port = address.rsplit(":", 1)
        cmd = ["sipp", "-sf", os.path.join(SCENARIOS, "uas.xml"), "-i", host, "-p", port,
               "-buff_size", "4194304", "-aa", "-nostdin", "-trace_stat", "-fd", "1"]
        self.out = open(os.path.join(self.dir, "stdout.txt"), "w")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.out,
                                     stderr=subprocess.STDOUT)


class ShieldWithRules(Shield):
    """sipshield on LISTEN with record-route (the caller's ACK verifies it) and flood_test.py's
    [shield] rules, byte for byte."""

    def __init__(self, workdir, binary):
        super().__init__(workdir, binary, LISTEN, BACKENDS, record_route=True, workers=2)

    def write_config(self, backends):
        super().write_config(backends)
        with open(self.config_path) as f:
            text = f.read()
        with open(self.config_path + ".tmp", "w") as f:
            f.write(text + SHIELD)
        os.replace(self.config_path + ".tmp", self.config_path)


class Kamailio:
    """Kamailio in the foreground (-DD) with kamailio-pike.cfg; stop() signals its main pid,
    which stops the children it forked."""

    def __init__(self, workdir, rl_pipe):
        self.dir = os.path.join(workdir, "kamailio")
        os.makedirs(self.dir, exist_ok=True)
        dslist = os.path.join(self.dir, "dispatcher.list")
        with open(dslist, "w") as f:
            for _, address in BACKENDS:
                f.write(f"1 sip:{address}\n")
        cmd = [KAMAILIO, "-f", KAMAILIO_CFG, "-DD", "-E", "-Y", self.dir,
               "-P", os.path.join(self.dir, "kamailio.pid"), "-m", "64", "-M", "8",
               "-A", f"LISTEN=udp:{LISTEN}", "-A", f'DSLIST="{dslist}"', "-A", "WORKERS=2"]
        if rl_pipe:
            cmd += ["-A", f'RL_PIPE="{rl_pipe}"']
        self.log = open(os.path.join(self.dir, "kamailio.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"kamailio exited {self.proc.returncode}; see {self.dir}")
            if LB_IP + ":5060" in subprocess.run(["ss", "-Hlun"], capture_output=True,
                                                  text=True).stdout:
                return
            time.sleep(0.1)
        self.stop()
        raise Failure("kamailio did not listen within 10 s")

    def stop(self):
        terminate(self.proc, 10)
        self.log.close()


def tree(pid):
    """pid and its descendants (Kamailio forks its workers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def pss_kib(pids):
    """Proportional set size summed over the tree (shared memory counted once overall)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def udp_rcvbuf_errors():
    """Kernel-wide UDP RcvbufErrors (datagrams dropped because a socket's queue was full)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def flood(spoof, first, sources, packets, seconds, methods="invite,register", rate=0):
    p = subprocess.run([spoof, "--target", LISTEN, "--count", str(packets), "--duration",
                        str(seconds), "--sources", str(sources), "--first-source", str(first),
                        "--methods", methods, "--avoid", AVOID, "--rate", str(rate)],
                       capture_output=True, text=True, timeout=seconds + 30)
    if p.returncode != 0:
        raise Failure(f"spoof_flood exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def scenario(name, workdir, args):
    base = os.path.join(workdir, name)
    os.makedirs(base)
    backends = [QuietUas(base, n, a) for n, a in BACKENDS]
    balancer = caller = None
    try:
        time.sleep(0.3)
        if name == "sipshield":
            balancer = ShieldWithRules(base, args.sipshield)
        else:
            balancer = Kamailio(base, RL_PIPE if name == "kamailio-pike-rl" else None)
        pids = tree(balancer.proc.pid)
        cpu0 = cpu_seconds(pids)
        errs0 = udp_rcvbuf_errors()
        caller = uac(base, "uac", LISTEN, CALLER, calls=args.calls, rate=args.rate)
        time.sleep(2.0)  # sipshield: the caller's first ACKs verify it before the flood
        t0 = time.monotonic()
        phases = [flood(args.spoof, 0, PHASE1_SOURCES, PHASE1_SOURCES, 10),
                  flood(args.spoof, PHASE1_SOURCES, PHASE2_SOURCES, PHASE2_PACKETS,
                        PHASE2_SECONDS),
                  flood(args.spoof, HEAVY_INDEX, 1, 15_000, 3, "register", 5000)]
        flood_s = time.monotonic() - t0
        try:
            caller.wait(args.calls / args.rate + 90)
        except Failure:
            pass
        pids = tree(balancer.proc.pid)
        cpu = cpu_seconds(pids) - cpu0
        pss = pss_kib(pids)
        rcvbuf_errors = udp_rcvbuf_errors() - errs0
        ok, failed = caller.successful(), caller.failed()
        caller.stop()
        caller = None
        time.sleep(0.5)
    finally:
        if caller is not None:
            caller.stop()
        report = None
        if balancer is not None:
            try:
                report = balancer.stop()
            except Failure as e:
                print(f"{name}: {e}", file=sys.stderr)
        for b in backends:
            b.stop()
    incoming = sum(int(b.stats().get("IncomingCall(C)", "0") or 0) for b in backends)
    return {
        "name": name, "ok": ok, "failed": failed, "sent": sum(p["sent"] for p in phases),
        "pps": [round(p["pps"]) for p in phases[:2]], "flood_s": flood_s,
        "at_backends": max(0, incoming - args.calls), "cpu_s": cpu, "pss_kib": pss,
        "rcvbuf_errors": rcvbuf_errors,
        "received": report["counters"]["received"] if report else None,
    }


LABELS = {
    "kamailio-pike": "Kamailio 5.6 dispatcher + pike",
    "kamailio-pike-rl": f"Kamailio 5.6 dispatcher + pike + ratelimit ({RL_PIPE})",
    "sipshield": "sipshield + [shield] of flood_test.py",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sipshield")
    parser.add_argument("spoof")
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--rate", type=int, default=60)
    parser.add_argument("--only", default="kamailio-pike,kamailio-pike-rl,sipshield")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("the spoofed flood needs a raw socket (root or CAP_NET_RAW)", file=sys.stderr)
        return 77
    if not 1 <= args.calls <= 100_000 or not 1 <= args.rate <= 10_000:
        parser.error("--calls 1..100000, --rate 1..10000")
    workdir = tempfile.mkdtemp(prefix="sipshield-flood-compare-")
    rows = []
    for name in args.only.split(","):
        if name not in LABELS:
            parser.error(f"unknown balancer {name}")
        r = scenario(name, workdir, args)
        print(f"{name}: {json.dumps(r)}", file=sys.stderr, flush=True)
        rows.append(r)
    print(f"| balancer | legit calls ok / failed of {args.calls} | success % | flood packets "
          "sent (pps, 20k-src / 300k-src phase) | flood requests at the backends (sipp UAS "
          "calls beyond the legit ones) | UDP receive-queue drops (kernel-wide) | balancer CPU s "
          "during the run | balancer PSS KiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        share = 100.0 * r["ok"] / args.calls
        leak = 100.0 * r["at_backends"] / max(r["sent"], 1)
        print(f"| {LABELS[r['name']]} | {r['ok']} / {r['failed']} | {share:.1f} | "
              f"{r['sent']:,} ({r['pps'][0]:,} / {r['pps'][1]:,}) | "
              f"{r['at_backends']:,} ({leak:.2f}%) | {r['rcvbuf_errors']:,} | "
              f"{r['cpu_s']:.1f} | {r['pss_kib']:,} |")
    print(f"\n(logs in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
