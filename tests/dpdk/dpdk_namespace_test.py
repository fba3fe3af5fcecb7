"""DPDK backend with real peers: three network namespaces joined by veth pairs (client, the
balancer, backends; addresses from 198.18.0.0/15), the balancer's ends driven by DPDK's
net_af_packet. sipp places real calls through it; ping and ARP are answered by the balancer
itself; a 4 kB INVITE sent in IP fragments is forwarded and fragmented again by the balancer.
(net_af_packet sockets join a fanout group, for which the kernel reassembles fragments before
DPDK sees them; rte_ip_frag reassembly itself is tested on net_ring in dpdk_backend_test.)
TX checksum offload is checked end to end on a net_tap fast-path port whose kernel side takes
the calls (test_tx_checksum_offload).

Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for namespaces); skips (exit 77) with a message
otherwise. Every namespace and process it starts is removed / stopped by pid, always.
Standard library only. Run: dpdk_namespace_test.py SIPSHIELD [TEST...]"""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import harness  # noqa: E402
from harness import Failure, check  # noqa: E402

SKIP = 77
TAG = f"{os.getpid() % 100000}"
NS_CLIENT, NS_LB, NS_BACKEND = f"ssc{TAG}", f"ssl{TAG}", f"ssb{TAG}"
LB_V4, CLIENT_V4 = "198.18.0.1", "198.18.0.2"
LB_BACKSIDE, BACKEND_A, BACKEND_B = "198.18.1.1", "198.18.1.2", "198.18.1.3"
# Backends on the client's link (one-armed: probes and calls leave by port 0, the TAP's port).
PROBED_A, PROBED_B = "198.18.0.3", "198.18.0.4"

# Sets tx-checksumming off on an interface (ethtool -K IF tx off) with SIOCETHTOOL: veth
# otherwise hands af_packet UDP frames whose checksum the kernel has not filled in yet.
TX_CSUM_OFF = r"""
import array, fcntl, socket, struct, sys
value = array.array('B', struct.pack('II', 0x17, 0))  # ETHTOOL_STXCSUM, off
ifreq = struct.pack('16sP16x', sys.argv[1].encode(), value.buffer_info()[0])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(sock.fileno(), 0x8946, ifreq)
"""

RECEIVE_ONE = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[4]))
open(sys.argv[3] + '.ready', 'w').close()
try:
    data, _ = s.recvfrom(65535)
    open(sys.argv[3], 'wb').write(data)
except socket.timeout:
    pass
"""

# The Internet checksum (RFC 1071) for the scripts below, which run as separate processes.
CHECKSUM = r"""
def checksum(b):
    b += b'\0' * (len(b) % 2)
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
"""

# ping without iputils: ICMP echo over a raw socket; exit 0 when every echo was answered.
PING = r"""
import os, socket, struct, sys, time
""" + CHECKSUM + r"""sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.settimeout(2)
ident = os.getpid() & 0xffff
answered = 0
count = int(sys.argv[2])
for seq in range(count):
    data = b'sipshield-dpdk-ping'
    header = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
    packet = struct.pack('!BBHHH', 8, 0, checksum(header + data), ident, seq) + data
    sock.sendto(packet, (sys.argv[1], 0))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            reply = sock.recv(2048)
        except socket.timeout:
            break
        icmp = reply[(reply[0] & 15) * 4:]
        if icmp[0] == 0 and struct.unpack('!HH', icmp[4:8]) == (ident, seq) and \
                icmp[8:] == data and checksum(icmp) == 0:
            answered += 1
            break
print(f'{answered}/{count} answered')
sys.exit(0 if answered == count else 1)
"""

SEND_ONE = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.sendto(open(sys.argv[5], 'rb').read(), (sys.argv[3], int(sys.argv[4])))
"""


def sh(*args, check_rc=True, timeout=20):
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check_rc and result.returncode != 0:
        raise Failure(f"{' '.join(args)}: rc {result.returncode}: {result.stderr.strip()}")
    return result


def in_ns(ns, *args):
    return ["ip", "netns", "exec", ns] + list(args)


