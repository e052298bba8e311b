"""ab (ApacheBench), unmodified, as an HTTP load generator.

--mode shim-client: ab under the shim on tas, nginx plainly in the
namespace (Linux TCP); shim-both: nginx under the shim too, ab at tas's
address and at 127.0.0.1; linux: a layout of these on Linux alone.
Claims: ab with keep-alive (-k) and without (HTTP/1.0, a connection per
request) completes every request, none failed, none non-2xx, every
document of the expected length, with -k every request kept alive;
nginx logs them all, on shared connections or one each; tas stops
cleanly.
"""

import harness
import web

PORT = 8084
RUNS = [  # (keep-alive, requests, concurrency)
    (True, 4000, 8),
    (False, 1000, 8),
]


def main(test, programs):
    nginx = web.Nginx(programs, PORT)
    for address in programs.server_addresses():
        where = programs.address_label(address)
        for keepalive, requests, conns in RUNS:
            name = f'ab-{where}-{"keepalive" if keepalive else "close"}'
            web.ab(programs, name, address, PORT, requests, conns, keepalive)
            nginx.check_log(name, at_least=requests, keepalive=keepalive)
    nginx.check_workers()
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-client', 'shim-both'), bound=90)
