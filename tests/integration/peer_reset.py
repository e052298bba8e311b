"""Connections reset in the middle of a transfer, by either end.

1. The Linux peer resets after sending 8 MiB of 64 MiB (linux-bulk
   --abort-after) while tas is sending to it too: tas-bulk must see the
   reset (--expect reset), every byte it got verified, its own transfer cut
   short.
2. The tas application resets after sending 8 MiB (tas-bulk --abort-after):
   linux-bulk must see a reset.
3. A normal verified transfer on the same port afterwards: tas is healthy
   and the port is free again.
"""

import harness

PORT = 5003
FULL = 64 * harness.MIB
ABORT_AFTER = 8 * harness.MIB
AFTERWARDS = 4 * harness.MIB
TIMEOUT = ['--timeout', 40]


def main(test):
    bed = test.testbed()
    tas = test.tas(bed)

    test.log('phase 1: Linux resets')
    server = test.tas_bulk_server(bed, tas, PORT, ['--send', FULL, '--recv', FULL,
                                                   '--expect', 'reset'] + TIMEOUT,
                                  name='tas-bulk-reset-by-linux')
    client = test.linux_bulk_client(bed, PORT, ['--send', FULL, '--abort-after', ABORT_AFTER,
                                                '--recv', FULL] + TIMEOUT,
                                    name='linux-bulk-resetting')
    linux_result = client.result('bulk', timeout=50)
    tas_result = server.result('bulk', timeout=15)
    harness.check_bulk(linux_result, conns=1, sent=ABORT_AFTER,
                       recv=harness.at_most(FULL - 1))
    harness.check_bulk(tas_result, conns=1, sent=harness.at_most(FULL - 1),
                       recv=harness.at_most(ABORT_AFTER), resets=1)

    test.log('phase 2: the tas application resets')
    server = test.tas_bulk_server(bed, tas, PORT, ['--send', FULL, '--abort-after', ABORT_AFTER,
                                                   '--recv', FULL] + TIMEOUT,
                                  name='tas-bulk-resetting')
    client = test.linux_bulk_client(bed, PORT, ['--send', FULL, '--recv', FULL,
                                                '--expect', 'reset'] + TIMEOUT,
                                    name='linux-bulk-reset-by-tas')
    linux_result = client.result('bulk', timeout=50)
    tas_result = server.result('bulk', timeout=15)
    harness.check_bulk(tas_result, conns=1, sent=ABORT_AFTER, recv=harness.at_most(FULL - 1))
    harness.check_bulk(linux_result, conns=1, sent=harness.at_most(FULL - 1),
                       recv=harness.at_most(ABORT_AFTER), resets=1)

    test.log('phase 3: a normal transfer on the same port')
    server = test.tas_bulk_server(bed, tas, PORT, ['--send', AFTERWARDS, '--recv', AFTERWARDS]
                                  + TIMEOUT, name='tas-bulk-after')
    client = test.linux_bulk_client(bed, PORT, ['--send', AFTERWARDS, '--recv', AFTERWARDS]
                                    + TIMEOUT, name='linux-bulk-after')
    for result in (client.result('bulk', timeout=50), server.result('bulk', timeout=15)):
        harness.check_bulk(result, conns=1, sent=AFTERWARDS, recv=AFTERWARDS)
    tas.stop()


if __name__ == '__main__':
    harness.run(main, bound=150)
