"""TCP keepalive and the per-socket TCP options a program sets under the
shim (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT, TCP_NODELAY, TCP_CONGESTION).

A Python client under the shim on tas connects to a Python echo server
in the namespace (Linux TCP), sets keepalive with a 1 s idle time, 1 s
interval and 2 probes, and stays idle.  Claims:
  - the options read back as set, TCP_CONGESTION names the algorithm
    chosen (one the kernel here does not even have);
  - while the peer answers, the idle connection stays up and tas sends
    keepalive probes: at least 2 in 3.5 s (counted by nft in the
    namespace as zero-length segments from tas);
  - once the peer no longer answers (everything from tas dropped in the
    namespace), the program's recv fails with ETIMEDOUT after about
    idle + count * interval seconds, well before 10 s;
  - tas stops cleanly.
"""

import argparse
import errno
import re
import select
import socket
import sys
import time

import harness

PORT = 7300
IDLE_S = 1
INTERVAL_S = 1
PROBES = 2
QUIET_S = 3.5
DEAD_LIMIT_S = 10


def server(port):
    """Linux side: echo each message; exit when the connection ends."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('0.0.0.0', port))
    listener.listen(1)
    print('listening', flush=True)
    conn, _ = listener.accept()
    try:
        while (data := conn.recv(100)):
            conn.sendall(data)
    except OSError:
        pass


def client(address, port):
    """tas side, under the shim; prints a result line per step."""
    sock = socket.create_connection((address, port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, IDLE_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, INTERVAL_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, PROBES)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'dctcp')
    congestion = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16)
    congestion = congestion.split(b'\0')[0].decode()
    print(f'options: keepalive={sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)} '
          f'idle={sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)} '
          f'nodelay={sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)} '
          f'congestion={congestion}', flush=True)
    sock.sendall(b'ping')
    print(f'echo: reply={sock.recv(100).decode()}', flush=True)
    # Idle: nothing to read, no error, for QUIET_S.
    readable, _, _ = select.select([sock], [], [], QUIET_S)
    print(f'quiet: readable={len(readable)}', flush=True)
    sock.sendall(b'again')
    print(f'alive: reply={sock.recv(100).decode()}', flush=True)
    # The test cuts the peer off now; keepalive must find out.
    started = time.monotonic()
    sock.settimeout(DEAD_LIMIT_S + 5)
    try:
        sock.recv(100)
        outcome = 'data'
    except OSError as error:
        outcome = errno.errorcode.get(error.errno, str(error.errno))
    print(f'dead: error={outcome} secs={time.monotonic() - started:.2f}', flush=True)


# Zero-length segments from tas carry the timestamp option: 52 bytes.
COUNT_RULES = '''
table ip tas_test_keepalive {
    chain from_tas {
        type filter hook prerouting priority -300;
        ip saddr %s ip length 52 counter
    }
}'''


def probes_seen(bed):
    listing = bed.run_ns(['nft', 'list', 'table', 'ip', 'tas_test_keepalive'])
    return sum(int(n) for n in re.findall(r'counter packets (\d+)', listing))


def main(test):
    bed = test.testbed()
    tas = test.tas(bed)
    linux = test.spawn('linux-echo', bed.ns_argv(['/usr/bin/python3', __file__, '--server']))
    linux.wait_output('listening', 15)
    env = harness.shim_env(test, tas)
    env['PYTHONUNBUFFERED'] = '1'
    prog = test.spawn('shim-client', ['/usr/bin/python3', __file__, '--client', bed.peer_ip],
                      env=env)
    options = prog.wait_output(r'options: (.*)', 15).group(1)
    harness.check(options == 'keepalive=1 idle=1 nodelay=1 congestion=dctcp',
                  f'options read back as {options!r}')
    harness.check(prog.wait_output(r'echo: reply=(\w+)', 10).group(1) == 'ping', 'no echo')
    bed.run_ns(['nft', '-f', '-'], input_text=COUNT_RULES % bed.tas_ip)
    quiet = prog.wait_output(r'quiet: readable=(\d+)', QUIET_S + 10).group(1)
    harness.check(quiet == '0', 'the idle connection became readable')
    harness.check(prog.wait_output(r'alive: reply=(\w+)', 10).group(1) == 'again',
                  'the connection did not survive being idle')
    # Probes go after IDLE_S without a segment from the peer, whose
    # answer restarts the idle time: 3 in QUIET_S; the count may also hold
    # the ACK of the "again" reply.
    segments = probes_seen(bed)
    test.log(f'measured: {segments} zero-length segments from tas in {QUIET_S} s idle')
    harness.check(segments >= 3, f'only {segments} zero-length segments (keepalive '
                  f'probes) from tas in {QUIET_S} s idle')
    bed.run_ns(['nft', 'add', 'rule', 'ip', 'tas_test_keepalive', 'from_tas',
                'ip', 'saddr', bed.tas_ip, 'drop'])
    dead = prog.wait_output(r'dead: error=(\w+) secs=([\d.]+)', DEAD_LIMIT_S + 10)
    test.log(f'measured: peer cut off, recv failed with {dead.group(1)} after {dead.group(2)} s')
    harness.check(dead.group(1) == 'ETIMEDOUT', f'recv ended with {dead.group(1)}')
    secs = float(dead.group(2))
    harness.check(IDLE_S <= secs <= DEAD_LIMIT_S,
                  f'keepalive gave up after {secs} s, expected {IDLE_S + PROBES * INTERVAL_S} s')
    harness.check(prog.wait(10) == 0, 'client failed\n' + prog.describe())
    tas.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--server', action='store_true')
    parser.add_argument('--client')
    args = parser.parse_args()
    if args.server:
        server(PORT)
    elif args.client:
        client(args.client, PORT)
    else:
        harness.run(main, bound=60)
