"""Echo RPC: tas against Linux, pair by pair.

Two setups, each comparing one tas case with one Linux case:

  local   client and server on this host: tas-rpc-client -> tas-echo-server
          through tas's local delivery (the client connects to tas's own
          address), against linux-rpc-client -> linux-echo-server over
          loopback (127.0.0.1).
  remote  linux-rpc-client in a network namespace, across a veth pair
          with offloads off on both ends, to tas-echo-server on tas
          (test bed NAME-tas, driven by tas through net_af_packet) against
          linux-echo-server on the host's kernel (a second, identical test
          bed whose host end gets the address tas would have).

For every combination of request size, connections and requests in
flight, each repetition runs the tas case and the Linux case back to
back, the order alternating, so slow drifts of the machine hit both.
"""

import itertools
import os
import statistics
import subprocess
import time

import harness

SIZES = (64, 2048)
CONNS = (1, 64)
INFLIGHT = (1, 32)
COMBINATIONS = list(itertools.product(SIZES, CONNS, INFLIGHT))
STACKS = ('tas', 'linux')

TAS_BED = 'bnchtas'
LINUX_BED = 'bnchlnx'
TAS_ECHO_PORT = 7101
LINUX_ECHO_PORT = 7102
CLIENT_GRACE = 30          # seconds beyond warm-up + duration
CONGESTION_SYSCTL = 'net.ipv4.tcp_congestion_control'


class Params:
    def __init__(self, repeats, duration, warmup):
        self.repeats = repeats
        self.duration = duration
        self.warmup = warmup


class Setup:
    """One comparison: how to start the client of each stack."""

    def __init__(self, key, title, client):
        self.key = key
        self.title = title
        self.client = client  # (stack, size, conns, inflight, params) -> (argv, env, where)


class Services:
    """Everything both setups run against: one tas with its echo server,
    one Linux echo server, and the two test beds."""

    def __init__(self, test):
        self.test = test
        self.bed = harness.Testbed(test, TAS_BED)
        self.linux_bed = harness.Testbed(test, LINUX_BED)
        # The Linux server's end of the second veth gets the address tas
        # has on the first: same subnet layout, same offloads (all off).
        address = ['ip', 'addr', 'add', f'{self.linux_bed.tas_ip}/{self.linux_bed.prefix}',
                   'dev', self.linux_bed.iface]
        subprocess.run(address, check=True)
        self.bed_commands = [f'tools/testbed.sh up {TAS_BED}', f'tools/testbed.sh up {LINUX_BED}',
                             ' '.join(address)]
        self.tas = harness.Tas(test, self.bed)
        self.tas_echo = test.spawn_app(self.tas, 'tas-echo-server', 'tas-echo-server',
                                       ['--port', TAS_ECHO_PORT])
        self.bed.wait_tas_listening(self.tas_echo, TAS_ECHO_PORT)
        self.linux_echo = test.spawn('linux-echo-server', [
            harness.require_executable(harness.app_exe('linux-echo-server')),
            '--port', LINUX_ECHO_PORT])
        self.linux_bed.wait_linux_listening(self.linux_echo, LINUX_ECHO_PORT)

    def tas_log_line(self, prefix):
        """tas's log line starting with `tas: PREFIX`, for the report."""
        for line in (self.tas.proc.stderr() + self.tas.proc.stdout()).splitlines():
            if line.startswith('tas: ' + prefix):
                return line
        return ''


def rpc_args(ip, port, size, conns, inflight, params):
    return ['--ip', ip, '--port', port, '--size', size, '--conns', conns,
            '--inflight', inflight, '--duration', params.duration,
            '--warmup', params.warmup]


def setups(services):
    bed, linux_bed = services.bed, services.linux_bed

    def local_client(stack, size, conns, inflight, params):
        if stack == 'tas':
            return (['tas-rpc-client'] + rpc_args(bed.tas_ip, TAS_ECHO_PORT, size,
                                                   conns, inflight, params),
                    services.tas.env(), None)
        return (['linux-rpc-client'] + rpc_args('127.0.0.1', LINUX_ECHO_PORT, size,
                                                conns, inflight, params), None, None)

    def remote_client(stack, size, conns, inflight, params):
        if stack == 'tas':
            return (['linux-rpc-client'] + rpc_args(bed.tas_ip, TAS_ECHO_PORT, size,
                                                    conns, inflight, params), None, bed)
        return (['linux-rpc-client'] + rpc_args(linux_bed.tas_ip, LINUX_ECHO_PORT, size,
                                                conns, inflight, params), None, linux_bed)

    return [Setup('local', 'client and server on one host', local_client),
            Setup('remote', 'client in a namespace, across a veth', remote_client)]


def client_argv(setup, stack, size, conns, inflight, params):
    """(full argv, env) of a client; also used, with placeholders, to
    print the exact command in the report."""
    argv, env, bed = setup.client(stack, size, conns, inflight, params)
    argv = [harness.require_executable(harness.app_exe(argv[0]))] + harness.strs(argv[1:])
    if bed is not None:
        argv = bed.ns_argv(argv)
    return argv, env


