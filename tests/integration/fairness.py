"""Flows sharing a bottleneck share it fairly.

CONNS connections, each carrying BYTES one way, through the impairment
stage's rate limit (RATE_MBIT with a QUEUE-byte buffer) in that
direction.  --sender tas: tas sends (its congestion control is what is
tested) to Linux; --sender linux: Linux (cubic) sends to tas.  The
receiver reports each connection's bytes and the time from its first to
its last byte (--per-conn); a connection's throughput is the one over the
other.  Claims: every byte verified, and Jain's fairness index over the
connections' throughputs at least MIN_JAIN_INDEX (1 is equal shares,
1/CONNS one connection with everything).
"""

import argparse

import harness

PORT = 5005
CONNS = 8
BYTES = 8 * harness.MIB
RATE_MBIT = 100
QUEUE = '256k'
MIN_JAIN_INDEX = 0.9
TRANSFER_TIMEOUT = 60


def main(test, sender):
    bed = test.testbed(mode='impaired')
    spec = f'rate={RATE_MBIT}mbit,queue={QUEUE}'
    stage = bed.impair(from_tas=spec if sender == 'tas' else '',
                       to_tas=spec if sender == 'linux' else '')
    tas = test.tas(bed)
    common = ['--conns', CONNS, '--timeout', TRANSFER_TIMEOUT]
    receive = common + ['--recv', BYTES, '--per-conn']
    send = common + ['--send', BYTES]
    if sender == 'tas':
        receiver = test.linux_bulk_server(bed, PORT, receive)
        sending = test.tas_bulk_client(bed, tas, PORT, send)
    else:
        receiver = test.tas_bulk_server(bed, tas, PORT, receive)
        sending = test.linux_bulk_client(bed, PORT, send)
    received = receiver.result('bulk', timeout=TRANSFER_TIMEOUT + 5)
    harness.check_bulk(received, conns=CONNS, sent=0, recv=CONNS * BYTES)
    harness.check_bulk(sending.result('bulk', timeout=10), conns=CONNS,
                       sent=CONNS * BYTES, recv=0)

    flows = harness.parse_result_lines(receiver.stdout(), 'bulk-conn')
    harness.check(len(flows) == CONNS, f'{len(flows)} bulk-conn: lines, expected {CONNS}')
    rates = []
    for flow in flows:
        harness.check(flow['recv'] == BYTES and flow['rx_secs'] > 0,
                      f'connection without a measurable transfer: {flow["line"]}')
        rates.append(harness.mbit_per_sec(flow['recv'], flow['rx_secs']))
        test.log(f'measured: connection {flow["id"]}: {flow["recv"]} bytes from '
                 f'{flow["rx_first"]:.3f} to {flow["rx_last"]:.3f} s = {rates[-1]:.1f} Mbit/s')
    index = harness.jain_index(rates)
    counters = stage.counters()
    direction = 'from_tas' if sender == 'tas' else 'to_tas'
    test.log(f'measured: {sender} sending {CONNS} x {BYTES} bytes through {spec}: '
             f'{harness.mbit_per_sec(CONNS * BYTES, received["secs"]):.1f} Mbit/s in all, '
             f'Jain index {index:.3f}; stage {direction}: frames={counters[direction + "_frames"]} '
             f'queue_drops={counters[direction + "_queue_drops"]} '
             f'backlog_mean={counters[direction + "_backlog_mean"]}')
    harness.check(index >= MIN_JAIN_INDEX,
                  f'Jain index {index:.3f} < {MIN_JAIN_INDEX}: per-connection Mbit/s '
                  + ', '.join(f'{rate:.1f}' for rate in rates))
    tas.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--sender', choices=('tas', 'linux'), required=True)
    chosen = parser.parse_args().sender
    harness.run(lambda test: main(test, chosen), bound=100)
