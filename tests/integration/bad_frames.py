"""Send malformed frames at tas from the Linux side of the test bed (scapy).

Runs inside the test-bed namespace with /usr/bin/python3 (the interpreter
that has scapy).  Phases:
  1. wait for the established connection of the verified transfer
     (Linux <-> TAS_IP:FLOW_PORT) and learn its sequence numbers from one
     segment sent by tas;
  2. hit that flow with segments that must all be dropped, yet would
     corrupt the transferred stream or reset it if tas accepted them: bad
     TCP or IP checksums on in-window data, RST/SYN with bad checksums, bad
     TCP data offsets, truncated IP, IP fragments, malformed options;
  3. random and malformed frames of every layer (runts, truncated headers,
     bad IHL/version, garbage ethertypes, fuzzed TCP, odd ARP, UDP, ICMP,
     SYNs with malformed options to the listening port);
  4. TCP to a closed port must be answered by RST (SYN -> RST|ACK acking
     the SYN; bare ACK -> RST with seq = its ack), before and after 2-3.
Prints `ready: ...` once it watches for the connection's handshake (start
the transfer after that), then one line `badframes: key=value ...`, and
exits 0 iff every expected RST came back and the flow was still
established (or half-closed by tas) after phase 2.
"""

import argparse
import random
import socket
import sys
import threading
import time

from scapy.all import (ARP, AsyncSniffer, ICMP, IP, TCP, UDP, Ether, Raw, conf, fuzz,
                       get_if_hwaddr, sniff, srp1)

from harness import TCP_CLOSE_WAIT, TCP_ESTABLISHED, tcp_endpoint, tcp_sockets

conf.verb = 0

SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('--iface', required=True, help='namespace-side veth')
    parser.add_argument('--tas-ip', required=True)
    parser.add_argument('--peer-ip', required=True)
    parser.add_argument('--tas-mac', required=True)
    parser.add_argument('--flow-port', type=int, required=True,
                        help='tas port of the verified transfer')
    parser.add_argument('--closed-port', type=int, required=True)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=5,
                        help='rounds of malformed segments on the flow')
    parser.add_argument('--garbage', type=int, default=600,
                        help='number of random/malformed frames in phase 3')
    parser.add_argument('--flow-timeout', type=float, default=20)
    return parser.parse_args()


def connections_to(tas_ip, tas_port):
    """{local port: state} of the connections to tas_ip:tas_port."""
    remote = tcp_endpoint(tas_ip, tas_port)
    with open('/proc/net/tcp') as table:
        return {port: state for port, peer, state in tcp_sockets(table.read()) if peer == remote}


def established_local_port(tas_ip, tas_port):
    """Local port of an established connection to tas_ip:tas_port, or None."""
    for port, state in connections_to(tas_ip, tas_port).items():
        if state == TCP_ESTABLISHED:
            return port
    return None


class Sender:
    def __init__(self, args):
        self.args = args
        self.peer_mac = get_if_hwaddr(args.iface)
        self.socket = conf.L2socket(iface=args.iface)
        # Skip the interface's queueing discipline: the test shapes the
        # transfer with one, and these frames must not wait behind it.
        self.socket.outs.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        self.sent = 0
        self.send_errors = 0

    def ether(self, **fields):
        return Ether(src=self.peer_mac, dst=self.args.tas_mac, **fields)

    def ip(self, **fields):
        return IP(src=self.args.peer_ip, dst=self.args.tas_ip, **fields)

    def send(self, frames):
        """Send frames (scapy packets or raw bytes); count what the kernel
        refused (e.g. runts) instead of failing."""
        for frame in frames:
            try:
                self.socket.send(frame)
                self.sent += 1
            except OSError:
                self.send_errors += 1