class Topology:
    """client ns (c0) <-> lb ns (l0, l1: DPDK af_packet) <-> backend ns (b0)."""

    def __enter__(self):
        self.made = []
        try:
            for ns in (NS_CLIENT, NS_LB, NS_BACKEND):
                sh("ip", "netns", "add", ns)
                self.made.append(ns)
            sh("ip", "-n", NS_CLIENT, "link", "add", "c0", "type", "veth", "peer", "name", "l0",
               "netns", NS_LB)
            sh("ip", "-n", NS_BACKEND, "link", "add", "b0", "type", "veth", "peer", "name",
               "l1", "netns", NS_LB)
            # The balancer's kernel must stay out of the way: no addresses, no IPv6 chatter.
            sh(*in_ns(NS_LB, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"))
            sh(*in_ns(NS_LB, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"))
            for dev in ("l0", "l1", "lo"):
                sh("ip", "-n", NS_LB, "link", "set", dev, "up")
            sh("ip", "-n", NS_CLIENT, "addr", "add", f"{CLIENT_V4}/24", "dev", "c0")
            sh("ip", "-n", NS_BACKEND, "addr", "add", f"{BACKEND_A}/24", "dev", "b0")
            sh("ip", "-n", NS_BACKEND, "addr", "add", f"{BACKEND_B}/24", "dev", "b0")
            for ns, dev in ((NS_CLIENT, "c0"), (NS_BACKEND, "b0")):
                sh("ip", "-n", ns, "link", "set", dev, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
                sh(*in_ns(ns, sys.executable, "-c", TX_CSUM_OFF, dev))
            sh("ip", "-n", NS_BACKEND, "route", "add", "198.18.0.0/24", "via", LB_BACKSIDE)
            self.lb_mac = self.mac(NS_LB, "l0")
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    @staticmethod
    def mac(ns, dev):
        out = sh("ip", "-n", ns, "-o", "link", "show", dev).stdout
        return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)

    def __exit__(self, *exc):
        for ns in reversed(self.made):
            sh("ip", "netns", "del", ns, check_rc=False)
        self.made = []
        return False


class NsSipp(harness.Sipp):
    """harness.Sipp, run inside a namespace."""

    def __init__(self, ns, workdir, name, args):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        cmd = in_ns(ns, "sipp", *args, "-buff_size", "4194304", "-aa", "-nostdin",
                    "-trace_err", "-trace_stat", "-fd", "1", "-trace_msg")
        self.out = open(os.path.join(self.dir, "stdout.txt"), "w")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.out,
                                     stderr=subprocess.STDOUT)


class DpdkShield(harness.Shield):
    """sipshield with io = "dpdk" in the balancer namespace, one worker, two af_packet ports;
    with `tap` set, port 0 gets an exception path to the kernel through TAP interface `tap`;
    with `probes` = (interval_ms, timeout_ms), OPTIONS health probes are on (else off)."""

    def __init__(self, workdir, binary, backends, tap=None, workers=1, probes=None,
                 backend_listen=None, record_route=False):
        self.backends = backends
        self.tap = tap
        self.worker_count = workers
        self.probes = probes
        self.backend_side = backend_listen
        # A control socket when there are several workers (per-worker counters come from it)
        # or probes (backend states come from it).
        self.socket_path = (os.path.join(workdir, "control.sock")
                            if workers > 1 or probes else "")
        super().__init__(workdir, binary, f"{LB_V4}:5060", backends, workers=workers,
                         record_route=record_route)

    def write_config(self, backends):
        cpu = os.sched_getaffinity(0)
        eal = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", str(min(cpu)),
               "--log-level=*:warning", "--no-telemetry"]
        # One RX/TX queue pair per worker on each port; the kernel's packet fanout hash spreads
        # flows over them (af_packet's RSS).
        qpairs = f",qpairs={self.worker_count}" if self.worker_count > 1 else ""
        lines = ["[server]", 'io = "dpdk"', f'listen = ["{LB_V4}:5060"]',
                 f"workers = {self.worker_count}"]
        if self.backend_side:
            lines.append(f'backend_listen = ["{self.backend_side}"]')
        lines += ["[balancer]", f'secret = "{harness.SECRET}"',
                  f"record_route = {'true' if self.record_route else 'false'}",
                  "[health]"]
        if self.probes:
            lines += ["enabled = true", f"interval_ms = {self.probes[0]}",
                      f"timeout_ms = {self.probes[1]}", "failures_to_down = 2",
                      "successes_to_up = 2"]
        else:
            lines += ["enabled = false"]
        lines += ["[control]", f'socket = "{self.socket_path}"',
                 "[dpdk]", "eal_args = [" + ", ".join(f'"{a}"' for a in eal) + "]",
                 f'addresses = ["{LB_V4}/24@0", "{LB_BACKSIDE}/24@1"]', "mtu = 1500",
                 # framesz 8192: the kernel hands af_packet fanout groups whole datagrams
                 # (it reassembles fragments first), so frames can exceed the MTU.
                 "[[dpdk.ports]]",
                 'device = "net_af_packet0,iface=l0,framesz=8192,blocksz=8192,framecnt=256'
                 + qpairs + '"',
                 "max_rx_frame = 8192"]
        if self.tap:
            lines += ['exception_path = "tap"', f'exception_name = "{self.tap}"']
        lines += [
                 "[[dpdk.ports]]",
                 'device = "net_af_packet1,iface=l1,framesz=8192,blocksz=8192,framecnt=256'
                 + qpairs + '"',
                 "max_rx_frame = 8192"]
        for name, address in backends:
            lines += ["[[backend]]", f'name = "{name}"', f'address = "{address}"']
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")


# harness.Shield starts the binary directly; the balancer must run inside its namespace.
def uas_backend(workdir, ns, name, address):
    """A sipp UAS backend on address:5060 inside namespace `ns` (started, not yet waited on)."""
    return NsSipp(ns, workdir, name, ["-sf", os.path.join(harness.SCENARIOS, "uas.xml"),
                                      "-i", address, "-p", "5060"])


def start_shield(workdir, binary, backends, tap=None, workers=1, probes=None,
                 shield_class=None, ns=NS_LB, **options):
    original = subprocess.Popen

    def popen(cmd, *args, **kwargs):
        if cmd and cmd[0] == binary:
            cmd = in_ns(ns, *cmd)
        return original(cmd, *args, **kwargs)

    subprocess.Popen = popen
    try:
        return (shield_class or DpdkShield)(workdir, binary, backends, tap, workers, probes,
                                            **options)
    finally:
        subprocess.Popen = original


def stop_all(shield, procs):
    """Stops the balancer (unless a test stopped it already) and the sipps still running."""
    if shield is not None:
        shield.stop()
    for p in procs:
        if p.proc.poll() is None:
            p.stop()


def two_backends(workdir):
    """The two sipp UAS backends in the backend namespace (started): their config entries and
    their processes."""
    return ([("a", f"{BACKEND_A}:5060"), ("b", f"{BACKEND_B}:5060")],
            [uas_backend(workdir, NS_BACKEND, "uas_a", BACKEND_A),
             uas_backend(workdir, NS_BACKEND, "uas_b", BACKEND_B)])


def place_calls(workdir, procs, calls, sipp_args=("-p", "5070"), ns=NS_CLIENT,
                client=CLIENT_V4, target=LB_V4):
    """`calls` sipp calls from `client` in namespace `ns` (default: the client namespace) to
    the balancer at `target`:5060 (added to `procs` for clean-up); checks that every one
    succeeded and returns the caller."""
    uac = NsSipp(ns, workdir, "uac",
                 ["-sf", os.path.join(harness.SCENARIOS, "uac.xml"), f"{target}:5060",
                  "-i", client, *sipp_args, "-m", str(calls), "-r", "20", "-d", "100",
                  "-timeout", "60"])
    procs.append(uac)
    uac.wait(90)
    check(uac.successful() == calls and uac.failed() == 0,
          f"calls: {uac.successful()} ok, {uac.failed()} failed of {calls}; {uac.errors()}")
    return uac


def test_calls_arp_and_ping(workdir, binary):
    """Real sipp calls client -> DPDK balancer -> two sipp backends; ARP and ping answered."""
    with Topology() as topo:
        backends, procs = two_backends(workdir)
        shield = None
        try:
            shield = start_shield(workdir, binary, backends)
            ping = sh(*in_ns(NS_CLIENT, sys.executable, "-c", PING, LB_V4, "3"), check_rc=False)
            check(ping.returncode == 0, f"ping through DPDK: {ping.stdout}{ping.stderr}")
            neigh = sh("ip", "-n", NS_CLIENT, "neigh", "show", LB_V4).stdout
            check(topo.lb_mac in neigh, f"client's ARP entry {neigh!r} != {topo.lb_mac}")
            calls = 40
            place_calls(workdir, procs, calls)
            a, b = procs[0].call_ids(), procs[1].call_ids()
            check(a and b, f"both backends must take calls: a={len(a)} b={len(b)}")
            check(not (a & b), "a call reached both backends")
            neigh = sh("ip", "-n", NS_BACKEND, "neigh", "show", LB_BACKSIDE).stdout
            check(Topology.mac(NS_LB, "l1") in neigh, f"backend ARP entry: {neigh!r}")
            report = shield.stop()
            events = shield.events()
            shield = None
            counters = report["counters"]
            check(counters["forwarded_requests"] >= 3 * calls, f"counters {counters}")
            # Two responses per call through the balancer: the 200 to the INVITE and to the BYE.
            check(counters["forwarded_responses"] >= 2 * calls, f"counters {counters}")
            # Requests and responses were rewritten in the mbufs they arrived in.
            dpdk = dict(re.findall(r"(\w+)=(\d+)",
                                   re.search(r"dpdk_counters.*", events).group(0)))
            forwarded = counters["forwarded_requests"] + counters["forwarded_responses"]
            check(int(dpdk.get("tx_in_place", 0)) == forwarded and "tx_copied" not in dpdk,
                  f"in place {dpdk.get('tx_in_place')} of {forwarded}: {dpdk}")
        finally:
            if shield is not None:
                shield.stop()
            for p in procs:
                p.stop()


def test_fragmented_invite(workdir, binary):
    """A 4 kB INVITE leaves the client in fragments, reaches the balancer whole (af_packet
    fanout defrag), is forwarded with our Via, and fragmented by the balancer to the backend
    (whose kernel reassembles it)."""
    with Topology():
        got = os.path.join(workdir, "received.sip")
        receiver = subprocess.Popen(in_ns(NS_BACKEND, sys.executable, "-c", RECEIVE_ONE,
                                          BACKEND_A, "5062", got, "15"))
        shield = None
        try:
            shield = start_shield(workdir, binary, [("a", f"{BACKEND_A}:5062")])
            deadline = time.monotonic() + 5
            while not os.path.exists(got + ".ready") and time.monotonic() < deadline:
                time.sleep(0.05)
            padding = "".join(f"a=x-pad:{i:04d}-0123456789abcdef0123456789abcdef\r\n"
                              for i in range(90))
            sdp = ("v=0\r\no=c 1 1 IN IP4 198.18.0.2\r\ns=-\r\nc=IN IP4 198.18.0.2\r\n"
                   "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n" + padding)
            invite = ("INVITE sip:bob@198.18.0.1 SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 198.18.0.2:5070;branch=z9hG4bKfrag1\r\n"
                      "Max-Forwards: 70\r\nFrom: <sip:alice@x>;tag=f1\r\nTo: <sip:bob@x>\r\n"
                      "Call-ID: fragmented-invite@198.18.0.2\r\nCSeq: 1 INVITE\r\n"
                      "Contact: <sip:alice@198.18.0.2:5070>\r\n"
                      "Content-Type: application/sdp\r\n"
                      f"Content-Length: {len(sdp)}\r\n\r\n{sdp}").encode()
            check(len(invite) > 4000, "the INVITE must need several fragments")
            payload = os.path.join(workdir, "invite.sip")
            with open(payload, "wb") as f:
                f.write(invite)
            # Resolve the balancer first so the fragments are not held behind ARP.
            sh(*in_ns(NS_CLIENT, sys.executable, "-c", PING, LB_V4, "1"), check_rc=False)
            sh(*in_ns(NS_CLIENT, sys.executable, "-c", SEND_ONE, CLIENT_V4, "5070", LB_V4,
                      "5060", payload))
            receiver.wait(20)
            check(os.path.exists(got), "the backend received nothing")
            with open(got, "rb") as f:
                data = f.read()
            check(data.startswith(b"INVITE sip:bob@198.18.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP "
                                  + LB_V4.encode() + b":5060;branch=z9hG4bK"),
                  f"no Via of ours on top: {data[:200]!r}")
            check(b"Max-Forwards: 69\r\n" in data, "Max-Forwards not decremented")
            check(data.endswith(sdp.encode()), "the body changed on the way")
            report = shield.stop()
            shield = None
            check(report["counters"]["forwarded_requests"] == 1, f"report {report}")
        finally:
            if shield is not None:
                shield.stop()
            if receiver.poll() is None:
                receiver.kill()
                receiver.wait()


# A TCP server and a UDP socket on the balancer's address, opened by its kernel on the TAP:
# writes what each received into FILE.tcp / FILE.udp (and answers the TCP client).
KERNEL_SERVER = r"""
import select, socket, sys, time
address, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((address, port))
tcp.listen(1)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((address, port))
open(out + '.ready', 'w').close()
deadline = time.monotonic() + float(sys.argv[4])
pending = {tcp, udp}
datagrams = 0
while pending and time.monotonic() < deadline:
    ready, _, _ = select.select(list(pending), [], [], 0.2)
    for s in ready:
        if s is udp:
            # Two datagrams: one that fits a frame, then one the sender's kernel fragments.
            data, _ = udp.recvfrom(65535)
            datagrams += 1
            open(out + ('.udp' if datagrams == 1 else '.udp2'), 'wb').write(data)
            if datagrams < 2:
                continue
        else:
            conn, _ = tcp.accept()
            conn.settimeout(5)
            data = conn.recv(2048)
            conn.sendall(b'kernel saw: ' + data)
            conn.close()
            open(out + '.tcp', 'wb').write(data)
        pending.discard(s)
"""

TCP_CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(sys.argv[3].encode())
print(s.recv(2048).decode())
"""

UDP_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
"""


def test_exception_path(workdir, binary):
    """exception_path = "tap": a TCP connection and UDP datagrams (one of them fragmented on
    the wire) to another port of the balancer's address reach sockets its kernel opened on
    the TAP (the answers go back out through DPDK), while SIP on 5060 is still forwarded by
    the fast path."""
    with Topology():
        tap = f"sst{TAG}"
        got = os.path.join(workdir, "kernel")
        sip = os.path.join(workdir, "sip-received")
        receiver = subprocess.Popen(in_ns(NS_BACKEND, sys.executable, "-c", RECEIVE_ONE,
                                          BACKEND_A, "5062", sip, "20"))
        shield = None
        server = None
        try:
            shield = start_shield(workdir, binary, [("a", f"{BACKEND_A}:5062")], tap=tap)
            link = sh("ip", "-n", NS_LB, "-o", "link", "show", tap, check_rc=False)
            check(link.returncode == 0, f"no TAP {tap} in the balancer namespace: {link.stderr}")
            check(Topology.mac(NS_LB, "l0") in link.stdout,
                  f"the TAP must carry the port's MAC: {link.stdout}")
            # l0 also feeds the balancer's own kernel (af_packet only listens in): strict
            # reverse-path filtering there (the client's subnet is routed via the TAP) keeps
            # that kernel from answering on l0 directly, so only the TAP path can pass.
            for conf in ("all", "l0"):
                sh(*in_ns(NS_LB, "sysctl", "-qw", f"net.ipv4.conf.{conf}.rp_filter=1"))
            sh("ip", "-n", NS_LB, "addr", "add", f"{LB_V4}/24", "dev", tap)
            sh("ip", "-n", NS_LB, "link", "set", tap, "up")
            server = subprocess.Popen(in_ns(NS_LB, sys.executable, "-c", KERNEL_SERVER, LB_V4,
                                            "2222", got, "20"))
            deadline = time.monotonic() + 5
            while not os.path.exists(got + ".ready") and time.monotonic() < deadline:
                time.sleep(0.05)
            client = sh(*in_ns(NS_CLIENT, sys.executable, "-c", TCP_CLIENT, LB_V4, "2222",
                               "hello over tcp"), check_rc=False, timeout=20)
            check(client.returncode == 0 and "kernel saw: hello over tcp" in client.stdout,
                  f"TCP through the exception path: {client.stdout}{client.stderr}")
            sh(*in_ns(NS_CLIENT, sys.executable, "-c", UDP_CLIENT, LB_V4, "2222",
                      "hello over udp"))
            # 3000 bytes: fragmented on the 1500-byte veth, whole again when af_packet hands it
            # over (fanout defrag), then cut to the TAP's MTU for the kernel, which would drop
            # the frame whole (dpdk_backend_test covers fragments DPDK reassembles itself).
            big = "fragmented over udp " + "x" * 2980
            sh(*in_ns(NS_CLIENT, sys.executable, "-c", UDP_CLIENT, LB_V4, "2222", big))
            server.wait(10)
            for kind, text in (("tcp", b"hello over tcp"), ("udp", b"hello over udp"),
                               ("udp2", big.encode())):
                path = f"{got}.{kind}"
                check(os.path.exists(path), f"the kernel's {kind} socket received nothing")
                with open(path, "rb") as f:
                    check(f.read() == text, f"{kind}: wrong bytes")
            # SIP to the listen port still takes the fast path, not the kernel.
            while not os.path.exists(sip + ".ready") and time.monotonic() < deadline + 5:
                time.sleep(0.05)
            message = os.path.join(workdir, "options.sip")
            with open(message, "wb") as f:
                f.write(b"OPTIONS sip:198.18.0.1 SIP/2.0\r\n"
                        b"Via: SIP/2.0/UDP 198.18.0.2:5070;branch=z9hG4bKexc1\r\n"
                        b"Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
                        b"Call-ID: exception-path@198.18.0.2\r\nCSeq: 1 OPTIONS\r\n"
                        b"Content-Length: 0\r\n\r\n")
            sh(*in_ns(NS_CLIENT, sys.executable, "-c", SEND_ONE, CLIENT_V4, "5070", LB_V4,
                      "5060", message))
            receiver.wait(20)
            check(os.path.exists(sip), "the SIP message was not forwarded")
            report = shield.stop()
            events = shield.events()
            shield = None
            check(report["counters"]["forwarded_requests"] == 1, f"report {report}")
            dpdk = dict(re.findall(r"(\w+)=(\d+)",
                                   re.search(r"dpdk_counters.*", events).group(0)))
            for name in ("to_kernel", "from_kernel", "tx_in_place"):
                check(int(dpdk.get(name, 0)) > 0, f"dpdk counter {name}: {dpdk}")
        finally:
            if shield is not None:
                shield.stop()
            for proc in (server, receiver):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()


def backend_states(ctl, socket_path):
    """{name: (state, consecutive probe successes)} from `sipshieldctl --json backends`."""
    result = subprocess.run([ctl, "-s", socket_path, "--json", "backends"],
                            capture_output=True, text=True, timeout=10)
    check(result.returncode == 0, f"sipshieldctl backends: {result.stderr}")
    return {b["name"]: (b["state"], b["health"]["consecutive_successes"])
            for b in json.loads(result.stdout)["backends"]}


def wait_for_states(ctl, shield, wanted, timeout):
    """Polls the backend states until `wanted(states)` holds; returns the monotonic time then.
    Fails with the last states after `timeout` s."""
    deadline = time.monotonic() + timeout
    states = {}
    while time.monotonic() < deadline:
        states = backend_states(ctl, shield.socket_path)
        if wanted(states):
            return time.monotonic()
        check(shield.proc.poll() is None, f"sipshield exited:\n{shield.events()}")
        time.sleep(0.05)
    raise Failure(f"backend states {states} not reached within {timeout}s")


def test_health_probes(workdir, binary):
    """OPTIONS health probes under DPDK through the exception path: the prober's kernel socket
    is bound (freebind) to the listen address before the operator puts that address on the
    TAP; its probes leave through the TAP and DPDK, the answers (to its ephemeral port) come
    back through the TAP. Both sipp backends are seen up; a killed one is marked down within
    3 s and up again within 3 s of its restart."""
    ctl = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(binary))), "sipshieldctl")
    check(os.path.exists(ctl), f"sipshieldctl not found beside {binary}: {ctl}")
    with Topology():
        for address in (PROBED_A, PROBED_B):
            sh("ip", "-n", NS_CLIENT, "addr", "add", f"{address}/24", "dev", "c0")
        tap = f"ssh{TAG}"

        procs = [uas_backend(workdir, NS_CLIENT, "uas_a", PROBED_A),
                 uas_backend(workdir, NS_CLIENT, "uas_b", PROBED_B)]
        shield = None
        try:
            shield = start_shield(workdir, binary, [("a", f"{PROBED_A}:5060"),
                                                    ("b", f"{PROBED_B}:5060")],
                                  tap=tap, probes=(200, 150))
            check("health_probes_off" not in shield.events(),
                  f"probes were switched off:\n{shield.events()}")
            # As test_exception_path: strict reverse-path filtering keeps the balancer
            # namespace's kernel from taking the answers straight off l0 (af_packet only
            # listens in there); then the operator's step: the listen address on the TAP.
            for conf in ("all", "l0"):
                sh(*in_ns(NS_LB, "sysctl", "-qw", f"net.ipv4.conf.{conf}.rp_filter=1"))
            sh("ip", "-n", NS_LB, "addr", "add", f"{LB_V4}/24", "dev", tap)
            sh("ip", "-n", NS_LB, "link", "set", tap, "up")
            configured = time.monotonic()
            # Up on probes answered (not just the initial state): two successes in a row.
            both_up = wait_for_states(ctl, shield, lambda s: all(
                s.get(n, ("", 0))[0] == "up" and s[n][1] >= 2 for n in ("a", "b")), 10)
            print(f"both up {both_up - configured:.2f}s after the TAP got its address")
            killed = time.monotonic()
            procs[1].kill()  # by pid: `ip netns exec` execs sipp itself
            procs[1].out.close()
            down = wait_for_states(ctl, shield, lambda s: s["b"][0] == "down", 5)
            print(f"b down {down - killed:.2f}s after its sipp was killed")
            check(down - killed < 3.0, f"b marked down after {down - killed:.2f}s")
            check(backend_states(ctl, shield.socket_path)["a"][0] == "up",
                  "a must stay up while b is down")
            restarted = time.monotonic()
            procs.append(uas_backend(workdir, NS_CLIENT, "uas_b_again", PROBED_B))
            up = wait_for_states(ctl, shield, lambda s: s["b"][0] == "up", 5)
            print(f"b up {up - restarted:.2f}s after its sipp was restarted")
            check(up - restarted < 3.0, f"b marked up after {up - restarted:.2f}s")
            report = shield.stop()
            events = shield.events()
            shield = None
            check(re.search(r'"backend_down","detail":"b \(probe', events),
                  f"no probe-driven backend_down for b:\n{events}")
            dpdk = dict(re.findall(r"(\w+)=(\d+)",
                                   re.search(r"dpdk_counters.*", events).group(0)))
            for name in ("to_kernel", "from_kernel"):
                check(int(dpdk.get(name, 0)) > 0, f"dpdk counter {name}: {dpdk}")
            check(report["counters"].get("forwarded_requests", 0) == 0,
                  f"probe traffic must not take the fast path: {report['counters']}")
            probed = [c for c in procs[0].call_ids() if c.startswith("sipshield-probe-")]
            check(probed, "backend a never saw an OPTIONS probe")
        finally:
            stop_all(shield, procs)


