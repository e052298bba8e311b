"""redis-server with redis-benchmark and redis-cli, unmodified.

--mode shim-server: redis-server under the shim on tas, redis-benchmark
and redis-cli plainly in the namespace (Linux TCP); shim-client: the
reverse; shim-both: all under the shim, the clients at tas's address and
at 127.0.0.1; linux: a layout of these on Linux alone.
Claims: a 256 KiB random value SET with redis-cli reads back identical
(GET), and a short one too; redis-benchmark SET and GET, without
pipelining and with -P 16, reports every request completed; the server
counts at least that many commands processed (INFO); redis-server exits 0
on SHUTDOWN NOSAVE sent by redis-cli; tas stops cleanly.
"""

import binascii
import os
import re

import harness
import web

PORT = 6390
BENCH_CLIENTS = 20
BENCH_PAYLOAD = 256          # bytes per SET value
RUNS = [  # (pipeline depth, requests per test)
    (1, 10000),
    (16, 100000),
]
BIG_VALUE_BYTES = 256 * harness.KIB
TIMEOUT = 60


def cli(programs, name, address, args, stdin_path=None):
    return programs.run_client(name, [web.program('redis-cli'), '-h', address, '-p', PORT]
                               + list(args), TIMEOUT, stdin_path=stdin_path)


def check_values(programs, address, where):
    """A short value and a big one (redis-cli -x: the value from stdin) set
    and read back."""
    test = programs.test
    short = binascii.hexlify(os.urandom(16)).decode()
    out = cli(programs, f'redis-cli-{where}-set', address, ['SET', f'short-{where}', short])
    harness.check(out.strip() == 'OK', f'SET answered {out!r}')
    out = cli(programs, f'redis-cli-{where}-get', address, ['GET', f'short-{where}'])
    harness.check(out.strip() == short, f'GET answered {out!r}, not {short!r}')

    value_path = os.path.join(test.workdir, f'value-{where}')
    value = binascii.hexlify(os.urandom(BIG_VALUE_BYTES // 2))
    with open(value_path, 'wb') as f:
        f.write(value)
    out = cli(programs, f'redis-cli-{where}-set-big', address, ['-x', 'SET', f'big-{where}'],
              stdin_path=value_path)
    harness.check(out.strip() == 'OK', f'SET of {len(value)} bytes answered {out!r}')
    out = cli(programs, f'redis-cli-{where}-get-big', address, ['--raw', 'GET', f'big-{where}'])
    harness.check(out.encode().rstrip(b'\n') == value,
                  f'GET of the {len(value)}-byte value gave {len(out)} characters, different')
    test.log(f'redis-cli at {address}: a {len(short)}-byte and a {len(value)}-byte value '
             f'read back identical')


def benchmark(programs, address, where, pipeline, requests):
    """redis-benchmark SET and GET; every request completed."""
    name = f'redis-benchmark-{where}-P{pipeline}'
    out = programs.run_client(name, [web.program('redis-benchmark'), '-h', address, '-p', PORT,
                                     '-c', BENCH_CLIENTS, '-n', requests, '-d', BENCH_PAYLOAD,
                                     '-P', pipeline, '-t', 'set,get'], TIMEOUT)
    out = out.replace('\r', '\n')
    completed = dict(re.findall(r'^====== (\w+) ======\s*\n\s*(\d+) requests completed',
                                out, re.MULTILINE))
    rates = re.findall(r'throughput summary: ([\d.]+) requests per second', out)
    harness.check(completed == {'SET': str(requests), 'GET': str(requests)},
                  f'{name}: completed {completed}, expected {requests} SET and GET\n'
                  + harness.tail(out))
    programs.test.log(f'measured: {name}: {requests} SET and {requests} GET, '
                      f'{BENCH_CLIENTS} clients, pipeline {pipeline}: {rates} req/s')
    return 2 * requests


def main(test, programs):
    workdir = os.path.join(test.workdir, 'redis')
    os.mkdir(workdir)
    server = programs.server('redis-server', [
        web.program('redis-server'), '--port', PORT, '--bind', '0.0.0.0',
        '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--daemonize', 'no',
        '--dir', workdir, '--logfile', ''])
    programs.wait_server_listening(server, PORT)
    commands = 0
    for address in programs.server_addresses():
        where = programs.address_label(address)
        check_values(programs, address, where)
        for pipeline, requests in RUNS:
            commands += benchmark(programs, address, where, pipeline, requests)
    address = programs.server_addresses()[0]
    info = cli(programs, 'redis-cli-info', address, ['INFO', 'stats'])
    processed = re.search(r'total_commands_processed:(\d+)', info)
    harness.check(processed and int(processed.group(1)) >= commands,
                  f'redis processed {processed and processed.group(1)} commands, '
                  f'expected at least {commands}')
    test.log(f'redis-server processed {processed.group(1)} commands')
    cli(programs, 'redis-cli-shutdown', address, ['SHUTDOWN', 'NOSAVE'])
    rc = server.wait(15)
    harness.check(rc == 0, f'redis-server exited with {rc} after SHUTDOWN\n' + server.describe())
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-server', 'shim-client', 'shim-both'), bound=120)
