"""nc (netcat-openbsd), unmodified: a file each way, checksummed.

--mode shim-server: the listening nc under the shim on tas, the
connecting nc plainly in the namespace (Linux TCP); shim-client: the
reverse; shim-both: both under the shim, at tas's address and at
127.0.0.1; linux: a layout of these on Linux alone.
For each address: the connecting nc sends a random file to a listener on
INADDR_ANY and shuts down its sending side at the end (-N), then a
listener on that very address sends another file to the connecting nc.
Claims: both ends exit 0 in each direction and every received file has
the sha256 of the one sent; tas stops cleanly.
"""

import itertools
import os
import time

import harness
import web

PORT = 7100
FILE_BYTES = 8 * harness.MIB
TIMEOUT = 60
LISTEN_TIMEOUT = 15   # seconds a listener may take to listen


def connect(programs, name, argv, server, stdin_path=None):
    """The connecting nc, run to completion.  A listener bound to loopback
    under the shim takes connections from this host only, so no probe from
    the namespace sees it listen: there the client itself polls, trying
    again (bounded) while it is refused."""
    deadline = time.monotonic() + LISTEN_TIMEOUT
    for attempt in itertools.count(1):
        client = programs.client(f'{name}-{attempt}' if attempt > 1 else name, argv,
                                 stdin_path=stdin_path)
        rc = client.wait(TIMEOUT)
        refused = rc != 0 and 'Connection refused' in client.stderr()
        if not refused or time.monotonic() >= deadline or not server.running():
            harness.check(rc == 0, f'{client.name} exited with {rc}\n' + client.describe())
            return client
        time.sleep(harness.POLL_INTERVAL)


def transfer(programs, address, port, to_server, listen_on):
    test = programs.test
    name = f'nc-{programs.address_label(address)}-{"to" if to_server else "from"}-server'
    source = os.path.join(test.workdir, f'{name}.data')
    sha = web.random_file(source, FILE_BYTES)
    nc = web.program('nc')
    # -d: do not read stdin; -N: shut the connection down for sending at
    # the end of stdin; -w: give up on a silent connection; -v: say why a
    # connect failed (without it nc exits 1 silently).
    if to_server:
        server = programs.server(f'{name}-listener', [nc, '-d', '-w', 30, '-l', listen_on, port])
    else:
        server = programs.server(f'{name}-listener', [nc, '-N', '-w', 30, '-l', listen_on, port],
                                 stdin_path=source)
    if not (programs.shim and listen_on.startswith('127.')):
        programs.wait_server_listening(server, port)
    if to_server:
        connect(programs, name, [nc, '-v', '-N', '-w', 30, address, port], server, stdin_path=source)
        receiver = server
    else:
        receiver = connect(programs, name, [nc, '-v', '-d', '-w', 30, address, port], server)
    server.finish(TIMEOUT)
    got = os.path.getsize(receiver.out_path)
    harness.check(got == FILE_BYTES and web.sha256_file(receiver.out_path) == sha,
                  f'{name}: received {got} bytes, differing from the {FILE_BYTES} sent')
    test.log(f'{name}: {FILE_BYTES} bytes, listener on {listen_on}, connected to {address}: '
             f'checksum equal')


def main(test, programs):
    port = PORT
    for address in programs.server_addresses():
        transfer(programs, address, port, to_server=True, listen_on='0.0.0.0')
        transfer(programs, address, port + 1, to_server=False, listen_on=address)
        port += 2
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-server', 'shim-client', 'shim-both'), bound=90)
