"""What libtas promises a forked child (tas.h, "Processes"), checked by
tas-fork-check (fork_check.c) with connections through tas's own address.

Claims: every check of the program and of its children holds (inherited
objects refuse with EBADF and are only forgotten, children and
grandchildren join and accept on the inherited listener, a killed child's
connection is reset at its peer, children and grandchildren take
connections over, the process that had one seeing it leave, a copy held
by a living child keeps a closed connection open, context ids of exited
children are reused); tas releases the application when the program
exits; tas stops cleanly.
"""

import argparse

import harness
import registration

PORT = 5014


def main(test, program):
    bed = test.testbed()
    tas = test.tas(bed)
    check = test.spawn('tas-fork-check', [harness.require_executable(program),
                                          '--ip', bed.tas_ip, '--port', PORT],
                       env=tas.env())
    result = check.result('fork_check', timeout=60)
    failed = [line for line in check.stdout().splitlines() if line.endswith('FAILED')]
    harness.check(result.get('failed') == 0 and not failed,
                  'failed checks:\n' + '\n'.join(failed) + '\n' + check.describe())
    test.log(f'{result["checks"]} checks of the parent held, and its children\'s')
    app_id = registration.app_id_of(tas, check.pid)
    registration.wait_released(tas, app_id, check.pid)
    tas.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--program', required=True)
    path = parser.parse_args().program
    harness.run(lambda test: main(test, path), bound=80)
