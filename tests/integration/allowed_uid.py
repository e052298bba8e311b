"""Registration is refused to users --allow-uid does not name.

tas runs with --allow-uid ALLOWED.  Claims: a libtas application running
as another (unprivileged) user is refused at registration with EPERM and
exits with an error; one running as ALLOWED registers, accepts a
connection from the Linux peer and completes a verified transfer; tas keeps
running throughout.
"""

import os

import harness

PORT = 5011
ALLOWED = 4242
REFUSED = 4343
BYTES = 1 * harness.MIB


def as_user(uid, argv):
    return ['setpriv', f'--reuid={uid}', f'--regid={uid}', '--clear-groups'] + argv


def main(test):
    bed = test.testbed()
    # The socket lives in the work directory: let other users reach it, so
    # that the refusal tested is tas's, not the file system's.
    os.chmod(test.workdir, 0o755)
    tas = test.tas(bed, extra_args=['--allow-uid', str(ALLOWED)])
    bulk = harness.require_executable(harness.app_exe('tas-bulk'))

    refused = test.spawn('tas-bulk-refused',
                         as_user(REFUSED, [bulk, '--listen', str(PORT), '--timeout', 10]),
                         env=tas.env())
    harness.check(refused.wait(timeout=15) != 0,
                  'an application of a user not allowed was not refused\n' + refused.describe())
    harness.check('not permitted' in refused.stderr(),
                  'the refusal does not say why (EPERM)\n' + refused.describe())
    test.log('uid %d refused: %s' % (REFUSED, refused.stderr().strip().splitlines()[-1]))
    tas.check_alive()

    server = test.spawn('tas-bulk-allowed',
                        as_user(ALLOWED, [bulk, '--listen', str(PORT), '--send', BYTES,
                                          '--recv', BYTES, '--timeout', 30]),
                        env=tas.env())
    bed.wait_tas_listening(server, PORT)
    client = test.linux_bulk_client(bed, PORT, ['--send', BYTES, '--recv', BYTES,
                                                '--timeout', 30])
    for result in (client.result('bulk', timeout=40), server.result('bulk', timeout=10)):
        harness.check_bulk(result, conns=1, sent=BYTES, recv=BYTES)
    test.log('uid %d registered and moved %d bytes each way, verified' % (ALLOWED, BYTES))
    tas.stop()


if __name__ == '__main__':
    harness.run(main, bound=60)
