"""wrk, unmodified, as an HTTP load generator.

--mode shim-client: wrk under the shim on tas, nginx plainly in the
namespace (Linux TCP); linux: the same on Linux alone.  (wrk against
nginx with both under the shim is prog_nginx.py --mode shim-both.)
Claims: wrk on 32 connections, kept alive and with "Connection: close",
gets no socket error, no non-2xx response and at least a minimum of
requests; nginx logs at least as many, 2xx, on connections that carried
many requests, or one each with "Connection: close"; tas stops cleanly.
"""

import harness
import web

PORT = 8083
WRK_SECONDS = 3
WRK_CONNS = 32


def main(test, programs):
    nginx = web.Nginx(programs, PORT)
    for address in programs.server_addresses():
        where = programs.address_label(address)
        for close in (False, True):
            name = f'wrk-{where}-{"close" if close else "keepalive"}'
            done = web.wrk(programs, name, address, PORT, WRK_SECONDS, WRK_CONNS, close=close)
            nginx.check_log(name, at_least=done, keepalive=not close)
    nginx.check_workers()
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-client',), bound=90)
