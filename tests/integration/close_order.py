"""Orderly close in either order between a Linux client and a tas server.

--first linux: Linux sends its FIN as soon as its data is out (linux-bulk
--close first) and tas only after Linux's FIN (tas-bulk --close last); the
reverse with --first tas.  Both sides send and verify data.  Claims: every
connection ends verified on both sides, and the Linux sockets end in the
state RFC 9293 prescribes: TIME_WAIT after closing first, gone (LAST_ACK
acknowledged by tas) after closing last.
"""

import argparse

import harness

PORT = 5002
CONNS = 8
BYTES_EACH_WAY = 4 * harness.MIB
CLOSE_DONE_TIMEOUT = 5   # a retransmitted FIN would take longer than this


def main(test, first):
    bed = test.testbed()
    tas = test.tas(bed)
    closes = {'linux': 'first' if first == 'linux' else 'last',
              'tas': 'first' if first == 'tas' else 'last'}
    common = ['--conns', CONNS, '--send', BYTES_EACH_WAY, '--recv', BYTES_EACH_WAY,
              '--timeout', 60]
    server = test.tas_bulk_server(bed, tas, PORT, common + ['--close', closes['tas']])
    client = test.linux_bulk_client(bed, PORT, common + ['--close', closes['linux']])
    total = CONNS * BYTES_EACH_WAY
    for result in (client.result('bulk', timeout=70), server.result('bulk', timeout=10)):
        harness.check_bulk(result, conns=CONNS, sent=total, recv=total)

    if first == 'linux':
        def all_time_wait():
            states = bed.linux_tcp_states(PORT)
            return len(states) == CONNS and all(s == harness.TCP_TIME_WAIT for s in states)
        what = f'all {CONNS} Linux sockets in TIME_WAIT'
    else:
        def all_time_wait():
            return bed.linux_tcp_states(PORT) == []
        what = f'all {CONNS} Linux sockets closed (their FIN acknowledged by tas)'
    harness.wait_until(all_time_wait, CLOSE_DONE_TIMEOUT,
                       lambda: f'{what}; states now {bed.linux_tcp_states(PORT)}')
    test.log(f'measured: {what}')
    tas.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--first', choices=('linux', 'tas'), required=True)
    first_closer = parser.parse_args().first
    harness.run(lambda test: main(test, first_closer), bound=120)