def test_two_workers(workdir, binary):
    """Two workers, two queue pairs per port (af_packet fanout as RSS): calls from many
    source ports (sipp -t un) are spread over both workers, both carry traffic, and every
    call still reaches one backend only (the affinity table is shared)."""
    ctl = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(binary))), "sipshieldctl")
    check(os.path.exists(ctl), f"sipshieldctl not found beside {binary}: {ctl}")
    with Topology():
        backends, procs = two_backends(workdir)
        shield = None
        try:
            shield = start_shield(workdir, binary, backends, workers=2)
            sh(*in_ns(NS_CLIENT, sys.executable, "-c", PING, LB_V4, "1"), check_rc=False)
            calls = 40
            place_calls(workdir, procs, calls, sipp_args=("-t", "un", "-max_socket", "200"))
            a, b = procs[0].call_ids(), procs[1].call_ids()
            check(a and b, f"both backends must take calls: a={len(a)} b={len(b)}")
            check(not (a & b), "a call reached both backends")
            stats = subprocess.run([ctl, "-s", shield.socket_path, "--json", "stats"],
                                   capture_output=True, text=True, timeout=20)
            check(stats.returncode == 0, f"sipshieldctl stats: {stats.stderr}")
            workers = json.loads(stats.stdout)["workers"]
            received = [w["counters"]["received"] for w in workers]
            print(f"received per worker: {received}")
            check(len(received) == 2 and min(received) >= calls // 4,
                  f"both workers must carry traffic: received per worker {received}")
            report = shield.stop()
            shield = None
            counters = report["counters"]
            check(counters["forwarded_requests"] >= 3 * calls, f"counters {counters}")
        finally:
            if shield is not None:
                shield.stop()
            for p in procs:
                p.stop()