def command_text(setup, stack, params):
    argv, env = client_argv(setup, stack, '{size}', '{conns}', '{inflight}', params)
    prefix = f'TAS_SOCKET={env["TAS_SOCKET"]} ' if env and 'TAS_SOCKET' in env else ''
    return prefix + ' '.join(argv)


def run_client(test, setup, stack, combo, params, run_id):
    """One measurement; a dict of the client's `rpc:` line, or one with
    'error' set."""
    size, conns, inflight = combo
    argv, env = client_argv(setup, stack, size, conns, inflight, params)
    name = f'{setup.key}-{stack}-{size}-{conns}-{inflight}-{run_id}'
    proc = test.spawn(name, argv, env=env)
    try:
        return proc.result('rpc', params.warmup + params.duration + CLIENT_GRACE)
    except harness.Failure as failure:
        proc.kill_group()
        return {'error': str(failure).splitlines()[0], 'output': proc.describe()}


def measure_tas_cpu(tas, body):
    """body()'s result with 'tas_cpu' added, the CPU time tas's threads
    used meanwhile per second of wall time, and 'load_before', the
    1-minute load average when it started (others' work on the machine
    shows there)."""
    cpu_before, wall_before = harness.process_run_seconds(tas.pid), time.monotonic()
    load_before = os.getloadavg()[0]
    result = body()
    result['load_before'] = load_before
    result['tas_cpu'] = ((harness.process_run_seconds(tas.pid) - cpu_before)
                         / (time.monotonic() - wall_before))
    return result


def set_host_congestion_control(test, algorithm):
    """Host sockets (Linux server, loopback pair) use the algorithm the
    namespaces use; the old setting is restored at clean-up."""
    old = subprocess.run(['sysctl', '-n', CONGESTION_SYSCTL], capture_output=True,
                         text=True, check=True).stdout.strip()
    if old == algorithm:
        return old
    subprocess.run(['sysctl', '-qw', f'{CONGESTION_SYSCTL}={algorithm}'], check=True)
    test.defer(lambda: subprocess.run(['sysctl', '-qw', f'{CONGESTION_SYSCTL}={old}'],
                                      check=True), f'restore {CONGESTION_SYSCTL}={old}')
    return old


def namespace_congestion_control(bed):
    return bed.run_ns(['sysctl', '-n', CONGESTION_SYSCTL]).strip()


def describe_result(result):
    if 'error' in result:
        return 'FAILED: ' + result['error']
    return (f'{result["ops_per_sec"]} ops/s p50 {result["p50_us"]} us '
            f'p99 {result["p99_us"]} us')


def run(test, params, log, only=None):
    """Run every pair; returns a dict with the setups, their results
    {(setup key, combo, stack): [result, ...]} and the conditions."""
    host_cc_before = set_host_congestion_control(test, 'cubic')
    services = Services(test)
    chosen = [s for s in setups(services) if only is None or s.key in only]
    results = {}
    for repetition in range(params.repeats):
        for setup in chosen:
            for index, combo in enumerate(COMBINATIONS):
                order = STACKS if (repetition + index) % 2 == 0 else STACKS[::-1]
                for stack in order:
                    services.tas.check_alive()
                    result = measure_tas_cpu(services.tas, lambda: run_client(
                        test, setup, stack, combo, params, repetition))
                    results.setdefault((setup.key, combo, stack), []).append(result)
                    log(f'{setup.key} {repetition + 1}/{params.repeats} '
                        f'size={combo[0]} conns={combo[1]} inflight={combo[2]} '
                        f'{stack}: {describe_result(result)}')
    return {
        'setups': chosen,
        'results': results,
        'params': params,
        'commands': {
            'beds': [f'sysctl -w {CONGESTION_SYSCTL}=cubic    # restored afterwards']
                    + services.bed_commands,
            'tas': ' '.join(services.tas.proc.argv),
            'tas-echo-server': f'TAS_SOCKET={services.tas.socket_path} '
                               + ' '.join(services.tas_echo.argv),
            'linux-echo-server': ' '.join(services.linux_echo.argv),
            'clients': {(s.key, stack): command_text(s, stack, params)
                        for s in chosen for stack in STACKS},
        },
        'tas_ready': services.tas_log_line('ready:'),
        'tas_eal': services.tas_log_line('EAL arguments:'),
        'tas_huge': services.tas.huge,
        'beds': (services.bed, services.linux_bed),
        'congestion_control': {
            'host (during the run)': 'cubic' + (f' (was {host_cc_before})'
                                                if host_cc_before != 'cubic' else ''),
            'namespaces': namespace_congestion_control(services.bed),
        },
        'workdir': test.workdir,
    }


def summary(runs):
    """Medians of the successful runs: ops/s, p50, p99 (None if none)."""
    good = [r for r in runs if 'error' not in r]
    if not good:
        return None
    return {
        'ops_per_sec': statistics.median(r['ops_per_sec'] for r in good),
        'p50_us': statistics.median(r['p50_us'] for r in good),
        'p99_us': statistics.median(r['p99_us'] for r in good),
        'ops_min': min(r['ops_per_sec'] for r in good),
        'ops_max': max(r['ops_per_sec'] for r in good),
        'tas_cpu': statistics.median(r['tas_cpu'] for r in good),
        'runs': len(good),
        'failed': len(runs) - len(good),
    }
