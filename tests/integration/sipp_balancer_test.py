#!/usr/bin/env python3
"""Real sipp calls through a real sipshield on loopback (issue: stateless load balancing end
to end). Usage: sipp_balancer_test.py SIPSHIELD_BINARY [TEST...]"""

import contextlib
import re
import sys
import time

from harness import (Failure, Shield, check, run, uac, uas, udp_exchange)

# Each test uses its own 127.0.x.y addresses so tests never meet each other.


@contextlib.contextmanager
def started(*processes):
    """Stops every process (by pid) however the test ends."""
    try:
        yield processes
    finally:
        for p in processes:
            with contextlib.suppress(Exception):
                p.stop()


def assert_calls_pinned(backends):
    """Every Call-ID reached exactly one backend: all messages of a call went to one place."""
    seen = {}
    for b in backends:
        for call_id in b.call_ids():
            if not call_id.startswith("sipshield-probe-"):
                check(call_id not in seen,
                      f"call {call_id} reached both {seen.get(call_id)} and {b.name}")
                seen[call_id] = b.name
    return seen


def test_calls_spread_and_pinned(workdir, binary):
    b1 = uas(workdir, "b1", "127.0.1.31:5060")
    b2 = uas(workdir, "b2", "127.0.1.32:5060")
    with started(b1, b2):
        shield = Shield(workdir, binary, "127.0.1.10:5060",
                        [("b1", "127.0.1.31:5060"), ("b2", "127.0.1.32:5060")])
        with started(shield):
            caller = uac(workdir, "uac", "127.0.1.10:5060", "127.0.1.41:5061", calls=300, rate=150)
            with started(caller):
                code = caller.wait(90)
            check(code == 0, f"uac exit {code}: {caller.successful()} ok, "
                  f"{caller.failed()} failed; {caller.errors()}")
            check(caller.successful() == 300, f"uac: {caller.successful()} of 300 calls ok")
        report = shield.stop()
    seen = assert_calls_pinned([b1, b2])
    per_backend = {name: list(seen.values()).count(name) for name in ("b1", "b2")}
    check(sum(per_backend.values()) == 300, f"backends saw {per_backend} calls")
    check(min(per_backend.values()) >= 100, f"uneven spread {per_backend}")
    counters = report["counters"]
    check(counters["forwarded_requests"] >= 900, f"counters {counters}")
    check(counters["dropped_spoofed_response"] == 0, f"counters {counters}")


def test_backend_down_and_up(workdir, binary):
    addresses = [("b1", "127.0.2.31:5060"), ("b2", "127.0.2.32:5060"), ("b3", "127.0.2.33:5060")]
    backends = {name: uas(workdir, name, addr) for name, addr in addresses}
    with started(*backends.values()):
        shield = Shield(workdir, binary, "127.0.2.10:5060", addresses, health=(300, 200))
        with started(shield):
            warm = uac(workdir, "uac1", "127.0.2.10:5060", "127.0.2.41:5061", calls=90, rate=90)
            with started(warm):
                check(warm.wait(60) == 0, f"warm-up: {warm.failed()} failed")
            killed_at = time.monotonic()
            backends["b2"].kill()
            down_at = shield.wait_for_event(r'"backend_down","detail":"b2', 5)
            # 2 failures x 300 ms interval, answered within 200 ms: about 0.6-1 s.
            check(down_at - killed_at < 2.0, f"b2 marked down after {down_at - killed_at:.2f}s")
            after = uac(workdir, "uac2", "127.0.2.10:5060", "127.0.2.41:5062", calls=150, rate=100)
            with started(after):
                code = after.wait(60)
            check(code == 0 and after.successful() == 150,
                  f"with b2 down: {after.successful()} ok, {after.failed()} failed; "
                  f"{after.errors()}")
            backends["b2"] = uas(workdir, "b2-restarted", "127.0.2.32:5060")
            with started(backends["b2"]):
                shield.wait_for_event(r'"backend_up","detail":"b2', 5)
                again = uac(workdir, "uac3", "127.0.2.10:5060", "127.0.2.41:5063", calls=150,
                            rate=100)
                with started(again):
                    check(again.wait(60) == 0, f"after b2 back: {again.failed()} failed")
            check(len(backends["b2"].call_ids() - {""}) > 0, "restarted b2 got no calls")
        shield.stop()


