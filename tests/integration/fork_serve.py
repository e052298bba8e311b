"""The classic forking server on libtas: tas-fork-serve accepts, forks a
child for each connection and closes its own copy at once; the child
takes the connection over (tas_conn_adopt) and echoes it, and halfway
(--handoff) a grandchild takes it over from the child and echoes the
rest.

linux-bulk in the namespace opens CONNS connections at once, each
sending BYTES and verifying that exactly those bytes come back; then it
does so again (the parent keeps accepting).  Claims: both runs verify
with exact totals; every connection was served by a child, whose copy
ended with TAS_EV_LEFT after HANDOFF bytes, and a grandchild that echoed
the rest to the end; the parent, stopped with SIGTERM, exits 0 with no
child failed; tas releases the application and stops cleanly.
"""

import argparse
import signal

import harness
import registration

PORT = 5016
CONNS = 8
BYTES = 256 * harness.KIB
HANDOFF = 64 * harness.KIB
RUNS = 2


def served_lines(server):
    return [harness.parse_result_line(line, 'served') for line in server.stdout().splitlines()
            if line.startswith('served:')]


def main(test, program):
    bed = test.testbed()
    tas = test.tas(bed)
    server = test.spawn('tas-fork-serve', [harness.require_executable(program), '--port', PORT,
                                           '--handoff', HANDOFF], env=tas.env())
    test.services.append(server)
    server.wait_output(r'^fork_serve: listening', timeout=10)
    bed.wait_tas_listening(server, PORT)
    for run in range(RUNS):
        client = test.linux_bulk_client(bed, PORT, ['--conns', CONNS, '--send', BYTES,
                                                    '--recv', BYTES, '--echo', '--timeout', 30],
                                        name=f'linux-bulk-client-{run}')
        harness.check_bulk(client.result('bulk', timeout=40), conns=CONNS,
                           sent=CONNS * BYTES, recv=CONNS * BYTES)

    server.send_signal(signal.SIGTERM)
    result = server.result('fork_serve', timeout=15)
    total = RUNS * CONNS
    harness.check(result.get('connections') == total and result.get('failed') == 0,
                  f'{result["line"]}: expected connections={total} failed=0\n'
                  + server.describe())
    served = served_lines(server)
    children = [s for s in served if s.get('role') == 'child']
    grandchildren = [s for s in served if s.get('role') == 'grandchild']
    harness.check(len(children) == total and len(grandchildren) == total,
                  f'{len(children)} children and {len(grandchildren)} grandchildren '
                  f'served, not {total} each\n' + server.describe())
    harness.check(all(s.get('bytes') == HANDOFF and s.get('left') == 'yes' for s in children),
                  'a child did not echo exactly the hand-over bytes, or its copy did not '
                  'end with TAS_EV_LEFT\n' + server.describe())
    harness.check(all(s.get('bytes') == BYTES - HANDOFF for s in grandchildren),
                  'a grandchild did not echo the rest\n' + server.describe())
    test.log(f'{total} connections, each served by a child ({HANDOFF} bytes) and a '
             f'grandchild ({BYTES - HANDOFF} bytes); the parent closed its copies at once')
    app_id = registration.app_id_of(tas, server.pid)
    registration.wait_released(tas, app_id, server.pid)
    tas.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--program', required=True)
    path = parser.parse_args().program
    harness.run(lambda test: main(test, path), bound=90)
