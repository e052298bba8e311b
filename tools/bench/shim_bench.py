"""Unmodified programs: servers under the sockets shim on tas against the
same servers on Linux, case by case.

Two test beds made by tools/testbed.sh, as in rpc_bench's `remote` setup:
NAME-tas, whose host end tas drives through net_af_packet, and a second,
identical one whose host end the kernel owns, with the address tas has on
the first.  The servers (nginx, redis-server, sockperf, iperf3) run on the
host: under LD_PRELOAD=libtas-interpose.so on tas for "tas", plainly on
the kernel for "Linux".  The clients (wrk, redis-benchmark, sockperf
ping-pong, iperf3 -c) run plainly in the namespace of the respective bed,
with the same arguments except the server's address and port.

The cases run program by program: both servers of a program start, every
repetition of its cases runs, both stop.  Each repetition runs the tas
case and the Linux case back to back, the order alternating, so slow
drifts of the machine hit both.  A run with any error (wrk socket errors
or non-2xx responses, redis-benchmark requests not completed, sockperf
messages lost, an iperf3 error, a client that hangs or fails) counts as
failed: it keeps its error count and output, and gives no figure.
"""

import json
import os
import re
import resource
import shlex
import signal
import statistics
import subprocess
import time

import harness
import rpc_bench
import web

TAS_BED = 'bnshtas'
LINUX_BED = 'bnshlnx'
STACKS = ('tas', 'linux')
STACK_NAMES = {'tas': 'tas', 'linux': 'Linux'}

