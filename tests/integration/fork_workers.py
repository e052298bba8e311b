"""A pre-fork server: tas-echo-server --workers 2.

The parent listens, then forks two workers; each creates a context of its
own (joining the parent's application) and accepts on the inherited
listener.  linux-bulk in the namespace opens CONNS connections at once,
each sending BYTES and verifying that exactly those bytes come back.
Claims: the transfer verifies with exact totals; tas logs both workers
joining the parent's application; each worker served some of the
connections and together all of them, with every byte; on SIGTERM the
parent passes the signal on and it and both workers exit 0; tas then
releases the application and stops cleanly.
"""

import signal

import echo_workers
import harness
import registration

PORT = 5012
WORKERS = 2
CONNS = 32
BYTES = 256 * harness.KIB


def main(test):
    bed = test.testbed()
    tas = test.tas(bed)
    server = test.spawn_app(tas, 'tas-echo-server', 'tas-echo-server',
                            ['--port', PORT, '--workers', WORKERS])
    pids = echo_workers.wait_accepting(server, WORKERS)
    app_id = registration.app_id_of(tas, server.pid)
    for pid in pids:
        registration.wait_joined(tas, app_id, pid)
    test.log(f'app {app_id}: parent {server.pid}, workers {pids} joined it')

    client = test.linux_bulk_client(bed, PORT, ['--conns', CONNS, '--send', BYTES,
                                                '--recv', BYTES, '--echo',
                                                '--timeout', 30])
    harness.check_bulk(client.result('bulk', timeout=40), conns=CONNS,
                       sent=CONNS * BYTES, recv=CONNS * BYTES)

    server.send_signal(signal.SIGTERM)
    echoed = server.result('echo', timeout=15)
    reports = echo_workers.final_reports(server.stdout())
    harness.check(sorted(reports) == list(range(WORKERS)),
                  f'reports of workers {sorted(reports)}\n' + server.describe())
    for index, report in reports.items():
        harness.check(report.get('exit') == 0 and report.get('pid') == pids[index],
                      f'worker {index}: {report["line"]}')
        harness.check(report.get('connections', 0) > 0,
                      f'worker {index} served no connection: {report["line"]}')
        test.log(f'measured: worker {index} served {report["connections"]} connections')
    harness.check(sum(r['connections'] for r in reports.values()) == CONNS and
                  echoed.get('connections') == CONNS and
                  echoed.get('bytes') == CONNS * BYTES,
                  f'workers served {echoed["line"]}, not {CONNS} connections '
                  f'of {BYTES} bytes')
    registration.wait_released(tas, app_id, server.pid)
    tas.stop()


if __name__ == '__main__':
    harness.run(main, bound=90)