def internet_checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(int.from_bytes(data[i:i + 2], 'big') for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def tcp_frame(sender, tcp_bytes, checksum_ok=True, **ip_fields):
    """An Ethernet/IPv4 frame carrying tcp_bytes as they are (any header
    fields), with a TCP checksum that is right for those bytes, or wrong."""
    segment = bytearray(tcp_bytes)
    segment[16:18] = b'\0\0'
    pseudo = (socket.inet_aton(sender.args.peer_ip) + socket.inet_aton(sender.args.tas_ip)
              + bytes([0, 6]) + len(segment).to_bytes(2, 'big'))
    checksum = internet_checksum(pseudo + bytes(segment))
    if not checksum_ok:
        checksum = (checksum + 1) & 0xffff or 1
    segment[16:18] = checksum.to_bytes(2, 'big')
    return sender.ether() / sender.ip(proto=6, **ip_fields) / Raw(bytes(segment))


def with_data_offset(tcp_bytes, offset_words):
    segment = bytearray(tcp_bytes)
    segment[12] = (offset_words << 4) | (segment[12] & 0x0f)
    return bytes(segment)


def with_options(tcp_header, options):
    """The 20-byte header of tcp_header followed by raw option bytes."""
    options = options + b'\0' * (-len(options) % 4)
    return with_data_offset(bytes(tcp_header)[:20], (20 + len(options)) // 4) + options


TCP_IN_FRAME = 14 + 20   # offset of the TCP header: Ethernet, IPv4 without options


def with_sequence(template, seq, ack):
    """A copy of template (a frame built with TCP seq = ack = 0) with seq and
    ack filled in.  The TCP checksum is updated incrementally (RFC 1624),
    so it stays exactly as right, or as wrong, as it was; this is fast
    enough to aim hundreds of segments at a window that keeps moving."""
    frame = bytearray(template)
    frame[TCP_IN_FRAME + 4:TCP_IN_FRAME + 12] = seq.to_bytes(4, 'big') + ack.to_bytes(4, 'big')
    checksum_at = TCP_IN_FRAME + 16
    total = ~int.from_bytes(frame[checksum_at:checksum_at + 2], 'big') & 0xffff
    for word in (seq >> 16, seq & 0xffff, ack >> 16, ack & 0xffff):
        total += word
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    frame[checksum_at:checksum_at + 2] = (~total & 0xffff).to_bytes(2, 'big')
    return bytes(frame)


class Flow:
    """The live connection as seen from one segment tas sent on it."""

    def __init__(self, local_port, flow_port, tas_segment, window_scale):
        self.local_port = local_port
        self.flow_port = flow_port
        self.tas_seq = tas_segment.seq    # tas's send sequence, already sent
        self.tas_ack = tas_segment.ack    # what tas expects next from us
        self.window = tas_segment.window << window_scale

    def tcp(self, flags, seq=None, ack=None):
        return bytes(TCP(sport=self.local_port, dport=self.flow_port, flags=flags,
                         seq=self.tas_ack if seq is None else seq,
                         ack=self.tas_seq if ack is None else ack, window=1024))


def data_templates(sender, rng, flow):
    """Malformed data segments of the flow, with seq = ack = 0, as bytes.
    Accepting any of them in-window would corrupt the verified stream."""
    garbage = bytes(rng.getrandbits(8) for _ in range(1000))
    data = flow.tcp('PA', seq=0, ack=0) + garbage
    whole = bytes(tcp_frame(sender, data))
    ip_checksum_wrong = whole[:24] + bytes([whole[24] ^ 0xff]) + whole[25:]
    templates = [
        tcp_frame(sender, data, checksum_ok=False),
        ip_checksum_wrong,
        # Data offset below the minimum, and beyond the segment.
        tcp_frame(sender, with_data_offset(data, 2)),
        tcp_frame(sender, with_data_offset(data[:40], 15)),
        # IP total length claiming more than the frame carries, then less
        # than the IP and TCP headers.
        tcp_frame(sender, data[:120], len=1400),
        tcp_frame(sender, data, len=30),
        # First fragment of a segment, TCP checksum right for the whole:
        # tas does not reassemble, so it must not take it for a segment.
        sender.ether() / sender.ip(flags='MF', proto=6) /
        Raw(bytes(tcp_frame(sender, data[:220])[Raw])[:96]),
        # A later fragment whose payload looks like an in-window segment.
        sender.ether() / sender.ip(frag=64, proto=6) /
        Raw(bytes(tcp_frame(sender, data[:120])[Raw])),
    ]
    return [bytes(template) for template in templates]


def flow_data_frames(templates, flow, max_frames=512):
    """The templates aimed across tas's receive window.  Linux keeps
    sending, so only frames still ahead of tas's next expected byte when
    they arrive test anything; spreading them over the window makes sure
    many do."""
    step = max(1000, flow.window // max_frames)
    offsets = range(0, max(flow.window, step), step)
    return [with_sequence(templates[i % len(templates)], (flow.tas_ack + offset) % 2**32,
                          flow.tas_seq)
            for i, offset in enumerate(offsets)]


def flow_control_frames(sender, rng, flow):
    """Control segments for the flow that tas must drop: accepting them
    would reset the connection or confuse its send side."""
    frames = [
        tcp_frame(sender, flow.tcp('R'), checksum_ok=False),
        tcp_frame(sender, flow.tcp('RA'), checksum_ok=False),
        tcp_frame(sender, flow.tcp('S'), checksum_ok=False),
        tcp_frame(sender, flow.tcp('FA'), checksum_ok=False),
        # ACK of far more than tas ever sent.
        tcp_frame(sender, flow.tcp('A', ack=(flow.tas_seq + 2**30) % 2**32),
                  checksum_ok=False),
    ]
    # ACKs of old data carrying malformed options (checksum right).
    for options in (b'\x08\x00' + b'\x00' * 10,        # timestamp, length 0
                    b'\x02\x04\x05',                   # truncated MSS
                    b'\x08\xff' + b'\x00' * 10,        # length past the header
                    b'\x03\x01\x0e\x00',               # window scale, length 1
                    b'\x05\x03\x00\x00',               # SACK of one byte
                    bytes(rng.getrandbits(8) for _ in range(40))):
        frames.append(tcp_frame(sender, with_options(flow.tcp('A'), options)))
    return frames


def garbage_frames(sender, rng, count):
    """Random and malformed frames of every layer, count in total."""
    args = sender.args
    def random_bytes(low, high):
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(low, high)))
    def closed_tcp(**fields):
        return TCP(sport=rng.randint(20000, 30000), dport=args.closed_port, **fields)
    def listen_syn():
        """A SYN to the listening port: its malformed options reach the
        option parser of connection set-up."""
        return TCP(sport=rng.randint(20000, 30000), dport=args.flow_port, flags='S',
                   seq=rng.getrandbits(32))
    makers = [
        lambda: random_bytes(1, 13),                                     # runt
        lambda: bytes(sender.ether(type=0x0800)) + random_bytes(0, 19),  # short IP
        lambda: bytes(sender.ether()) + random_bytes(14, 1500),          # random L2 payload
        lambda: bytes(Ether(dst=args.tas_mac, src=sender.peer_mac,
                            type=rng.getrandbits(16))) + random_bytes(0, 200),
        lambda: bytes(Ether(dst='ff:ff:ff:ff:ff:ff', src=sender.peer_mac,
                            type=0x0800)) + random_bytes(20, 200),
        lambda: bad_ihl(sender, rng),
        lambda: bad_version(sender, rng),
        lambda: sender.ether() / sender.ip(proto=6) / Raw(random_bytes(1, 19)),  # cut TCP
        lambda: sender.ether() / sender.ip(proto=rng.getrandbits(8)) / Raw(random_bytes(0, 100)),
        lambda: sender.ether() / sender.ip() / fuzz(TCP(dport=args.flow_port)),
        lambda: sender.ether() / sender.ip() / fuzz(TCP(dport=args.closed_port)),
        lambda: tcp_frame(sender, with_data_offset(bytes(closed_tcp(flags='S')),
                                                   rng.choice([0, 1, 4, 6, 15]))
                          + random_bytes(0, 8)),
        lambda: tcp_frame(sender, with_options(listen_syn(), random_bytes(1, 40))),
        lambda: tcp_frame(sender, with_options(listen_syn(), rng.choice(
            [b'\x02\x00', b'\x02\x04\x00\x00', b'\x03\x03\xff', b'\x04\x00',
             b'\x08\x0a' + b'\x00' * 3, b'\x00\x02\x04\x05\xb4', b'\x01' * 40]))),
        lambda: tcp_frame(sender, bytes(closed_tcp(flags='S')), checksum_ok=False),
        lambda: sender.ether() / sender.ip() / UDP(dport=rng.getrandbits(16)) / Raw(random_bytes(0, 64)),
        lambda: sender.ether() / sender.ip() / ICMP() / Raw(random_bytes(0, 64)),
        lambda: sender.ether() / sender.ip() / fuzz(ICMP()),
        lambda: bytes(Ether(dst=args.tas_mac, src=sender.peer_mac, type=0x0806))
                + random_bytes(0, 27),                                   # truncated ARP
        lambda: Ether(dst=args.tas_mac, src=sender.peer_mac) /
                ARP(op=rng.choice([0, 3, 99]), hwlen=rng.choice([0, 6, 255]),
                    plen=rng.choice([0, 4, 255]), pdst=args.tas_ip),
        lambda: bytes(Ether(dst=args.tas_mac, src=sender.peer_mac, type=0x86dd))
                + random_bytes(0, 100),                                  # IPv6 garbage
        lambda: bytes(Ether(dst=args.tas_mac, src=sender.peer_mac, type=0x8100))
                + random_bytes(0, 100),                                  # VLAN garbage
    ]
    return [rng.choice(makers)() for _ in range(count)]


def bad_ihl(sender, rng):
    header = bytearray(bytes(sender.ip(proto=6) / TCP(dport=sender.args.closed_port)))
    header[0] = 0x40 | rng.choice([0, 1, 4, 15])
    return bytes(sender.ether()) + bytes(header)


def bad_version(sender, rng):
    header = bytearray(bytes(sender.ip(proto=6) / TCP(dport=sender.args.closed_port)))
    header[0] = rng.choice([0x05, 0x65, 0xf5]) & 0xff
    return bytes(sender.ether()) + bytes(header)


def probe_closed_port(sender, rng):
    """SYN and bare ACK to a closed port; returns (syn_ok, ack_ok) where ok
    means the RST that RFC 9293 3.10.7.1 prescribes came back."""
    args = sender.args
    sport = rng.randint(20000, 30000)
    seq = rng.getrandbits(32)
    # Filter in the kernel: a running transfer floods the interface.
    replies = f'tcp and src host {args.tas_ip} and src port {args.closed_port}'
    reply = srp1(sender.ether() / sender.ip() /
                 TCP(sport=sport, dport=args.closed_port, flags='S', seq=seq),
                 iface=args.iface, timeout=3, filter=replies)
    syn_ok = (reply is not None and TCP in reply and reply[TCP].flags.R
              and reply[TCP].flags.A and reply[TCP].ack == (seq + 1) % 2**32)
    ack_value = rng.getrandbits(32)
    reply = srp1(sender.ether() / sender.ip() /
                 TCP(sport=sport + 1, dport=args.closed_port, flags='A',
                     seq=rng.getrandbits(32), ack=ack_value),
                 iface=args.iface, timeout=3, filter=replies)
    ack_ok = (reply is not None and TCP in reply and reply[TCP].flags.R
              and reply[TCP].seq == ack_value)
    return syn_ok, ack_ok


def wait_for_flow(args):
    deadline = time.monotonic() + args.flow_timeout
    while time.monotonic() < deadline:
        port = established_local_port(args.tas_ip, args.flow_port)
        if port is not None:
            return port
        time.sleep(0.01)
    return None


def stopped(sniffer, timeout):
    """The packets of an AsyncSniffer, stopping it after at most timeout s
    (the connection can be established before it has read the SYN-ACK)."""
    sniffer.join(timeout=timeout)
    if sniffer.running:
        sniffer.stop()
    return sniffer.results


def window_scale(syn_ack):
    for option in syn_ack[TCP].options if syn_ack else []:
        if option[0] == 'WScale':
            return option[1]
    return 0


def attack_flow(sender, rng, local_port, handshake, results):
    """Each round: learn tas's current sequence state from one of its
    segments, then send the malformed segments.  Returns frames sent."""
    args = sender.args
    scale = window_scale(handshake[0] if handshake else None)
    results['window_scale'] = scale if handshake else 'unseen'
    templates = None
    sent = 0
    for _ in range(args.rounds):
        seen = sniff(iface=args.iface, count=1, timeout=5, filter=(
            f'tcp and src host {args.tas_ip} and src port {args.flow_port} '
            f'and dst port {local_port}'))
        if not seen:
            break
        flow = Flow(local_port, args.flow_port, seen[0][TCP], scale)
        templates = templates or data_templates(sender, rng, flow)
        results['window'] = flow.window
        frames = flow_data_frames(templates, flow) + flow_control_frames(sender, rng, flow)
        sender.send(frames)
        sent += len(frames)
    return sent


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    sender = Sender(args)
    results = {'seed': args.seed}

    # tas's SYN-ACK carries its window scale, needed to know its window.
    sniffing = threading.Event()
    handshake = AsyncSniffer(iface=args.iface, count=1, started_callback=sniffing.set,
                             filter=(f'tcp[tcpflags] & tcp-syn != 0 and src host {args.tas_ip} '
                                     f'and src port {args.flow_port}'))
    handshake.start()
    sniffing.wait(timeout=10)
    # The harness starts the transfer only after this line.
    print(f'ready: sniffing={"yes" if sniffing.is_set() else "no"}', flush=True)
    syn_ok, ack_ok = probe_closed_port(sender, rng)
    results['rst_syn_before'] = 'yes' if syn_ok else 'no'
    results['rst_ack_before'] = 'yes' if ack_ok else 'no'

    local_port = wait_for_flow(args)
    results['flow_found'] = 'yes' if local_port else 'no'
    results['flow_alive_after'] = 'no'
    if local_port:
        flow_frames = attack_flow(sender, rng, local_port, stopped(handshake, timeout=2), results)
        results['flow_frames'] = flow_frames
        state = connections_to(args.tas_ip, args.flow_port).get(local_port, 'gone')
        results['flow_state_after'] = state
        # Linux still sending to tas: established, or tas has sent all
        # its data and its FIN already (CLOSE_WAIT).
        results['flow_alive_after'] = ('yes' if state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT)
                                       and flow_frames else 'no')
    else:
        stopped(handshake, timeout=0)

    sender.send(garbage_frames(sender, rng, args.garbage))

    syn_ok, ack_ok = probe_closed_port(sender, rng)
    results['rst_syn_after'] = 'yes' if syn_ok else 'no'
    results['rst_ack_after'] = 'yes' if ack_ok else 'no'
    results['sent'] = sender.sent
    results['send_errors'] = sender.send_errors
    print('badframes: ' + ' '.join(f'{k}={v}' for k, v in results.items()), flush=True)
    expected = ('rst_syn_before', 'rst_ack_before', 'flow_found', 'flow_alive_after',
                'rst_syn_after', 'rst_ack_after')
    return 0 if all(results.get(key) == 'yes' for key in expected) else 1


if __name__ == '__main__':
    sys.exit(main())