# Open-file limit of the clients and nginx workers: enough for 1000
# connections; at most the hard limit, which a container may not let even
# root raise (no CAP_SYS_RESOURCE).
NOFILE = min(16384, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
NGINX_WORKERS = 2
NGINX_WORKER_CONNECTIONS = 4096
NGINX_BACKLOG = 4096
FILE_NAME = '1k.bin'
FILE_BYTES = 1024
WRK_THREADS = 2
WRK_TIMEOUT = '5s'
REDIS_CLIENTS = 50
REDIS_REQUESTS_PER_SECOND = 40000   # -n = this x --duration (Linux: ~90k/s)
SOCKPERF_BYTES = 64
IPERF_OMIT = 1                 # seconds at the start iperf3 leaves out
SERVER_STOP_TIMEOUT = 10
CLIENT_GRACE = 30              # seconds a client may take beyond its own duration

# Base port of each program's server on tas; the Linux one listens on the
# next port (two servers on one host kernel port would confuse the check
# that a shimmed server does not listen on Linux too).  Away from the
# programs' default ports, which the integration tests use on this host.
PORTS = {'nginx': 18090, 'redis': 16390, 'sockperf': 21300, 'iperf3': 15300}
GROUPS = ('nginx', 'redis', 'sockperf', 'iperf3')

# sysctls set in both namespaces (the clients' side), identically.
NAMESPACE_SYSCTLS = (
    # Connection: close runs make ~10^4 connections a second; the client
    # closes first and keeps TIME-WAIT, so without reuse the namespace runs
    # out of its ~28k ephemeral ports within seconds.
    ('net.ipv4.tcp_tw_reuse', '1'),
)
RECORDED_SYSCTLS = ('net.ipv4.tcp_tw_reuse', 'net.ipv4.ip_local_port_range',
                    'net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog',
                    'net.ipv4.tcp_timestamps', 'net.ipv4.tcp_congestion_control')


class Params:
    def __init__(self, repeats, duration, cases=None):
        self.repeats = repeats
        self.duration = duration
        self.cases = cases

    @property
    def seconds(self):
        """wrk/sockperf/iperf3 durations are whole seconds."""
        return max(1, int(round(self.duration)))

    def redis_requests(self, pipeline=1):
        """-n of redis-benchmark: about --duration seconds per test on
        Linux (pipelining does ~10 times as many requests a second)."""
        return int(REDIS_REQUESTS_PER_SECOND * self.duration * (10 if pipeline > 1 else 1))


class Metric:
    def __init__(self, key, label, unit, kind, digits=0):
        self.key = key
        self.label = label
        self.unit = unit
        self.kind = kind          # 'throughput' (higher is better) or 'latency'
        self.digits = digits


class Case:
    """One client command against one program's server.  args(ip, port,
    params) gives the client's argv; parse(stdout, stderr, rc, params)
    gives its figures, or one with 'error' (and 'errors', a count)."""

    def __init__(self, key, group, title, args, parse, metrics, timeout):
        self.key = key
        self.group = group
        self.title = title
        self.args = args
        self.parse = parse
        self.metrics = metrics
        self.timeout = timeout    # params -> seconds


# ----------------------------------------------------------------------
# Clients and what they print

def latency_us(value, unit):
    return float(value) * {'us': 1, 'ms': 1e3, 's': 1e6, 'm': 60e6, 'h': 3600e6}[unit]


def failed(message, errors=None, **figures):
    result = dict(figures, error=message)
    if errors is not None:
        result['errors'] = errors
    return result


def wrk_args(conns, close):
    def args(ip, port, params):
        argv = ['prlimit', f'--nofile={NOFILE}:{NOFILE}', web.program('wrk'),
                '-t', str(WRK_THREADS), '-c', str(conns), '-d', f'{params.seconds}s',
                '--timeout', WRK_TIMEOUT, '--latency']
        if close:
            argv += ['-H', 'Connection: close']
        return argv + [f'http://{ip}:{port}/{FILE_NAME}']
    return args


def parse_wrk(out, err, rc, params):
    done = re.search(r'^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(\w+) read',
                     out, re.MULTILINE)
    rate = re.search(r'^Requests/sec:\s*([\d.]+)', out, re.MULTILINE)
    if rc != 0 or not done or not rate:
        return failed(f'wrk exited with {rc}' if rc else 'wrk printed no request count',
                      errors=None)
    figures = {'requests': int(done.group(1)), 'rps': float(rate.group(1))}
    for percent, value, unit in re.findall(r'^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$',
                                           out, re.MULTILINE):
        figures[f'p{percent}_us'] = latency_us(value, unit)
    sockets = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), '
                        r'timeout (\d+)', out)
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    counts = [int(n) for n in sockets.groups()] if sockets else [0, 0, 0, 0]
    bad = int(non_2xx.group(1)) if non_2xx else 0
    errors = sum(counts) + bad
    if errors or figures['requests'] == 0:
        parts = []
        if sum(counts):
            parts.append(f'{sum(counts):,} socket errors (connect {counts[0]:,}, read '
                         f'{counts[1]:,}, write {counts[2]:,}, timeout {counts[3]:,})')
        if bad:
            parts.append(f'{bad:,} non-2xx/3xx responses')
        if figures['requests'] == 0:
            parts.append('no request completed')
        return failed(', '.join(parts) + f' in {figures["requests"]:,} requests',
                      errors=errors, **figures)
    return figures


def redis_args(pipeline):
    def args(ip, port, params):
        argv = [web.program('redis-benchmark'), '-h', ip, '-p', str(port),
                '-c', str(REDIS_CLIENTS), '-n', str(params.redis_requests(pipeline)),
                '-t', 'set,get']
        if pipeline > 1:
            argv += ['-P', str(pipeline)]
        return argv
    return args


def redis_parse(pipeline):
    def parse(out, err, rc, params):
        return parse_redis(out, err, rc, params.redis_requests(pipeline))
    return parse