def test_backend_side(workdir, binary):
    """backend_listen on the balancer's second port (198.18.1.1, the backends' link), record-
    route on: calls succeed, the backends get every INVITE from our backend-side address (our
    Via, both Record-Routes with that side on top) and the caller never sees it in a Via."""
    with Topology():
        backends, procs = two_backends(workdir)
        shield = None
        try:
            shield = start_shield(workdir, binary, backends, backend_listen=f"{LB_BACKSIDE}:5060",
                                  record_route=True)
            sh(*in_ns(NS_CLIENT, sys.executable, "-c", PING, LB_V4, "1"), check_rc=False)
            calls = 40
            uac = place_calls(workdir, procs, calls)
            invites = [t.replace("\r\n", "\n") for p in procs[:2] for d, t in p.messages()
                       if d == "received" and t.startswith("INVITE ")]
            check(len(invites) >= calls, f"{len(invites)} INVITEs at the backends")
            double_rr = (f"Record-Route: <sip:{LB_BACKSIDE}:5060;lr>\n"
                         f"Record-Route: <sip:{LB_V4}:5060;lr>\n")
            for text in invites:
                check(text.split("\n")[1].startswith(f"Via: SIP/2.0/UDP {LB_BACKSIDE}:5060;"),
                      f"our Via toward a backend: {text[:300]}")
                check(double_rr in text, f"double Record-Route: {text[:400]}")
            check(all(f"Via: SIP/2.0/UDP {LB_BACKSIDE}" not in t for _, t in uac.messages()),
                  "the caller saw our backend-side Via")
            report = shield.stop()
            shield = None
            check(report["counters"]["forwarded_requests"] >= 3 * calls,
                  f"counters {report['counters']}")
        finally:
            stop_all(shield, procs)


