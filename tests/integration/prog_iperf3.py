"""iperf3, unmodified: 10 s in each direction.

--mode shim-server: the iperf3 server under the shim on tas, the client
plainly in the namespace (Linux TCP); shim-client: the reverse;
shim-both: both under the shim, the client at tas's address; linux: a
layout of these on Linux alone.
Claims: for each direction (the client sending, and -R: the server
sending), a one-off iperf3 server and its client both exit 0 with a JSON
report without error, the test lasted its 10 s, moved at least a sane
minimum rate with no whole second without progress, and the receiver
got all the sender's bytes except what was still in flight at the end;
tas stops cleanly.
"""

import json

import harness
import web

PORT = 5211
SECONDS = 10
MIN_MBIT = 50          # Linux over this veth: ~6000 Mbit/s
TIMEOUT = SECONDS + 40


def report(proc, name):
    proc.finish(TIMEOUT)
    try:
        result = json.loads(proc.stdout())
    except ValueError as error:
        raise harness.Failure(f'{name}: output is not JSON ({error})\n'
                              + proc.describe()) from None
    harness.check('error' not in result, f'{name}: iperf3 error: {result.get("error")}')
    return result


def main(test, programs):
    for address in programs.server_addresses(loopback=False):
        where = programs.address_label(address)
        for port, reverse in ((PORT, False), (PORT + 1, True)):
            name = f'iperf3-{where}-{"reverse" if reverse else "forward"}'
            server = programs.server(f'{name}-server', [web.program('iperf3'), '--server',
                                                        '--one-off', '--json', '--bind',
                                                        '0.0.0.0', '--port', port])
            programs.wait_server_listening(server, port)
            client = programs.client(name, [web.program('iperf3'), '--client', address,
                                            '--port', port, '--time', SECONDS, '--json',
                                            '--connect-timeout', 10000]
                                     + (['--reverse'] if reverse else []))
            result = report(client, name)
            report(server, f'{name}-server')

            end = result['end']
            sent, received = end['sum_sent'], end['sum_received']
            mbit = received['bits_per_second'] / 1e6
            intervals = [interval['sum']['bytes'] for interval in result['intervals']]
            test.log(f'measured: {name}: {mbit:.0f} Mbit/s received, {received["bytes"]} '
                     f'of {sent["bytes"]} bytes in {received["seconds"]:.2f} s, retransmits '
                     f'{sent.get("retransmits", "?")}, per second {intervals}')
            harness.check(received['seconds'] >= SECONDS - 0.5,
                          f'{name}: ran {received["seconds"]} s, not {SECONDS}')
            harness.check(mbit >= MIN_MBIT, f'{name}: {mbit:.1f} Mbit/s, expected at least '
                          f'{MIN_MBIT}')
            harness.check(len(intervals) >= SECONDS and min(intervals) > 0,
                          f'{name}: a second without progress: {intervals}')
            harness.check(0 < received['bytes'] <= sent['bytes'],
                          f'{name}: received {received["bytes"]} of {sent["bytes"]} bytes')
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-server', 'shim-client', 'shim-both'), bound=150)