def parse_redis(out, err, rc, requests):
    out = out.replace('\r', '\n')
    figures, missing = {}, []
    for test in ('SET', 'GET'):
        block = re.search(rf'^====== {test} ======\s*\n(.*?)(?=^======|\Z)', out,
                          re.MULTILINE | re.DOTALL)
        completed = block and re.search(r'^\s*(\d+) requests completed in', block.group(1),
                                        re.MULTILINE)
        rate = block and re.search(r'throughput summary: ([\d.]+) requests per second',
                                   block.group(1))
        latency = block and re.search(r'latency summary \(msec\):\s*\n\s*avg\s+min\s+p50\s+'
                                      r'p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+'
                                      r'([\d.]+)\s+([\d.]+)\s+([\d.]+)', block.group(1))
        if not (completed and rate):
            missing.append(test)
            continue
        done = int(completed.group(1))
        figures[f'{test.lower()}_completed'] = done
        if done != requests:
            missing.append(f'{test} {done:,} of {requests:,}')
        figures[f'{test.lower()}_rps'] = float(rate.group(1))
        if latency:
            figures[f'{test.lower()}_p50_us'] = float(latency.group(3)) * 1e3
            figures[f'{test.lower()}_p99_us'] = float(latency.group(5)) * 1e3
    error_lines = [line.strip() for line in (out + '\n' + err).splitlines()
                   if re.match(r'\s*(Error|ERROR|Could not|Writing to socket|Reading from)',
                               line)]
    if rc != 0 or missing or error_lines:
        parts = []
        if rc != 0:
            parts.append(f'redis-benchmark exited with {rc}')
        if missing:
            parts.append('not completed: ' + ', '.join(missing))
        if error_lines:
            parts.append(f'{len(error_lines)} error lines, first: {error_lines[0]!r}')
        lost = sum(requests - figures.get(f'{t}_completed', 0)
                   for t in ('set', 'get'))
        return failed('; '.join(parts), errors=max(lost, len(error_lines), 1), **figures)
    return figures


def sockperf_args(ip, port, params):
    return [web.program('sockperf'), 'ping-pong', '--tcp', '-i', ip, '-p', str(port),
            '-t', str(params.seconds), '-m', str(SOCKPERF_BYTES)]


def parse_sockperf(out, err, rc, params):
    out = re.sub(r'\x1b\[[0-9;]*m', '', out + '\n' + err)
    valid = re.search(r'\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); '
                      r'ReceivedMessages=(\d+)', out)
    faults = re.search(r'# dropped messages = (\d+); # duplicated messages = (\d+); '
                       r'# out-of-order messages = (\d+)', out)
    latency = {key: float(value) for key, value in
               re.findall(r'---> percentile ([\d.]+) =\s*([\d.]+)', out)}
    average = re.search(r'avg-latency=([\d.]+)', out)
    maximum = re.search(r'<MAX> observation =\s*([\d.]+)', out)
    if rc != 0 or not valid or not faults or not average or '50.000' not in latency:
        return failed(f'sockperf exited with {rc}' if rc else 'sockperf printed no summary')
    sent, received = int(valid.group(2)), int(valid.group(3))
    figures = {'round_trips': received, 'runtime_s': float(valid.group(1)),
               'avg_us': float(average.group(1)), 'p50_us': latency['50.000'],
               'p99_us': latency.get('99.000'), 'p999_us': latency.get('99.900'),
               'max_us': float(maximum.group(1)) if maximum else None}
    lost = [int(n) for n in faults.groups()]
    if sum(lost) or sent != received or received == 0:
        return failed(f'{sent:,} sent, {received:,} received; dropped {lost[0]:,}, '
                      f'duplicated {lost[1]:,}, out of order {lost[2]:,}',
                      errors=sum(lost) + abs(sent - received) or 1, **figures)
    return figures


def iperf_args(reverse):
    def args(ip, port, params):
        argv = [web.program('iperf3'), '-c', ip, '-p', str(port), '-t', str(params.seconds),
                '-O', str(IPERF_OMIT), '-J', '--connect-timeout', '10000']
        return argv + (['-R'] if reverse else [])
    return args


def parse_iperf(out, err, rc, params):
    try:
        result = json.loads(out)
    except ValueError:
        return failed(f'iperf3 exited with {rc}, output is not JSON')
    if 'error' in result:
        return failed(f'iperf3 error: {result["error"]}', errors=1)
    end = result.get('end', {})
    received, sent = end.get('sum_received'), end.get('sum_sent')
    if rc != 0 or not received or not sent:
        return failed(f'iperf3 exited with {rc}, no summary')
    figures = {'gbit': received['bits_per_second'] / 1e9, 'bytes_received': received['bytes'],
               'bytes_sent': sent['bytes'], 'seconds': received['seconds'],
               'retransmits': sent.get('retransmits')}
    intervals = [i['sum']['bytes'] for i in result.get('intervals', [])
                 if not i['sum'].get('omitted')]
    if not intervals or min(intervals) == 0:
        return failed(f'a second without progress: {intervals}', errors=1, **figures)
    return figures