# --- TX checksum offload on a port that really offloads (net_tap) ---
# One namespace holds the balancer and, on the kernel side of its fast-path port, the caller
# and both backends (one-armed). The port is either net_tap (the TAP's kernel side is the
# wire; net_tap offers IPv4/UDP TX checksum offload and finishes the checksums in its TX path)
# or, for contrast, net_af_packet on a veth pair (no checksum offload: software checksums).
NS_WIRE = f"ssk{TAG}"
WIRE_LB, WIRE_CLIENT, WIRE_A, WIRE_B = "198.18.2.1", "198.18.2.2", "198.18.2.3", "198.18.2.4"
WIRE_KERNEL_MAC = "02:00:c6:12:02:02"  # the TAP's kernel side (net_tap gives it the port's)

# Sets one ethtool flag on an interface with SIOCETHTOOL: argv = IF, command (hex), value.
ETHTOOL_SET = r"""
import array, fcntl, socket, struct, sys
value = array.array('B', struct.pack('II', int(sys.argv[2], 16), int(sys.argv[3])))
ifreq = struct.pack('16sP16x', sys.argv[1].encode(), value.buffer_info()[0])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(sock.fileno(), 0x8946, ifreq)
"""
ETHTOOL_SRXCSUM, ETHTOOL_STXCSUM = "0x15", "0x17"

