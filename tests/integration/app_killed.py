"""A tas application killed with SIGKILL in the middle of a transfer.

tas-bulk sends 1 GiB to linux-bulk; once at least 4 MiB have crossed the
veth, tas-bulk is killed with SIGKILL.  Claims: the Linux side sees the
connection reset (not a FIN, not a hang) within RESET_BOUND seconds, every
byte it got verified; tas keeps running; a new application can listen on
the same port and complete a verified transfer.
"""

import signal
import time

import harness

PORT = 5004
TOTAL = harness.GIB
PROGRESS_BEFORE_KILL = 4 * harness.MIB
RESET_BOUND = 5
AFTERWARDS = 4 * harness.MIB


def main(test):
    bed = test.testbed()
    tas = test.tas(bed)
    victim = test.tas_bulk_server(bed, tas, PORT, ['--send', TOTAL, '--timeout', 60],
                                  name='tas-bulk-victim')
    before = bed.iface_counters()
    client = test.linux_bulk_client(bed, PORT, ['--recv', TOTAL, '--expect', 'reset',
                                                '--timeout', 60], name='linux-bulk-receiver')

    def transfer_under_way():
        check_running(victim)
        now = bed.iface_counters()
        return (now['tx_bytes'] + now['rx_bytes'] - before['tx_bytes'] - before['rx_bytes']
                >= PROGRESS_BEFORE_KILL)
    harness.wait_until(transfer_under_way, 30, f'{PROGRESS_BEFORE_KILL} bytes through the veth')

    victim.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    test.log('killed tas-bulk with SIGKILL')
    result = client.result('bulk', timeout=RESET_BOUND)
    reset_after = time.monotonic() - killed_at
    harness.check_bulk(result, conns=1, sent=0, recv=harness.at_most(TOTAL - 1), resets=1)
    test.log(f'measured: Linux saw the reset {reset_after * 1000:.0f} ms after the kill, '
             f'having received {result["recv"]} bytes')
    tas.check_alive()

    test.log('a new application on the same port')
    server = test.tas_bulk_server(bed, tas, PORT, ['--send', AFTERWARDS, '--recv', AFTERWARDS,
                                                   '--timeout', 30], name='tas-bulk-after')
    client = test.linux_bulk_client(bed, PORT, ['--send', AFTERWARDS, '--recv', AFTERWARDS,
                                                '--timeout', 30], name='linux-bulk-after')
    for result in (client.result('bulk', timeout=40), server.result('bulk', timeout=10)):
        harness.check_bulk(result, conns=1, sent=AFTERWARDS, recv=AFTERWARDS)
    tas.stop()


def check_running(proc):
    harness.check(proc.running(), f'{proc.name} ended before it was killed\n'
                  + proc.describe())


if __name__ == '__main__':
    harness.run(main, bound=120)