RPS = 'requests/s'
US = 'µs'


def wrk_case(conns, close):
    mode = 'close' if close else 'keepalive'
    title = (f'wrk, `Connection: close`, {conns} conns' if close
             else f'wrk, keep-alive, {conns} conns')
    return Case(f'wrk-{mode}-{conns}', 'nginx', title, wrk_args(conns, close), parse_wrk,
                [Metric('rps', 'requests/s', RPS, 'throughput'),
                 Metric('p50_us', 'p50', US, 'latency'),
                 Metric('p99_us', 'p99', US, 'latency')],
                lambda params: params.seconds + CLIENT_GRACE)


def redis_case(pipeline):
    title = f'redis-benchmark, {REDIS_CLIENTS} clients' + (
        f', pipeline {pipeline}' if pipeline > 1 else '')
    return Case(f'redis-c{REDIS_CLIENTS}' + (f'-P{pipeline}' if pipeline > 1 else ''),
                'redis', title, redis_args(pipeline), redis_parse(pipeline),
                [Metric('set_rps', 'SET requests/s', RPS, 'throughput'),
                 Metric('get_rps', 'GET requests/s', RPS, 'throughput'),
                 Metric('set_p50_us', 'SET p50', US, 'latency'),
                 Metric('get_p50_us', 'GET p50', US, 'latency'),
                 Metric('set_p99_us', 'SET p99', US, 'latency'),
                 Metric('get_p99_us', 'GET p99', US, 'latency')],
                # Both tests at a tenth of Linux's rate still finish.
                lambda params: 20 * params.duration + CLIENT_GRACE)


CASES = [
    wrk_case(100, False),
    wrk_case(1000, False),
    wrk_case(100, True),
    wrk_case(1000, True),
    redis_case(1),
    redis_case(16),
    Case('sockperf-64', 'sockperf', f'sockperf ping-pong, {SOCKPERF_BYTES} B',
         sockperf_args, parse_sockperf,
         [Metric('avg_us', 'average', US, 'latency', 1),
          Metric('p50_us', 'p50', US, 'latency', 1),
          Metric('p99_us', 'p99', US, 'latency', 1),
          Metric('p999_us', 'p99.9', US, 'latency', 1)],
         lambda params: params.seconds + CLIENT_GRACE),
    Case('iperf3-up', 'iperf3', 'iperf3, client sends (server receives)', iperf_args(False),
         parse_iperf, [Metric('gbit', 'Gbit/s', 'Gbit/s', 'throughput', 2)],
         lambda params: params.seconds + IPERF_OMIT + CLIENT_GRACE),
    Case('iperf3-down', 'iperf3', 'iperf3 -R, server sends', iperf_args(True),
         parse_iperf, [Metric('gbit', 'Gbit/s', 'Gbit/s', 'throughput', 2)],
         lambda params: params.seconds + IPERF_OMIT + CLIENT_GRACE),
]
CASE_KEYS = tuple(case.key for case in CASES)


# ----------------------------------------------------------------------
# Servers

NGINX_CONF = '''daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {nofile};
user {user};
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{ worker_connections {worker_connections}; }}
http {{
    types {{ application/octet-stream bin; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen {port} backlog={backlog};
        root {dir}/www;
    }}
}}
'''


def nginx_conf(directory, port):
    return NGINX_CONF.format(workers=NGINX_WORKERS, nofile=NOFILE, user=web.WEB_USER,
                             dir=directory, worker_connections=NGINX_WORKER_CONNECTIONS,
                             port=port, backlog=NGINX_BACKLOG)


def prepare_nginx_dir(directory, port):
    """DIR with nginx.conf, www/1k.bin (random) and tmp/ (the workers')."""
    uid, gid = web.web_user_ids()
    for path in (directory, os.path.join(directory, 'www'), os.path.join(directory, 'tmp')):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
    os.chown(os.path.join(directory, 'tmp'), uid, gid)
    web.random_file(os.path.join(directory, 'www', FILE_NAME), FILE_BYTES)
    conf = os.path.join(directory, 'nginx.conf')
    with open(conf, 'w') as f:
        f.write(nginx_conf(directory, port))
    return conf