# Raw capture (AF_PACKET) of the frames the balancer's port hands the kernel on IF: for every
# IPv4/UDP frame from SOURCE, recomputes the IPv4 header checksum and the UDP checksum (over
# the pseudo-header, as the receiving kernel does) from the bytes on the wire. Runs until
# OUT.stop appears or SECONDS pass; writes a JSON summary to OUT. argv: IF SOURCE OUT SECONDS.
CAPTURE = r"""
import json, os, socket, struct, sys, time
""" + CHECKSUM + r"""iface, source, out = sys.argv[1], socket.inet_aton(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.bind((iface, 3))
sock.settimeout(0.2)
open(out + '.ready', 'w').close()
summary = {'frames': 0, 'requests': 0, 'responses': 0, 'fragments': 0, 'reassembled': 0,
           'ip_bad': 0, 'udp_bad': 0, 'udp_none': 0, 'bad': []}
pending = {}  # (addresses, IP id) -> ({offset: bytes}, end or None)
deadline = time.monotonic() + float(sys.argv[4])
while time.monotonic() < deadline and not os.path.exists(out + '.stop'):
    try:
        frame, address = sock.recvfrom(65535)
    except socket.timeout:
        continue
    if address[2] == socket.PACKET_OUTGOING or len(frame) < 14 + 20 + 8:
        continue
    if struct.unpack('!H', frame[12:14])[0] != 0x0800:
        continue
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17 or ip[12:16] != source:
        continue
    summary['frames'] += 1
    ip_ok = checksum(ip[:ihl]) == 0
    summary['ip_bad'] += not ip_ok
    body = ip[ihl:struct.unpack('!H', ip[2:4])[0]]
    flags = struct.unpack('!H', ip[6:8])[0]
    udp = body
    if flags & 0x3fff:  # MF or an offset: check the UDP checksum once the datagram is whole
        summary['fragments'] += 1
        key = (ip[12:20], ip[4:6])
        parts, end = pending.get(key, ({}, None))
        parts[(flags & 0x1fff) * 8] = body
        if not flags & 0x2000:
            end = (flags & 0x1fff) * 8 + len(body)
        pending[key] = (parts, end)
        udp = b''
        while end is not None and len(udp) < end and len(udp) in parts:
            udp += parts[len(udp)]
        if end is None or len(udp) != end:
            if not ip_ok and len(summary['bad']) < 3:
                summary['bad'].append(frame[:64].hex())
            continue
        del pending[key]
        summary['reassembled'] += 1
    length, field = struct.unpack('!HH', udp[4:8])
    pseudo = ip[12:20] + struct.pack('!BBH', 0, 17, length)
    summary['udp_none'] += field == 0
    udp_ok = field != 0 and length == len(udp) and checksum(pseudo + udp) == 0
    summary['responses' if udp[8:].startswith(b'SIP/2.0 ') else 'requests'] += 1
    summary['udp_bad'] += not udp_ok
    if not (ip_ok and udp_ok) and len(summary['bad']) < 3:
        summary['bad'].append(frame[:64].hex())
summary['incomplete'] = len(pending)
json.dump(summary, open(out + '.tmp', 'w'))
os.replace(out + '.tmp', out)
"""

# Sends FILE from LOCAL:PORT to TARGET:PORT and waits up to SECONDS for a SIP response; prints
# its first line, exit 0 on a 200. argv: LOCAL PORT TARGET TPORT FILE SECONDS.
SEND_AND_WAIT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[6]))
s.sendto(open(sys.argv[5], 'rb').read(), (sys.argv[3], int(sys.argv[4])))
try:
    answer = s.recv(65535)
except socket.timeout:
    sys.exit('no answer')
