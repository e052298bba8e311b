"""A worker of a pre-fork server killed with SIGKILL in the middle of a run.

tas-echo-server --workers 2; echo_clients.py in the namespace keeps CONNS
connections busy with verified request/echo rounds.  Once each has had an
echo (the workers took CONNS / 2 each: they had as many accepts waiting),
worker 0 is killed with SIGKILL.
Claims: some connections are reset (the Linux side sees RST, not FIN or a
hang) and the others complete every round verified and close in order;
the listener keeps accepting: AFTER new connections complete verified;
the surviving worker served exactly the completed and the new ones, so
the reset ones were the dead worker's; tas refuses a JOIN with a wrong
token (EACCES), one of an unknown type (EPROTO) or ABI version
(EPROTONOSUPPORT), and keeps running; once the parent has exited, tas
releases the application (its flows, contexts and region), its port
answers a SYN with RST and a JOIN to it is refused (ESRCH); tas stops
cleanly.
"""

import errno
import os
import random
import signal

import echo_workers
import harness
import registration

PORT = 5013
WORKERS = 2
CONNS = 16
AFTER = 8
ROUND_BYTES = 16 * harness.KIB
DURATION = 4


def echo_clients(test, bed, name, args):
    script = os.path.join(harness.INTEGRATION_DIR, 'echo_clients.py')
    return test.spawn(name, bed.ns_argv(['/usr/bin/python3', script, '--ip', bed.tas_ip,
                                         '--port', PORT] + harness.strs(args)))


def check_bad_requests(tas, app_id):
    path = tas.socket_path
    registration.check_refused(path, errno.EACCES, 'JOIN with a wrong token',
                               msg_type=registration.TAS_REG_JOIN, app_id=app_id,
                               token=random.getrandbits(64))
    registration.check_refused(path, errno.EPROTO, 'a message of unknown type',
                               msg_type=99)
    registration.check_refused(path, errno.EPROTONOSUPPORT, 'another ABI version',
                               msg_type=registration.TAS_REG_JOIN, app_id=app_id,
                               version=registration.abi_version() + 1)
    tas.check_alive()


def main(test):
    bed = test.testbed()
    tas = test.tas(bed)
    server = test.spawn_app(tas, 'tas-echo-server', 'tas-echo-server',
                            ['--port', PORT, '--workers', WORKERS])
    pids = echo_workers.wait_accepting(server, WORKERS)
    app_id = registration.app_id_of(tas, server.pid)

    busy = echo_clients(test, bed, 'echo-clients', ['--conns', CONNS, '--size', ROUND_BYTES,
                                                    '--duration', DURATION])
    busy.wait_output(rf'^ready: conns={CONNS}$', timeout=15)
    os.kill(pids[0], signal.SIGKILL)
    test.log(f'killed worker 0 (pid {pids[0]}) with SIGKILL')
    first = busy.result('echo_clients', timeout=DURATION + 20)
    harness.check(first['reset'] > 0 and first['completed'] > 0 and
                  first['reset'] + first['completed'] == CONNS,
                  f'expected resets and completions: {first["line"]}')
    test.log(f'measured: {first["reset"]} connections reset, {first["completed"]} '
             f'completed {first["rounds"]} rounds in all')

    check_bad_requests(tas, app_id)
    after = echo_clients(test, bed, 'echo-clients-after', ['--conns', AFTER, '--size',
                                                           ROUND_BYTES, '--duration', 1])
    second = after.result('echo_clients', timeout=25)
    harness.check(second['completed'] == AFTER, f'after the kill: {second["line"]}')
    tas.check_alive()

    server.send_signal(signal.SIGTERM)
    harness.check(server.wait(15) == 1,
                  'the parent does not report the killed worker\n' + server.describe())
    reports = echo_workers.final_reports(server.stdout())
    harness.check(reports.get(0, {}).get('signal') == signal.SIGKILL,
                  'worker 0 not reported killed\n' + server.describe())
    survivor = reports.get(1, {})
    harness.check(survivor.get('exit') == 0 and
                  survivor.get('connections') == first['completed'] + AFTER,
                  f'worker 1 served {survivor.get("connections")} connections, not the '
                  f'{first["completed"]} completed and {AFTER} later ones\n'
                  + server.describe())

    registration.wait_released(tas, app_id, server.pid)
    refused = echo_clients(test, bed, 'echo-clients-refused', ['--expect', 'refused',
                                                              '--timeout', 5])
    harness.check(refused.wait(15) == 0, 'the port still listens after the application '
                  'left\n' + refused.describe())
    registration.check_refused(tas.socket_path, errno.ESRCH, 'JOIN to a gone application',
                               msg_type=registration.TAS_REG_JOIN, app_id=app_id)
    tas.stop()


if __name__ == '__main__':
    harness.run(main, bound=100)