def server_argv(group, directory, port):
    if group == 'nginx':
        conf = prepare_nginx_dir(directory, port)
        return [web.program('nginx'), '-p', directory, '-c', conf,
                '-e', os.path.join(directory, 'error.log')]
    if group == 'redis':
        os.makedirs(directory, exist_ok=True)
        return [web.program('redis-server'), '--port', str(port), '--bind', '0.0.0.0',
                '--protected-mode', 'no', '--save', '', '--appendonly', 'no',
                '--daemonize', 'no', '--dir', directory, '--logfile', '']
    if group == 'sockperf':
        return [web.program('sockperf'), 'server', '--tcp', '-i', '0.0.0.0', '-p', str(port)]
    if group == 'iperf3':
        return [web.program('iperf3'), '-s', '-B', '0.0.0.0', '-p', str(port)]
    raise ValueError(group)


STOP_SIGNALS = {'nginx': signal.SIGTERM, 'redis': signal.SIGTERM, 'sockperf': signal.SIGINT,
                'iperf3': signal.SIGTERM}


def process_tree(pid):
    """pid and its descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += list(harness.child_processes(current))
    return pids


def tree_run_seconds(pid):
    total = 0.0
    for member in process_tree(pid):
        try:
            total += harness.process_run_seconds(member)
        except (OSError, ValueError, IndexError):
            pass
    return total


class Server:
    """One program's server for one stack."""

    def __init__(self, suite, group, stack):
        self.suite = suite
        self.group = group
        self.stack = stack
        self.port = PORTS[group] + (0 if stack == 'tas' else 1)
        self.directory = os.path.join(suite.test.workdir, f'{group}-{stack}')
        self.argv = server_argv(group, self.directory, self.port)
        self.starts = 0
        self.proc = None
        self.exit_codes = []

    @property
    def bed(self):
        return self.suite.bed if self.stack == 'tas' else self.suite.linux_bed

    @property
    def address(self):
        return self.bed.tas_ip

    def env(self):
        return harness.shim_env(self.suite.test, self.suite.tas) if self.stack == 'tas' else None

    def command(self):
        text = shlex.join(self.argv)
        if self.stack == 'tas':
            return (f'LD_PRELOAD={harness.interpose_lib()} '
                    f'TAS_SOCKET={self.suite.tas.socket_path} {text}')
        return text

    def start(self):
        self.starts += 1
        name = f'{self.group}-{self.stack}-server-{self.starts}'
        self.proc = self.suite.test.spawn(name, self.argv, env=self.env())
        self.suite.test.services.append(self.proc)
        if self.stack == 'tas':
            self.bed.wait_tas_listening(self.proc, self.port)
            harness.check(not self.bed.linux_listening(self.proc.pid, self.port),
                          f'{name} listens on port {self.port} on Linux too: the shim '
                          f'left a listen() to libc')
        else:
            self.bed.wait_linux_listening(self.proc, self.port)
        if self.group == 'nginx':
            self.wait_nginx_workers()

    def wait_nginx_workers(self, timeout=15):
        def workers():
            return [pid for pid, cmdline in harness.child_processes(self.proc.pid).items()
                    if cmdline.startswith('nginx: worker process')]
        harness.wait_until(lambda: len(workers()) == NGINX_WORKERS, timeout,
                           lambda: f'{NGINX_WORKERS} nginx workers under {self.proc.pid}: '
                           f'{harness.child_processes(self.proc.pid)}')

    def alive(self):
        if self.proc is None or not self.proc.running():
            return False
        if self.group == 'nginx':
            return len([cmd for cmd in harness.child_processes(self.proc.pid).values()
                        if cmd.startswith('nginx: worker process')]) == NGINX_WORKERS
        return True

    def run_seconds(self):
        if self.proc is None or not self.proc.running():
            return 0.0
        return tree_run_seconds(self.proc.pid)

    def output_size(self):
        return (len(self.proc.stdout()), len(self.proc.stderr()), self.log_size())

    def log_size(self):
        return len(harness.read_text(os.path.join(self.directory, 'error.log')))

    def output_since(self, sizes):
        """What the server printed (and nginx logged) since output_size()."""
        out, err, log = sizes
        parts = []
        for label, text in (('stdout', self.proc.stdout()[out:]),
                            ('stderr', self.proc.stderr()[err:]),
                            ('error.log', harness.read_text(
                                os.path.join(self.directory, 'error.log'))[log:])):
            if text.strip():
                parts.append(f'{label}: {harness.tail(text.strip(), 1500)}')
        return '\n'.join(parts)

    def stop(self):
        """Stop it; its exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.running():
            self.proc.send_signal(STOP_SIGNALS[self.group])
            try:
                rc = self.proc.wait(SERVER_STOP_TIMEOUT)
            except harness.Failure:
                self.proc.kill_group()
                rc = None
        else:
            rc = self.proc.returncode
        self.proc.kill_group()        # nginx workers, if the master left any
        self.exit_codes.append(rc)
        return rc

    def restart(self):
        self.stop()
        self.start()


# ----------------------------------------------------------------------
# Machine-wide CPU use

def cpu_jiffies():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open('/proc/stat') as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


CLOCK_TICK = os.sysconf('SC_CLK_TCK')


def process_ticks():
    """{pid: (start time, utime + stime)} of every user-space process (not
    kernel threads), from /proc/PID/stat."""
    out = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if entry == '2' or fields[1] == '2':     # kthreadd and its children
            continue
        out[int(entry)] = (fields[19], int(fields[11]) + int(fields[12]))
    return out


def others_seconds(before, after, ours):
    """CPU seconds other processes than ours used between two
    process_ticks() snapshots (those that also exited in between are
    missed, so it is a lower bound)."""
    ticks = 0
    for pid, (start, now) in after.items():
        if pid in ours:
            continue
        old = before.get(pid)
        ticks += now - old[1] if old and old[0] == start else now
    return ticks / CLOCK_TICK


def sysctl(name, bed=None):
    argv = ['sysctl', '-n', name]
    if bed is not None:
        return bed.run_ns(argv).strip().replace('\t', ' ')
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip().replace('\t', ' ')


def program_versions():
    def first_line(argv):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return ((done.stdout or '') + (done.stderr or '')).strip().splitlines()[0]
    return {
        'nginx': first_line([web.program('nginx'), '-v']),
        'redis': first_line([web.program('redis-server'), '--version']),
        'sockperf': first_line([web.program('sockperf'), '--version']),
        'iperf3': first_line([web.program('iperf3'), '--version']),
        'wrk': first_line([web.program('wrk'), '-v']).split(' Copyright')[0],
    }


# ----------------------------------------------------------------------
# The suite

class Suite:
    def __init__(self, test, params, log):
        self.test = test
        self.params = params
        self.log = log
        self.events = []
        os.chmod(test.workdir, 0o755)    # nginx workers (www-data) read their files here
        self.host_cc_before = rpc_bench.set_host_congestion_control(test, 'cubic')
        self.bed = harness.Testbed(test, TAS_BED)
        self.linux_bed = harness.Testbed(test, LINUX_BED)
        address = ['ip', 'addr', 'add', f'{self.linux_bed.tas_ip}/{self.linux_bed.prefix}',
                   'dev', self.linux_bed.iface]
        subprocess.run(address, check=True)
        self.bed_commands = [f'sysctl -w {rpc_bench.CONGESTION_SYSCTL}=cubic    # restored '
                             f'afterwards', f'tools/testbed.sh up {TAS_BED}',
                             f'tools/testbed.sh up {LINUX_BED}', shlex.join(address)]
        for bed in (self.bed, self.linux_bed):
            for name, value in NAMESPACE_SYSCTLS:
                bed.run_ns(['sysctl', '-qw', f'{name}={value}'])
                self.bed_commands.append(f'ip netns exec {bed.ns} sysctl -w {name}={value}')
        self.tas = harness.Tas(test, self.bed)
        self.tas_starts = 1

    def ensure_tas(self, context):
        """A running tas: if it exited, note it with its last output and
        start a new one (the shimmed servers must be restarted too)."""
        if self.tas.proc.running():
            return False
        self.note(f'tas exited ({self.tas.proc.returncode}) {context}; its output:\n'
                  + harness.tail(self.tas.proc.stderr() + self.tas.proc.stdout(), 3000))
        self.tas.stopped = True
        self.tas = harness.Tas(self.test, self.bed)
        self.tas_starts += 1
        return True

    def note(self, text):
        self.log('NOTE: ' + text.splitlines()[0])
        self.events.append(text)

    def tas_output_size(self):
        return len(self.tas.proc.stderr()), len(self.tas.proc.stdout())

    def tas_output_since(self, sizes):
        err, out = sizes
        return (self.tas.proc.stderr()[err:] + self.tas.proc.stdout()[out:]).strip()

    def client_argv(self, case, stack):
        """The client's full argv: in the namespace of the stack's bed, to
        the server's address (tas's, or the second bed's host end)."""
        bed = self.bed if stack == 'tas' else self.linux_bed
        port = PORTS[case.group] + (0 if stack == 'tas' else 1)
        return bed.ns_argv(case.args(bed.tas_ip, port, self.params))

    def run_client(self, case, stack, servers, repetition):
        server, other = servers[stack], servers['linux' if stack == 'tas' else 'tas']
        argv = self.client_argv(case, stack)
        name = f'{case.key}-{stack}-{repetition + 1}'
        tas_sizes, server_sizes = self.tas_output_size(), server.output_size()
        load_before = os.getloadavg()[0]
        ticks_before = process_ticks()
        before = (harness.process_run_seconds(self.tas.pid), server.run_seconds(),
                  other.run_seconds(), cpu_jiffies(), time.monotonic())
        proc = self.test.spawn(name, argv)
        timeout = case.timeout(self.params)
        try:
            rc = proc.wait(timeout)
            result = case.parse(proc.stdout(), proc.stderr(), rc, self.params)
        except harness.Failure:
            proc.kill_group()
            result = failed(f'no exit within {timeout:.0f} s (killed)', errors=None)
        wall = time.monotonic() - before[4]
        if self.tas.proc.running():
            tas_cpu = harness.process_run_seconds(self.tas.pid) - before[0]
        else:
            tas_cpu = None
        busy, total = cpu_jiffies()
        ours = {os.getpid(), self.tas.pid, proc.pid}
        for each in (server, other):
            if each.proc is not None and each.proc.running():
                ours.update(process_tree(each.proc.pid))
        others = others_seconds(ticks_before, process_ticks(), ours)
        result.update(
            stack=stack, case=case.key, repetition=repetition, wall=wall,
            load_before=load_before,
            tas_cpu=tas_cpu / wall if tas_cpu is not None else None,
            server_cpu=(server.run_seconds() - before[1]) / wall,
            idle_server_cpu=(other.run_seconds() - before[2]) / wall,
            machine_busy=(busy - before[3][0]) / max(1, total - before[3][1]),
            others_cpu=others / wall,
            command=shlex.join(argv))
        if 'error' in result:
            result['client_output'] = harness.tail(
                (proc.stdout() + '\n' + proc.stderr()).strip(), 2500)
            result['server_output'] = server.output_since(server_sizes)
            if stack == 'tas':
                result['tas_output'] = harness.tail(self.tas_output_since(tas_sizes), 2500)
        return result

    def run_group(self, group, cases, results):
        servers = {stack: Server(self, group, stack) for stack in STACKS}
        for stack in STACKS:
            try:
                servers[stack].start()
            except harness.Failure as failure:
                self.note(f'{group} ({STACK_NAMES[stack]}) did not start: {failure}')
        commands = {stack: servers[stack].command() for stack in STACKS}
        for repetition in range(self.params.repeats):
            for case in cases:
                index = CASE_KEYS.index(case.key)
                order = STACKS if (repetition + index) % 2 == 0 else STACKS[::-1]
                for stack in order:
                    server = servers[stack]
                    if stack == 'tas' and self.ensure_tas(f'before {case.key}'):
                        server.restart()
                    if not server.alive():
                        self.note(f'{group} ({STACK_NAMES[stack]}) is not running before '
                                  f'{case.key} #{repetition + 1}; restarting it\n'
                                  + (server.proc.describe() if server.proc else ''))
                        try:
                            server.restart()
                        except harness.Failure as failure:
                            self.note(f'{group} ({STACK_NAMES[stack]}) restart failed: '
                                      f'{failure}')
                    result = self.run_client(case, stack, servers, repetition)
                    results.setdefault((case.key, stack), []).append(result)
                    self.log(f'{case.key} {repetition + 1}/{self.params.repeats} {stack}: '
                             f'{describe(case, result)}')
                    if 'error' in result:
                        # Whatever state the failure left behind, the next
                        # run starts with a fresh server.
                        self.note(f'{case.key} #{repetition + 1} on {STACK_NAMES[stack]} '
                                  f'failed: {result["error"]}; restarting the server')
                        if stack == 'tas':
                            self.ensure_tas(f'during {case.key} #{repetition + 1}')
                        try:
                            server.restart()
                        except harness.Failure as failure:
                            self.note(f'{group} ({STACK_NAMES[stack]}) restart failed: '
                                      f'{failure}')
        exits = {}
        for stack in STACKS:
            exits[stack] = servers[stack].stop()
        return {'commands': commands, 'exit_codes': exits,
                'starts': {stack: servers[stack].starts for stack in STACKS},
                'nginx_conf': (nginx_conf('DIR', PORTS['nginx']) if group == 'nginx'
                               else None)}

    def run(self):
        chosen = [case for case in CASES
                  if self.params.cases is None or case.key in self.params.cases]
        results, groups = {}, {}
        for group in GROUPS:
            cases = [case for case in chosen if case.group == group]
            if cases:
                groups[group] = self.run_group(group, cases, results)
        return chosen, results, groups