print(answer.split(b'\r\n')[0].decode(errors='replace'))
sys.exit(0 if answer.startswith(b'SIP/2.0 200 ') else 1)
"""


class WireShield(DpdkShield):
    """sipshield with io = "dpdk", one worker and one fast-path port `device` (net_tap or
    net_af_packet) holding WIRE_LB; no exception path, probes off."""

    def __init__(self, workdir, binary, backends, tap=None, workers=1, probes=None,
                 device=None, offload_allowed=True):
        self.device = device
        self.offload_allowed = offload_allowed
        super().__init__(workdir, binary, backends, tap, workers, probes)

    def write_config(self, backends):
        cpu = os.sched_getaffinity(0)
        eal = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", str(min(cpu)),
               "--log-level=*:warning", "--no-telemetry"]
        lines = ["[server]", 'io = "dpdk"', f'listen = ["{WIRE_LB}:5060"]', "workers = 1",
                 "[balancer]", f'secret = "{harness.SECRET}"', "record_route = false",
                 "[health]", "enabled = false", "[control]", 'socket = ""',
                 "[dpdk]", "eal_args = [" + ", ".join(f'"{a}"' for a in eal) + "]",
                 f'addresses = ["{WIRE_LB}/24@0"]', "mtu = 1500",
                 f"tx_checksum_offload = {'true' if self.offload_allowed else 'false'}",
                 "[[dpdk.ports]]", f'device = "{self.device}"']
        if "framesz=" in self.device:
            lines.append("max_rx_frame = 8192")
        for name, address in backends:
            lines += ["[[backend]]", f'name = "{name}"', f'address = "{address}"']
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")


def checksum_errors(ns):
    """The receive checksum error counters of namespace `ns`'s kernel (/proc/net/snmp and
    /proc/net/netstat, which show the reading process's namespace)."""
    out = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = sh(*in_ns(ns, "cat", path)).stdout.splitlines()
        for names, values in zip(lines[::2], lines[1::2]):
            group = names.split(":")[0]
            for name, value in zip(names.split()[1:], values.split()[1:]):
                if name in ("InCsumErrors", "InErrors", "InHdrErrors"):
                    out[f"{group}.{name}"] = int(value)
    return out


def checksum_leg(workdir, binary, tap, offload_allowed=True):
    """Calls through the balancer whose only port is net_tap (`tap`) or net_af_packet on a
    veth. The port offloads the IPv4 and UDP checksums only on net_tap with `offload_allowed`
    (the config's tx_checksum_offload); else they are computed in software. The kernel side
    receives every forwarded datagram: calls must complete, each captured frame must carry
    valid IPv4 header and UDP checksums, and the kernel's checksum error counters must not
    grow."""
    offload = tap and offload_allowed
    kind = "net_tap" if tap else "net_af_packet"
    workdir = os.path.join(workdir, kind + ("" if offload_allowed else "_offload_off"))
    os.makedirs(workdir)
    wire = f"ssw{TAG}"  # the kernel's interface: the TAP itself, or the veth peer
    sh("ip", "netns", "add", NS_WIRE)
    procs, shield, capture = [], None, None
    try:
        for conf in ("all", "default"):
            sh(*in_ns(NS_WIRE, "sysctl", "-qw", f"net.ipv6.conf.{conf}.disable_ipv6=1"))
        sh("ip", "-n", NS_WIRE, "link", "set", "lo", "up")
        if tap:
            device = f"net_tap0,iface={wire}"
        else:
            port = f"ssv{TAG}"
            sh("ip", "-n", NS_WIRE, "link", "add", wire, "type", "veth", "peer", "name", port)
            sh("ip", "-n", NS_WIRE, "link", "set", port, "up")
            # The kernel must compute what it sends (af_packet reads frames before any
            # checksum is filled in) and verify what it receives (veth would vouch for it).
            for command in (ETHTOOL_STXCSUM, ETHTOOL_SRXCSUM):
                sh(*in_ns(NS_WIRE, sys.executable, "-c", ETHTOOL_SET, wire, command, "0"))
            # As in Topology: af_packet fanout hands over datagrams reassembled.
            device = f"net_af_packet0,iface={port},framesz=8192,blocksz=8192,framecnt=256"
        backends = [("a", f"{WIRE_A}:5060"), ("b", f"{WIRE_B}:5060")]
        shield = start_shield(workdir, binary, backends, shield_class=WireShield, ns=NS_WIRE,
                              device=device, offload_allowed=offload_allowed)
        line = re.search(rf"dpdk port \d+ \({kind}0, {kind}\): tx checksum offload: (.*)",
                         shield.events())
        check(line is not None, f"no tx checksum offload line for {kind}:\n{shield.events()}")
        want = "ipv4 on, udp on" if offload else "ipv4 off, udp off"
        check(line.group(1).strip() == want, f"{kind}: offload {line.group(1)!r}, want {want}")
        if tap:
            # net_tap gives the TAP's kernel side the port's own MAC: another one, so that
            # frames between the two are not from the receiver's own address.
            sh("ip", "-n", NS_WIRE, "link", "set", wire, "down")
            sh("ip", "-n", NS_WIRE, "link", "set", wire, "address", WIRE_KERNEL_MAC)
            # net_tap does not ask for offloads from the kernel (no virtio-net header): every
            # frame it writes is checked by the kernel's UDP receive path.
        for address in (WIRE_CLIENT, WIRE_A, WIRE_B):
            sh("ip", "-n", NS_WIRE, "addr", "add", f"{address}/24", "dev", wire)
        sh("ip", "-n", NS_WIRE, "link", "set", wire, "up")
        got = os.path.join(workdir, "capture.json")
        capture = subprocess.Popen(in_ns(NS_WIRE, sys.executable, "-c", CAPTURE, wire, WIRE_LB,
                                         got, "120"))
        deadline = time.monotonic() + 5
        while not os.path.exists(got + ".ready") and time.monotonic() < deadline:
            time.sleep(0.05)
        check(os.path.exists(got + ".ready"), "the capture did not start")
        before = checksum_errors(NS_WIRE)
        procs += [uas_backend(workdir, NS_WIRE, "uas_a", WIRE_A),
                  uas_backend(workdir, NS_WIRE, "uas_b", WIRE_B)]
        calls = 40
        started = time.monotonic()
        calls_failed = None  # checked last: what the wire and the kernel saw says more
        try:
            place_calls(workdir, procs, calls, ns=NS_WIRE, client=WIRE_CLIENT, target=WIRE_LB)
        except Failure as e:
            calls_failed = e
        print(f"{kind}: {calls} calls in {time.monotonic() - started:.1f}s")
        # A 4 kB OPTIONS: the client's kernel fragments it, the balancer reassembles it and
        # sends it on in IP fragments, whose checksums stay in software on an offloading port
        # too; a backend's automatic 200 (sipp -aa) comes back.
        body = "".join(f"line {i:03d} {'x' * 40}\r\n" for i in range(80))
        message = os.path.join(workdir, "options.sip")
        with open(message, "wb") as f:
            f.write((f"OPTIONS sip:{WIRE_LB} SIP/2.0\r\n"
                     f"Via: SIP/2.0/UDP {WIRE_CLIENT}:5071;branch=z9hG4bKcsum{len(kind)}\r\n"
                     "Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=c1\r\nTo: <sip:b@x>\r\n"
                     f"Call-ID: tx-checksum-{kind}@{WIRE_CLIENT}\r\nCSeq: 1 OPTIONS\r\n"
                     "Content-Type: text/plain\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        big = sh(*in_ns(NS_WIRE, sys.executable, "-c", SEND_AND_WAIT, WIRE_CLIENT, "5071",
                        WIRE_LB, "5060", message, "10"), check_rc=False, timeout=20)
        after = checksum_errors(NS_WIRE)
        open(got + ".stop", "w").close()
        try:
            capture.wait(10)
        except subprocess.TimeoutExpired:
            raise Failure("the capture did not stop within 10s") from None
        check(os.path.exists(got), "the capture wrote no summary")
        with open(got) as f:
            frames = json.load(f)
        report = shield.stop()
        events = shield.events()
        shield = None
        counters = report["counters"]
        dpdk = dict(re.findall(r"(\w+)=(\d+)", re.search(r"dpdk_counters.*", events).group(0)))
        print(f"{kind}: captured {frames}; kernel {before} -> {after}; counters "
              f"forwarded_requests={counters['forwarded_requests']} "
              f"forwarded_responses={counters['forwarded_responses']}; dpdk {dpdk}")
        check(frames["ip_bad"] == 0 and frames["udp_bad"] == 0 and frames["udp_none"] == 0,
              f"{kind}: bad checksums on the wire: {frames}")
        grown = {k: (before[k], after.get(k)) for k in before if after.get(k) != before[k]}
        check(not grown, f"{kind}: the kernel counted receive errors: {grown}")
        if calls_failed is not None:
            raise calls_failed
        check(big.returncode == 0, f"{kind}: the 4 kB OPTIONS: {big.stdout}{big.stderr}")
        check(frames["fragments"] >= 3 and frames["reassembled"] >= 1 and
              frames["incomplete"] == 0, f"{kind}: the OPTIONS in fragments: {frames}")
        check(counters["forwarded_requests"] >= 3 * calls, f"counters {counters}")
        check(counters["forwarded_responses"] >= 2 * calls, f"counters {counters}")
        # Every datagram the balancer forwarded reached the kernel's wire side.
        check(frames["requests"] >= counters["forwarded_requests"] and
              frames["responses"] >= counters["forwarded_responses"],
              f"captured {frames} for counters {counters}")
        check(int(dpdk.get("tx_in_place", 0)) > 0, f"dpdk counters {dpdk}")
    finally:
        stop_all(shield, procs)
        if capture is not None and capture.poll() is None:
            capture.kill()
            capture.wait()
        sh("ip", "netns", "del", NS_WIRE, check_rc=False)


