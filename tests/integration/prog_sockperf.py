"""sockperf TCP ping-pong, unmodified.

--mode shim-server: the sockperf server under the shim on tas, the
client plainly in the namespace (Linux TCP); shim-client: the reverse;
shim-both: both under the shim, at tas's address and at 127.0.0.1;
linux: a layout of these on Linux alone.
Claims: ping-pong with 64-byte messages for its duration exits 0, with
at least a minimum of round trips, every message answered (received =
sent), none dropped, duplicated or out of order, and a latency summary
(average, p50, p99, p99.9, max) whose median is sane; the server exits 0
on SIGINT; tas stops cleanly.
"""

import re
import signal

import harness
import web

PORT = 11211
SECONDS = 2
MESSAGE_BYTES = 64
MIN_ROUND_TRIPS = 1000   # in SECONDS; Linux here does ~35k a second
MAX_P50_USEC = 5000      # Linux here: ~30 us; tas: single-digit us
TIMEOUT = SECONDS + 30


def ping_pong(programs, address):
    name = f'sockperf-{programs.address_label(address)}'
    out = programs.run_client(name, [web.program('sockperf'), 'ping-pong', '--tcp',
                                     '-i', address, '-p', PORT, '-t', SECONDS,
                                     '-m', MESSAGE_BYTES], TIMEOUT)
    out = re.sub(r'\x1b\[[0-9;]*m', '', out)   # colours
    valid = re.search(r'\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); '
                      r'ReceivedMessages=(\d+)', out)
    harness.check(valid, f'{name}: no "Valid Duration" line\n{out}')
    sent, received = int(valid.group(2)), int(valid.group(3))
    harness.check(received == sent and received >= MIN_ROUND_TRIPS,
                  f'{name}: {sent} sent, {received} received, expected equal and at least '
                  f'{MIN_ROUND_TRIPS}\n{out}')
    faults = re.search(r'# dropped messages = (\d+); # duplicated messages = (\d+); '
                       r'# out-of-order messages = (\d+)', out)
    harness.check(faults and faults.groups() == ('0', '0', '0'),
                  f'{name}: dropped, duplicated, out of order: '
                  f'{faults and faults.groups()}\n{out}')
    latency = {key: float(value) for key, value in
               re.findall(r'---> percentile ([\d.]+) =\s*([\d.]+)', out)}
    average = re.search(r'avg-latency=([\d.]+)', out)
    maximum = re.search(r'<MAX> observation =\s*([\d.]+)', out)
    harness.check(average and maximum and all(p in latency for p in ('50.000', '99.000',
                                                                      '99.900')),
                  f'{name}: no latency summary\n{out}')
    harness.check(0 < latency['50.000'] <= MAX_P50_USEC,
                  f'{name}: median latency {latency["50.000"]} us, expected at most '
                  f'{MAX_P50_USEC}')
    programs.test.log(f'measured: {name}: {received} round trips of {MESSAGE_BYTES} B in '
                      f'{valid.group(1)} s; half round trip avg {average.group(1)} us, p50 '
                      f'{latency["50.000"]}, p99 {latency["99.000"]}, p99.9 '
                      f'{latency["99.900"]}, max {maximum.group(1)}')


def main(test, programs):
    server = programs.server('sockperf-server', [web.program('sockperf'), 'server', '--tcp',
                                                 '-i', '0.0.0.0', '-p', PORT])
    programs.wait_server_listening(server, PORT)
    for address in programs.server_addresses():
        ping_pong(programs, address)
    server.send_signal(signal.SIGINT)
    rc = server.wait(15)
    harness.check(rc == 0, f'sockperf server exited with {rc} on SIGINT\n' + server.describe())
    programs.finish()


if __name__ == '__main__':
    harness.run_programs(main, ('shim-server', 'shim-client', 'shim-both'), bound=90)