def describe(case, result):
    if 'error' in result:
        return 'FAILED: ' + result['error']
    return ', '.join(f'{metric.label} {result[metric.key]:,.{metric.digits}f}'
                     for metric in case.metrics if result.get(metric.key) is not None)


def run(test, params, log):
    """Run every case; returns what shim_report.render needs."""
    suite = Suite(test, params, log)
    versions = program_versions()
    chosen, results, groups = suite.run()
    return {
        'cases': chosen,
        'results': results,
        'groups': groups,
        'params': params,
        'events': suite.events,
        'commands': {
            'beds': suite.bed_commands,
            'tas': ' '.join(suite.tas.proc.argv),
            'clients': {(case.key, stack): shlex.join(suite.client_argv(case, stack))
                        for case in chosen for stack in STACKS},
        },
        'shim': harness.interpose_lib(),
        'tas_socket': suite.tas.socket_path,
        'tas_starts': suite.tas_starts,
        'tas_ready': tas_log_line(suite.tas, 'ready:'),
        'tas_eal': tas_log_line(suite.tas, 'EAL arguments:'),
        'tas_huge': suite.tas.huge,
        'versions': versions,
        'sysctls': {
            'host': {name: sysctl(name) for name in RECORDED_SYSCTLS},
            f'namespace {suite.bed.ns} (tas bed)': {
                name: sysctl(name, suite.bed) for name in RECORDED_SYSCTLS},
            f'namespace {suite.linux_bed.ns} (Linux bed)': {
                name: sysctl(name, suite.linux_bed) for name in RECORDED_SYSCTLS},
        },
        'host_cc_before': suite.host_cc_before,
        'nofile': NOFILE,
        'workdir': test.workdir,
    }


def tas_log_line(tas, prefix):
    for line in (tas.proc.stderr() + tas.proc.stdout()).splitlines():
        if line.startswith('tas: ' + prefix):
            return line
    return ''


def summary(runs, metric):
    """Median, min, max of a metric over the valid runs, with the count of
    failed runs (None figures if no run was valid)."""
    good = [run[metric] for run in runs if 'error' not in run and run.get(metric) is not None]
    bad = [run for run in runs if 'error' in run]
    return {
        'median': statistics.median(good) if good else None,
        'min': min(good) if good else None,
        'max': max(good) if good else None,
        'valid': len(good),
        'failed': len(bad),
        'errors': sum(run.get('errors') or 0 for run in bad),
    }