def test_tx_checksum_offload(workdir, binary):
    """The TX checksum offload contract end to end: on net_tap, which offers IPv4/UDP TX
    checksum offload, the balancer leaves the checksums to the port (its start-up line says
    so) and the frames the kernel receives carry valid ones, recomputed here from a raw
    capture; the kernel's checksum error counters stay put and the calls complete. The same
    on net_af_packet (no offload: software checksums) for contrast. This catches offload
    flags, l2/l3 lengths or the zeroed IPv4 checksum going wrong; not the pseudo-header sum
    left in the UDP checksum field: net_tap (DPDK 22.11) zeroes that field and computes the
    pseudo-header itself (dpdk_backend_test checks the field we leave). Last, net_tap again
    with tx_checksum_offload = false: the config turns the offload off (software checksums)."""
    checksum_leg(workdir, binary, tap=True)
    checksum_leg(workdir, binary, tap=False)
    checksum_leg(workdir, binary, tap=True, offload_allowed=False)


TESTS = [test_calls_arp_and_ping, test_fragmented_invite, test_exception_path,
         test_health_probes, test_two_workers, test_backend_side, test_tx_checksum_offload]

if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: needs root (CAP_NET_ADMIN) to create network namespaces and veth pairs")
        sys.exit(SKIP)
    probe = subprocess.run(["ip", "netns", "add", f"ssprobe{TAG}"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        print(f"SKIP: cannot create a network namespace: {probe.stderr.strip()}")
        sys.exit(SKIP)
    subprocess.run(["ip", "netns", "del", f"ssprobe{TAG}"], capture_output=True)
    binary = sys.argv[1]
    wanted = set(sys.argv[2:])
    selected = [t for t in TESTS if not wanted or t.__name__ in wanted]
    if wanted and not selected:
        raise SystemExit(f"unknown test(s): {wanted}")
    # net_tap needs the TUN device; without it only the TAP tests cannot run.
    if not os.path.exists("/dev/net/tun") and \
            all(t in (test_exception_path, test_health_probes, test_tx_checksum_offload)
                for t in selected):
        print("SKIP: /dev/net/tun is missing: net_tap (exception path, TX checksum offload) "
              "cannot run")
        sys.exit(SKIP)
    sys.exit(harness.run(selected, binary))
