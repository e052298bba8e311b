"""nginx, unmodified, with a master and two worker processes.

--mode shim-server: nginx under the shim on tas, curl and wrk plainly in
the namespace (Linux TCP); shim-both: curl and wrk under the shim too,
at tas's address and at 127.0.0.1 (tas's local delivery); linux: a
layout of these on Linux alone (harness.Programs).
Claims: the master runs two workers, both serve requests, and the same
two run at the end (none crashed); curl fetches a 1 MiB random file twice and uploads it once (PUT),
every copy with the server's sha256, on one kept-alive connection, and
again with "Connection: close" on a connection per transfer; wrk, kept
alive and with "Connection: close", gets no socket error, no non-2xx
response and at least a minimum of requests; nginx's access log shows
those requests with status 200, on connections that carried many
requests, or exactly one each with "Connection: close"; nginx shuts down
gracefully (SIGQUIT) with exit code 0; tas stops cleanly.
"""

import signal

import harness
import web

PORT = 8080
WRK_SECONDS = 2
WRK_CONNS = 16


def main(test, programs):
    nginx = web.Nginx(programs, PORT)
    workers_used = {}
    for address in programs.server_addresses():
        where = programs.address_label(address)
        for close in (False, True):
            kind = 'close' if close else 'keepalive'
            name = f'curl-{where}-{kind}'
            web.check_downloads(programs, nginx, name, address, close=close)
            nginx.check_log(name, at_least=1, keepalive=not close and not
                            web.curl_cannot_run(programs))

            name = f'wrk-{where}-{kind}'
            done = web.wrk(programs, name, address, PORT, WRK_SECONDS, WRK_CONNS, close=close)
            for entry in nginx.check_log(name, at_least=done, keepalive=not close):
                workers_used[entry['pid']] = workers_used.get(entry['pid'], 0) + 1
    nginx.check_workers()
    test.log(f'requests served by worker: {workers_used}')
    harness.check(set(workers_used) == set(nginx.workers),
                  f'requests served by {workers_used}: not by both workers {nginx.workers}')

    nginx.proc.send_signal(signal.SIGQUIT)
    rc = nginx.proc.wait(15)
    harness.check(rc == 0, f'nginx exited with {rc} on SIGQUIT\n' + nginx.proc.describe())
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-server', 'shim-both'), bound=150)
