"""memcached with memaslap (Debian: memcaslap) and memcstat, unmodified.

--mode shim-server: memcached under the shim on tas, memaslap and
memcstat plainly in the namespace (Linux TCP); shim-client: the reverse;
shim-both: all under the shim, the clients at tas's address and at
127.0.0.1; linux: a layout of these on Linux alone.
Claims: memaslap runs its time on 16 connections with 1 KiB values,
verifying a tenth of what it reads, with no get miss, no verify miss or
failure, and at least a minimum of operations; memcached's own counters
(memcstat) agree: it received every command memaslap counted except
at most two per connection (memaslap counts one it never sends), and
missed no get; memcached exits 0
on SIGTERM; tas stops cleanly.
"""

import re
import signal

import harness
import web

PORT = 11311
SECONDS = 3
CONCURRENCY = 16
VALUE_BYTES = 1024
IN_FLIGHT_SLACK = 2   # commands a connection may have counted but not sent
MIN_OPS = 1000   # in SECONDS; Linux here does ~70k a second
TIMEOUT = 60


def counters(text):
    return {key: int(value) for key, value in re.findall(r'^\s*(\w+): (\d+)\s*$', text,
                                                         re.MULTILINE)}


def server_stats(programs, address, name):
    out = programs.run_client(name, [web.program('memcstat'),
                                     f'--servers={address}:{PORT}'], TIMEOUT)
    stats = counters(out)
    harness.check('cmd_get' in stats and 'cmd_set' in stats,
                  f'{name}: no cmd_get/cmd_set in\n{out}')
    return stats


def main(test, programs):
    server = programs.server('memcached', [web.program('memcached'), '-u', 'memcache',
                                           '-l', '0.0.0.0', '-p', PORT, '-U', '0', '-t', 2,
                                           '-m', 64, '-c', 1024])
    programs.wait_server_listening(server, PORT)
    address0 = programs.server_addresses()[0]
    before = server_stats(programs, address0, 'memcstat-before')
    sent = {'cmd_get': 0, 'cmd_set': 0}
    for address in programs.server_addresses():
        name = f'memaslap-{programs.address_label(address)}'
        out = programs.run_client(name, [web.program('memcaslap'), '-s', f'{address}:{PORT}',
                                         '-t', f'{SECONDS}s', '-T', 1, '-c', CONCURRENCY,
                                         '-X', VALUE_BYTES, '-v', '0.1'],
                                  SECONDS + TIMEOUT)
        result = counters(out)
        ops = re.search(r'Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)', out)
        harness.check(ops, f'{name}: no "Run time" summary\n{out}')
        wrong = {key: result.get(key) for key in ('get_misses', 'verify_misses', 'verify_failed')
                 if result.get(key) != 0}
        harness.check(not wrong, f'{name}: {wrong}, expected 0\n{out}')
        harness.check(int(ops.group(2)) >= MIN_OPS, f'{name}: {ops.group(2)} operations, '
                      f'expected at least {MIN_OPS}\n{out}')
        for key in sent:
            sent[key] += result[key]
        test.log(f'measured: {name}: {ops.group(2)} operations in {ops.group(1)} s '
                 f'({ops.group(3)}/s), get {result["cmd_get"]}, set {result["cmd_set"]}, '
                 f'{CONCURRENCY} connections, {VALUE_BYTES}-byte values')

    after = server_stats(programs, address0, 'memcstat-after')
    runs = len(programs.server_addresses())
    received = {key: after[key] - before[key] for key in sent}
    test.log(f'memcached counted {received}, memaslap sent {sent}')
    # memaslap counts a command per connection it never gets to send.
    unsent = sum(sent.values()) - sum(received.values())
    harness.check(all(received[key] <= sent[key] for key in sent) and
                  0 <= unsent <= runs * CONCURRENCY * IN_FLIGHT_SLACK,
                  f'memcached counted {received}, memaslap {sent}')
    harness.check(after['get_misses'] == before['get_misses'],
                  f'memcached missed {after["get_misses"] - before["get_misses"]} gets')

    server.send_signal(signal.SIGTERM)
    rc = server.wait(15)
    harness.check(rc == 0, f'memcached exited with {rc} on SIGTERM\n' + server.describe())
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-server', 'shim-client', 'shim-both'), bound=90)
