"""The classic forking server under the sockets shim: shim-fork-server
(shim_fork_server.c, plain libc sockets) accepts, forks a child for each
connection and closes its own descriptor at once; the child waits for the
connection in poll() and echoes it with read/write, and halfway
(--handoff) forks a grandchild that echoes the rest from an epoll loop.
The connection moves with its user each time (libtas/interpose
sock_adopt.c).

linux-bulk in the namespace opens CONNS connections at once, each
sending BYTES and verifying that exactly those bytes come back; then it
does so again (the parent keeps accepting).  --mode shim-server: the
server on the host under the shim, with --expect-moved (after the
hand-over the child finds its descriptor gone: POLLNVAL, EBADF, a silent
close); --mode linux (not registered): the same on Linux, without it.
Claims: both runs verify with exact totals; every connection was served
by a child that echoed HANDOFF bytes and a grandchild that echoed the
rest; the server, stopped with SIGTERM, exits 0 with no child failed;
no sanitizer reports; tas stops cleanly.
"""

import argparse
import signal

import harness

PORT = 7300
CONNS = 8
BYTES = 256 * harness.KIB
HANDOFF = 64 * harness.KIB
RUNS = 2


def main(test, programs, program):
    argv = [harness.require_executable(program), '--port', PORT, '--handoff', HANDOFF]
    if programs.shim:
        argv.append('--expect-moved')
    server = programs.server('shim-fork-server', argv)
    server.wait_output(r'^fork_server: listening', timeout=10)
    programs.wait_server_listening(server, PORT)
    address = programs.server_addresses()[0]
    for run in range(RUNS):
        client = programs.client(f'linux-bulk-client-{run}', [
            harness.require_executable(harness.app_exe('linux-bulk')),
            '--connect', f'{address}:{PORT}', '--conns', CONNS, '--send', BYTES,
            '--recv', BYTES, '--echo', '--timeout', 30])
        harness.check_bulk(client.result('bulk', timeout=40), conns=CONNS,
                           sent=CONNS * BYTES, recv=CONNS * BYTES)

    server.send_signal(signal.SIGTERM)
    result = server.result('fork_server', timeout=15)
    total = RUNS * CONNS
    harness.check(result.get('connections') == total and result.get('failed') == 0,
                  f'{result["line"]}: expected connections={total} failed=0\n'
                  + server.describe())
    served = [harness.parse_result_line(line, 'served')
              for line in server.stdout().splitlines() if line.startswith('served:')]
    children = [s['bytes'] for s in served if s.get('role') == 'child']
    grandchildren = [s['bytes'] for s in served if s.get('role') == 'grandchild']
    harness.check(children == [HANDOFF] * total and
                  grandchildren == [BYTES - HANDOFF] * total,
                  f'children echoed {children}, grandchildren {grandchildren}: expected '
                  f'{total} of {HANDOFF} and {BYTES - HANDOFF} bytes\n' + server.describe())
    test.log(f'{total} connections, each served by a child ({HANDOFF} bytes) and a '
             f'grandchild ({BYTES - HANDOFF} bytes); the parent closed its copies at once')
    programs.finish()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--mode', choices=('shim-server', 'linux'), required=True)
    parser.add_argument('--program', required=True)
    args = parser.parse_args()
    harness.run(lambda test: main(test, harness.Programs(test, args.mode, like='shim-server'),
                                  args.program), bound=90)
