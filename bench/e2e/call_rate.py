#!/usr/bin/env python3
"""sipp call rate at >= 99.9% success: sipp caller -> sipshield -> two sipp backends, and
sipp caller -> one sipp backend directly (the ceiling any balancer can show here), in the same
run. Loopback only; each step is bounded (SECONDS of calls, hard timeouts).

Usage: call_rate.py SIPSHIELD_BINARY [--rates 500,1000,...] [--seconds 4]"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration"))
from harness import Failure, Shield, uac, uas  # noqa: E402


def step(workdir, binary, rate, seconds, through_shield):
    calls = rate * seconds
    name = f"{'shield' if through_shield else 'direct'}-{rate}"
    base = os.path.join(workdir, name)
    os.makedirs(base)
    backends = [uas(base, "b1", "127.0.7.31:5060")]
    if through_shield:
        backends.append(uas(base, "b2", "127.0.7.32:5060"))
    shield = None
    try:
        target = "127.0.7.31:5060"
        if through_shield:
            shield = Shield(base, binary, "127.0.7.10:5060",
                            [("b1", "127.0.7.31:5060"), ("b2", "127.0.7.32:5060")])
            target = "127.0.7.10:5060"
        caller = uac(base, "uac", target, "127.0.7.41:5061", calls=calls, rate=rate,
                     pause_ms=0, extra=["-l", str(rate * 2)])
        try:
            caller.wait(seconds * 4 + 30)
        except Failure:
            pass
        ok, failed = caller.successful(), caller.failed()
        caller.stop()
    finally:
        if shield is not None:
            try:
                shield.stop()
            except Failure:
                pass
        for b in backends:
            b.stop()
    return ok, failed, calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--rates", default="500,1000,2000,3000,4000,5000,6000")
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    workdir = tempfile.mkdtemp(prefix="sipshield-call-rate-")
    best = {True: 0, False: 0}
    print("| path | offered calls/s | calls | ok | failed | success % |")
    print("|---|---|---|---|---|---|")
    for through_shield in (False, True):
        for rate in rates:
            ok, failed, calls = step(workdir, args.binary, rate, args.seconds, through_shield)
            share = 100.0 * ok / calls if calls else 0.0
            path = "sipp -> sipshield -> 2 sipp" if through_shield else "sipp -> sipp (direct)"
            print(f"| {path} | {rate} | {calls} | {ok} | {failed} | {share:.2f} |", flush=True)
            if share >= 99.9:
                best[through_shield] = rate
            else:
                break  # higher rates only fail harder; keep the run bounded
    print(f"\nhighest rate at >= 99.9% success: direct {best[False]} calls/s, "
          f"through sipshield {best[True]} calls/s (logs in {workdir})")


if __name__ == "__main__":
    main()