def test_sighup_adds_backend_keeps_calls(workdir, binary):
    b1 = uas(workdir, "b1", "127.0.3.31:5060")
    b2 = uas(workdir, "b2", "127.0.3.32:5060")
    b3 = uas(workdir, "b3", "127.0.3.33:5060")
    with started(b1, b2, b3):
        shield = Shield(workdir, binary, "127.0.3.10:5060",
                        [("b1", "127.0.3.31:5060"), ("b2", "127.0.3.32:5060")])
        with started(shield):
            # Long calls (3 s) so many are in progress when the backend set changes.
            long_calls = uac(workdir, "uac1", "127.0.3.10:5060", "127.0.3.41:5061", calls=120,
                             rate=60, pause_ms=3000)
            with started(long_calls):
                time.sleep(1.5)
                shield.reload([("b1", "127.0.3.31:5060"), ("b2", "127.0.3.32:5060"),
                               ("b3", "127.0.3.33:5060")])
                check(long_calls.wait(60) == 0,
                      f"calls across reload: {long_calls.failed()} failed")
            before_new = set(b3.call_ids())
            more = uac(workdir, "uac2", "127.0.3.10:5060", "127.0.3.41:5062", calls=150, rate=100)
            with started(more):
                check(more.wait(60) == 0, f"after reload: {more.failed()} failed")
        shield.stop()
    assert_calls_pinned([b1, b2, b3])
    check(len(set(b3.call_ids()) - before_new) > 0, "new backend b3 got no new calls")


def test_record_route_callee_bye(workdir, binary):
    b1 = uas(workdir, "b1", "127.0.4.31:5060", scenario="uas_callee_bye.xml")
    b2 = uas(workdir, "b2", "127.0.4.32:5060", scenario="uas_callee_bye.xml")
    with started(b1, b2):
        shield = Shield(workdir, binary, "127.0.4.10:5060",
                        [("b1", "127.0.4.31:5060"), ("b2", "127.0.4.32:5060")], record_route=True)
        with started(shield):
            caller = uac(workdir, "uac", "127.0.4.10:5060", "127.0.4.41:5061", calls=100,
                         rate=50, scenario="uac_callee_bye.xml")
            with started(caller):
                code = caller.wait(90)
            check(code == 0 and caller.successful() == 100,
                  f"record-route calls: {caller.successful()} ok, {caller.failed()} failed; "
                  f"{caller.errors()}")
        report = shield.stop()
    counters = report["counters"]
    # INVITE and ACK from the caller and the BYE from the callee side all crossed sipshield.
    check(counters["forwarded_requests"] >= 300, f"counters {counters}")
    check(b1.successful() + b2.successful() == 100,
          f"callees: {b1.successful()} + {b2.successful()} calls ok")


