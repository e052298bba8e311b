"""Echo server and closed-loop RPC client across the veth.

--client linux: linux-rpc-client in the namespace against tas-echo-server;
--client tas: tas-rpc-client against linux-echo-server in the namespace.
Runs small (one segment) and large (many segments, larger than the
initial window) requests.  Claims: every run completes requests with
errors=0; the echo server, stopped with SIGTERM, exits 0 having served
every connection; tas stops cleanly.
"""

import argparse
import signal

import harness

PORT = 5006
RUNS = [  # (request bytes, connections, requests in flight per connection)
    (64, 8, 4),
    (64 * harness.KIB, 4, 2),
]
DURATION = 3


def main(test, client_side):
    bed = test.testbed()
    tas = test.tas(bed)
    if client_side == 'linux':
        server = test.spawn_app(tas, 'tas-echo-server', 'tas-echo-server', ['--port', PORT])
        bed.wait_tas_listening(server, PORT)
    else:
        server = test.spawn_ns(bed, 'linux-echo-server', 'linux-echo-server', ['--port', PORT])
        bed.wait_linux_listening(server, PORT)

    for size, conns, inflight in RUNS:
        args = ['--port', PORT, '--size', size, '--conns', conns, '--inflight', inflight,
                '--duration', DURATION]
        name = f'{client_side}-rpc-client-{size}'
        if client_side == 'linux':
            client = test.spawn_ns(bed, name, 'linux-rpc-client', ['--ip', bed.tas_ip] + args)
        else:
            client = test.spawn_app(tas, name, 'tas-rpc-client', ['--ip', bed.peer_ip] + args)
        result = client.result('rpc', timeout=DURATION + 20)
        harness.check(result.get('errors') == 0 and result.get('ops', 0) > 0,
                      f'{name}: {result["line"]}')
        test.log(f'measured: {size} B requests: {result["ops_per_sec"]} ops/s, '
                 f'p50 {result["p50_us"]} us, p99 {result["p99_us"]} us')

    server.send_signal(signal.SIGTERM)
    echoed = server.result('echo', timeout=10)
    served = sum(conns for _, conns, _ in RUNS)
    harness.check(echoed.get('connections') == served,
                  f'{server.name} served {echoed.get("connections")} connections, not {served}')
    tas.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--client', choices=('linux', 'tas'), required=True)
    side = parser.parse_args().client
    harness.run(lambda test: main(test, side), bound=90)
