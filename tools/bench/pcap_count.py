"""Count the TCP segments of a capture, per sending address: those with
payload (data segments) and those without (ACKs, SYN, FIN), and the
payload bytes.  Reads classic pcap files of Ethernet frames (what
`tcpdump -w` writes) with the standard library only."""

import struct

PCAP_MAGIC_US = 0xa1b2c3d4
PCAP_MAGIC_NS = 0xa1b23c4d
LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
IPPROTO_TCP = 6
ETHER_HEADER_LEN = 14


class Counts:
    def __init__(self):
        self.data_segments = 0
        self.payload_bytes = 0
        self.other_segments = 0

    def __repr__(self):
        return (f'Counts(data_segments={self.data_segments}, '
                f'payload_bytes={self.payload_bytes}, '
                f'other_segments={self.other_segments})')


def byte_order(header):
    for order in ('<', '>'):
        magic, = struct.unpack(order + 'I', header[:4])
        if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            return order
    raise ValueError('not a pcap file')


def tcp_payload(frame):
    """(source address as text, payload length) of an IPv4/TCP frame, or
    None.  Lengths come from the headers, so a short snap length is fine."""
    if len(frame) < ETHER_HEADER_LEN + 20:
        return None
    ethertype, = struct.unpack('!H', frame[12:14])
    ip = frame[ETHER_HEADER_LEN:]
    if ethertype != ETHERTYPE_IPV4 or ip[9] != IPPROTO_TCP:
        return None
    ip_header_len = (ip[0] & 0x0f) * 4
    total_len, = struct.unpack('!H', ip[2:4])
    if len(ip) < ip_header_len + 13:
        return None
    tcp_header_len = (ip[ip_header_len + 12] >> 4) * 4
    source = '.'.join(str(octet) for octet in ip[12:16])
    return source, total_len - ip_header_len - tcp_header_len


def count(path):
    """{source address: Counts} for the TCP segments in a pcap file."""
    by_source = {}
    with open(path, 'rb') as f:
        header = f.read(24)
        order = byte_order(header)
        linktype, = struct.unpack(order + 'I', header[20:24])
        if linktype != LINKTYPE_ETHERNET:
            raise ValueError(f'{path}: link type {linktype}, expected Ethernet')
        while True:
            record = f.read(16)
            if len(record) < 16:
                break
            _, _, captured, _ = struct.unpack(order + 'IIII', record)
            parsed = tcp_payload(f.read(captured))
            if parsed is None:
                continue
            source, payload = parsed
            counts = by_source.setdefault(source, Counts())
            if payload > 0:
                counts.data_segments += 1
                counts.payload_bytes += payload
            else:
                counts.other_segments += 1
    return by_source