def test_stateless_replies(workdir, binary):
    # No backend answers: probes fail, every backend goes down, new requests get a 503.
    shield = Shield(workdir, binary, "127.0.5.10:5060", [("gone", "127.0.5.31:5060")],
                    health=(200, 100))
    with started(shield):
        shield.wait_for_event(r'"backend_down","detail":"gone', 5)
        invite = (b"INVITE sip:bob@example.com SIP/2.0\r\n"
                  b"Via: SIP/2.0/UDP 127.0.5.41:5071;branch=z9hG4bKtest1;rport\r\n"
                  b"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
                  b"To: <sip:bob@example.com>\r\nCall-ID: stateless-1@test\r\n"
                  b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
        answer = udp_exchange(("127.0.5.10", 5060), invite, local=("127.0.5.41", 5071))
        check(answer is not None and answer.startswith(b"SIP/2.0 503 "), f"got {answer!r}")
        check(b"Retry-After: 5\r\n" in answer and b";tag=" in answer.split(b"To:")[1].split(
            b"\r\n")[0], f"503 lacks Retry-After or To-tag: {answer!r}")
        check(b"Call-ID: stateless-1@test\r\n" in answer and b"CSeq: 1 INVITE\r\n" in answer,
              f"503 headers: {answer!r}")
        hops = invite.replace(b"Max-Forwards: 70", b"Max-Forwards: 0")
        answer = udp_exchange(("127.0.5.10", 5060), hops, local=("127.0.5.41", 5072))
        check(answer is not None and answer.startswith(b"SIP/2.0 483 "), f"got {answer!r}")
        forged = (b"SIP/2.0 200 OK\r\n"
                  b"Via: SIP/2.0/UDP 127.0.5.10:5060;branch=z9hG4bK-s21deadbeefdeadbeef\r\n"
                  b"Via: SIP/2.0/UDP 127.0.5.41:5073;branch=z9hG4bKvictim\r\n"
                  b"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: forged@x\r\n"
                  b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
        answer = udp_exchange(("127.0.5.10", 5060), forged, local=("127.0.5.41", 5073),
                              timeout=0.5)
        check(answer is None, f"forged response was forwarded: {answer!r}")
        garbage = udp_exchange(("127.0.5.10", 5060), b"\x00\x01garbage\r\n\r\n", timeout=0.3)
        check(garbage is None, "garbage got an answer")
    report = shield.stop()
    counters = report["counters"]
    check(counters["replied_503"] == 1 and counters["replied_483"] == 1, f"counters {counters}")
    check(counters["dropped_spoofed_response"] == 1, f"counters {counters}")
    check(counters["dropped_malformed"] == 1, f"counters {counters}")


def test_ipv6_calls(workdir, binary):
    b1 = uas(workdir, "b1", "[::1]:5181")
    b2 = uas(workdir, "b2", "[::1]:5182")
    with started(b1, b2):
        shield = Shield(workdir, binary, "[::1]:5170", [("b1", "[::1]:5181"), ("b2", "[::1]:5182")])
        with started(shield):
            caller = uac(workdir, "uac", "[::1]:5170", "[::1]:5191", calls=100, rate=100)
            with started(caller):
                code = caller.wait(60)
            check(code == 0 and caller.successful() == 100,
                  f"IPv6 calls: {caller.successful()} ok, {caller.failed()} failed; "
                  f"{caller.errors()}")
        report = shield.stop()
    assert_calls_pinned([b1, b2])
    check(all(b["requests"] > 0 for b in report["backends"].values()), f"report {report}")


# [server] backend_listen: the caller talks to 127.0.8.10, the backends to 127.0.8.11 only.
SIDE_CLIENT = "127.0.8.10:5060"
SIDE_BACKEND = "127.0.8.11:5060"
DOUBLE_RR = ("Record-Route: <sip:127.0.8.11:5060;lr>\n"
             "Record-Route: <sip:127.0.8.10:5060;lr>\n")


def backend_side_calls(workdir, binary, uac_scenario, uas_scenario):
    """100 record-routed calls through a balancer with a backend side; returns the sipps."""
    b1 = uas(workdir, "b1", "127.0.8.31:5060", scenario=uas_scenario)
    b2 = uas(workdir, "b2", "127.0.8.32:5060", scenario=uas_scenario)
    with started(b1, b2):
        shield = Shield(workdir, binary, SIDE_CLIENT,
                        [("b1", "127.0.8.31:5060"), ("b2", "127.0.8.32:5060")],
                        record_route=True, backend_listen=SIDE_BACKEND)
        with started(shield):
            caller = uac(workdir, "uac", SIDE_CLIENT, "127.0.8.41:5061", calls=100, rate=50,
                         scenario=uac_scenario)
            with started(caller):
                code = caller.wait(90)
            check(code == 0 and caller.successful() == 100,
                  f"backend-side calls: {caller.successful()} ok, {caller.failed()} failed; "
                  f"{caller.errors()}; backends: {b1.errors()} {b2.errors()}")
        shield.stop()
    return caller, b1, b2


def check_sides(caller, backends):
    """What each side saw: backends only our backend-side address in our Via and on top of
    the Record-Routes, the caller never our backend-side Via; our Route elements popped."""
    invites = [text for b in backends for d, text in b.messages()
               if d == "received" and text.startswith("INVITE ")]
    check(len(invites) >= 100, f"{len(invites)} INVITEs at the backends")
    for text in invites:
        lines = text.replace("\r\n", "\n")
        check(lines.split("\n")[1].startswith("Via: SIP/2.0/UDP 127.0.8.11:5060;branch="),
              f"our Via toward a backend: {lines[:300]}")
        check(DOUBLE_RR in lines, f"double Record-Route toward a backend: {lines[:400]}")
    for d, text in caller.messages():
        check("Via: SIP/2.0/UDP 127.0.8.11" not in text,
              f"the caller saw our backend-side Via: {text[:300]}")
        if d == "received" and not text.startswith("SIP/2.0"):
            check(not re.search(r"^Route:.*127\.0\.8\.1[01]", text, re.M),
                  f"our Route elements reached the caller: {text[:300]}")
    for b in backends:
        for d, text in b.messages():
            if d == "received" and not text.startswith("SIP/2.0"):
                check(not re.search(r"^Route:.*127\.0\.8\.1[01]", text, re.M),
                      f"our Route elements reached a backend: {text[:300]}")


def test_backend_side_caller_bye(workdir, binary):
    # The caller's ACK and BYE carry Route: <client side>, <backend side>: both are popped.
    caller, b1, b2 = backend_side_calls(workdir, binary, "uac.xml", "uas.xml")
    check_sides(caller, [b1, b2])


def test_backend_side_callee_bye(workdir, binary):
    # The callee's BYE goes to the backend-side address with Route: <backend side>, <client
    # side>; both are popped and it leaves for the caller from the client side.
    caller, b1, b2 = backend_side_calls(workdir, binary, "uac_callee_bye.xml",
                                        "uas_callee_bye.xml")
    check_sides(caller, [b1, b2])
    byes = [t for d, t in caller.messages() if d == "received" and t.startswith("BYE ")]
    check(len(byes) >= 100, f"{len(byes)} BYEs reached the caller")
    check(b1.successful() + b2.successful() == 100,
          f"callees: {b1.successful()} + {b2.successful()} calls ok")


TESTS = [test_calls_spread_and_pinned, test_backend_down_and_up,
         test_sighup_adds_backend_keeps_calls, test_record_route_callee_bye,
         test_stateless_replies, test_ipv6_calls, test_backend_side_caller_bye,
         test_backend_side_callee_bye]

if __name__ == "__main__":
    binary = sys.argv[1]
    wanted = set(sys.argv[2:])
    selected = [t for t in TESTS if not wanted or t.__name__ in wanted]
    if wanted and not selected:
        raise SystemExit(f"unknown test(s): {wanted}")
    sys.exit(run(selected, binary))
