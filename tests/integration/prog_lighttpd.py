"""lighttpd, unmodified, serving files.

--mode shim-server: lighttpd under the shim on tas, curl and wrk plainly
in the namespace (Linux TCP); shim-both: curl and wrk under the shim
too, at tas's address and at 127.0.0.1; linux: a layout of these on
Linux alone (harness.Programs).
Claims: curl, at each address, fetches a 1 MiB random file twice on one
kept-alive connection and twice with "Connection: close" on a connection
each, every copy with the server's sha256; wrk (at the first address),
kept alive and with "Connection: close", gets no socket error, no non-2xx response and at
least a minimum of requests, and lighttpd logs at least as many
requests, all 200; lighttpd exits 0 on SIGTERM; tas stops cleanly.
"""

import signal

import harness
import web

PORT = 8081
WRK_SECONDS = 2
WRK_CONNS = 16
LOG_FLUSH_TIMEOUT = 10


def main(test, programs):
    lighttpd = web.Lighttpd(programs, PORT)
    addresses = programs.server_addresses()
    wrk_runs = {}
    for address in addresses:
        where = programs.address_label(address)
        for close in (False, True):
            kind = 'close' if close else 'keepalive'
            web.check_downloads(programs, lighttpd, f'curl-{where}-{kind}', address,
                                close=close, upload=False)
            if address == addresses[0]:
                name = f'wrk-{where}-{kind}'
                wrk_runs[name] = web.wrk(programs, name, address, PORT, WRK_SECONDS, WRK_CONNS,
                                         close=close)
    # lighttpd buffers its access log and writes it out every second.
    for name, done in wrk_runs.items():
        harness.wait_until(lambda: len(lighttpd.requests(name)) >= done, LOG_FLUSH_TIMEOUT,
                           lambda: f'{name}: lighttpd logged {len(lighttpd.requests(name))}'
                           f' requests; wrk completed {done}')
        statuses = set(lighttpd.requests(name))
        harness.check(statuses == {200}, f'{name}: statuses {statuses} in the log, not 200')
    harness.check(lighttpd.proc.running(), 'lighttpd exited\n' + lighttpd.proc.describe())
    lighttpd.proc.send_signal(signal.SIGTERM)
    rc = lighttpd.proc.wait(15)
    harness.check(rc == 0, f'lighttpd exited with {rc} on SIGTERM\n' + lighttpd.proc.describe())
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-server', 'shim-both'), bound=120)
