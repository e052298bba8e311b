"""curl, unmodified, as an HTTP client.

--mode shim-client: curl under the shim on tas, nginx plainly in the
namespace (Linux TCP); linux: the same on Linux alone.  (curl against
nginx with both under the shim is prog_nginx.py --mode shim-both.)
Claims: curl uploads a 1 MiB random file (PUT) and fetches a 1 MiB
random file twice, on one kept-alive connection, then again with
"Connection: close" on a connection per transfer; every copy has the
sha256 of the original at the other end; nginx logs the requests, 2xx,
on one connection or on a connection each; tas stops cleanly.
Skipped in a sanitizer build: curl cannot run with the ASan runtime
preloaded (web.CURL_UNDER_ASAN).
"""

import harness
import web

PORT = 8082


def main(test, programs):
    if web.curl_cannot_run(programs):
        raise harness.Skip(web.CURL_UNDER_ASAN)
    nginx = web.Nginx(programs, PORT)
    for address in programs.server_addresses():
        where = programs.address_label(address)
        for close in (False, True):
            name = f'curl-{where}-{"close" if close else "keepalive"}'
            web.check_downloads(programs, nginx, name, address, close=close)
            nginx.check_log(name, at_least=3, keepalive=not close)
    nginx.check_workers()
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-client',), bound=90)
