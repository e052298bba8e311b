"""Malformed frames from the Linux side while a verified transfer runs.

bad_frames.py (scapy, in the namespace) aims segments at the live
connection that tas must drop but that would corrupt or reset it if
accepted (bad TCP/IP checksums, bad data offsets, truncated IP, fragments,
bad-checksum RST/SYN/FIN, malformed options), then sends random and
malformed frames of every layer, and checks that TCP to a closed port is
answered with RST before and after.  The Linux -> tas direction is shaped
to SHAPED_RATE with tbf so that the aimed segments land inside tas's
receive window before Linux's own data overtakes them.
Claims: the transfer verifies in both directions with exact totals, the
connection survives the attack, closed ports are answered with RST, tas
keeps running, serves a new transfer afterwards, and stops cleanly.
"""

import os

import harness

PORT = 5008
CLOSED_PORT = 5999
TRANSFER = 32 * harness.MIB
SHAPED_RATE = '50mbit'
AFTERWARDS = 4 * harness.MIB


def main(test):
    bed = test.testbed()
    tas = test.tas(bed)
    bed.run_ns(['tc', 'qdisc', 'replace', 'dev', bed.peer_iface, 'root', 'tbf',
                'rate', SHAPED_RATE, 'burst', '16k', 'latency', '20ms'])
    test.log(f'Linux -> tas shaped to {SHAPED_RATE}')
    both_ways = ['--send', TRANSFER, '--recv', TRANSFER, '--timeout', 60]
    server = test.tas_bulk_server(bed, tas, PORT, both_ways)
    attacker = test.spawn(
        'bad-frames', bed.ns_argv(['/usr/bin/python3',
                                   os.path.join(harness.INTEGRATION_DIR, 'bad_frames.py'),
                                   '--iface', bed.peer_iface, '--tas-ip', bed.tas_ip,
                                   '--peer-ip', bed.peer_ip, '--tas-mac', bed.tas_mac,
                                   '--flow-port', PORT, '--closed-port', CLOSED_PORT]))
    attacker.wait_output(r'^ready: sniffing=yes', timeout=20)
    client = test.linux_bulk_client(bed, PORT, both_ways)

    attack = attacker.result('badframes', timeout=60)
    for result in (client.result('bulk', timeout=70), server.result('bulk', timeout=10)):
        harness.check_bulk(result, conns=1, sent=TRANSFER, recv=TRANSFER)
    test.log(f'measured: {attack["sent"]} malformed frames sent, {attack["flow_frames"]} '
             f'of them aimed at the live connection (window {attack.get("window")} B)')
    tas.check_alive()

    test.log('a new transfer after the attack')
    bed.run_ns(['tc', 'qdisc', 'del', 'dev', bed.peer_iface, 'root'])
    after = ['--send', AFTERWARDS, '--recv', AFTERWARDS, '--timeout', 30]
    server = test.tas_bulk_server(bed, tas, PORT, after, name='tas-bulk-after')
    client = test.linux_bulk_client(bed, PORT, after, name='linux-bulk-after')
    for result in (client.result('bulk', timeout=40), server.result('bulk', timeout=10)):
        harness.check_bulk(result, conns=1, sent=AFTERWARDS, recv=AFTERWARDS)
    tas.stop()


if __name__ == '__main__':
    harness.run(main, bound=150)
