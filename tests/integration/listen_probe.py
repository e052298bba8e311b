"""Wait until tas listens on a TCP port, without taking an accept from it.

Runs inside the test-bed namespace with /usr/bin/python3 (scapy).  Sends a
SYN from a port no Linux socket uses, every 50 ms, until tas answers with a
SYN-ACK (it listens) instead of a RST (not yet).  The namespace's kernel
answers that SYN-ACK with a RST, so the half-open connection goes away and
the application's listener never sees it.  Exit 0 once listening, 1 on
timeout.
"""

import argparse
import random
import sys
import time

from scapy.all import IP, TCP, conf, sr1

conf.verb = 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--ip', required=True)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--timeout', type=float, default=10)
    args = parser.parse_args()

    rng = random.Random()
    deadline = time.monotonic() + args.timeout
    probes = 0
    while time.monotonic() < deadline:
        probes += 1
        sent_at = time.monotonic()
        reply = sr1(IP(dst=args.ip) / TCP(sport=rng.randint(20000, 30000), dport=args.port,
                                          flags='S', seq=rng.getrandbits(32)),
                    timeout=0.05)
        if reply is not None and TCP in reply and reply[TCP].flags.S and reply[TCP].flags.A:
            print(f'listen_probe: port {args.port} listening after {probes} probes')
            return 0
        time.sleep(max(0.0, sent_at + 0.05 - time.monotonic()))
    print(f'listen_probe: port {args.port} not listening after {probes} probes '
          f'({args.timeout} s)')
    return 1


if __name__ == '__main__':
    sys.exit(main())
