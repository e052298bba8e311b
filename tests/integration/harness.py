"""Integration-test harness for tas: test bed, service and process control.

A test script defines main(test) and calls harness.run(main, bound=SECONDS).
Everything main() creates through `test` (test bed, tas service, processes)
is torn down in reverse order of creation when main() returns, raises, or
the bound expires, so a failing test leaves no namespace, interface or
process behind.  Exit status: 0 pass, 1 fail, 77 skip (meson's convention;
only when the machine cannot run the test at all).

Standard library only; run with /usr/bin/python3 (the one that has scapy).
Synchronisation is always a bounded poll for a condition (a socket accepts,
a port listens, a process exits), never a fixed sleep.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

SKIP_EXIT = 77
FAIL_EXIT = 1

SOURCE_ROOT = os.environ.get('TAS_SOURCE_ROOT') or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_ROOT = os.environ.get('TAS_BUILD_ROOT') or os.path.join(SOURCE_ROOT, 'build')
TESTBED_SCRIPT = os.path.join(SOURCE_ROOT, 'tools', 'testbed.sh')
INTEGRATION_DIR = os.path.dirname(os.path.abspath(__file__))

POLL_INTERVAL = 0.02          # seconds between checks of a polled condition
TAS_READY_TIMEOUT = 30        # start-up includes EAL init and mempool creation
TAS_STOP_TIMEOUT = 10         # SIGTERM to exit
TAS_HUGE_NEED_MB = 128        # port mempool (~34 MB) plus app regions
IMPAIR_READY_TIMEOUT = 10     # tas-impair binds two sockets, then prints 'ready'
IMPAIR_STOP_TIMEOUT = 10      # SIGTERM to its counters and exit
OUTPUT_TAIL = 4000            # characters of a process's output shown on failure

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


class Failure(Exception):
    """A claim of the test did not hold."""


class BoundExceeded(Exception):
    """The test's overall time bound expired (or the test was terminated)."""


class Skip(Exception):
    """This machine or build cannot run the test (exit 77 after clean-up)."""


def check(condition, message):
    if not condition:
        raise Failure(message)


def size(text):
    """A byte count with an optional binary K, M or G suffix (as the apps
    take them), for argparse."""
    units = {'K': KIB, 'M': MIB, 'G': GIB}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def tas_exe():
    return os.environ.get('TAS_EXE') or os.path.join(BUILD_ROOT, 'slowpath', 'tas')


def impair_exe():
    return os.environ.get('TAS_IMPAIR_EXE') or os.path.join(
        BUILD_ROOT, 'tools', 'impair', 'tas-impair')


def app_exe(name):
    """Path of an application built in apps/ (tas-bulk, linux-echo-server...)."""
    apps_dir = os.environ.get('TAS_APPS_DIR') or os.path.join(BUILD_ROOT, 'apps')
    return os.path.join(apps_dir, name)


def require_executable(path):
    check(os.access(path, os.X_OK), f'{path} is not built (or not executable)')
    return path


def tail(text, limit=OUTPUT_TAIL):
    return text if len(text) <= limit else '...' + text[-limit:]


# ----------------------------------------------------------------------
# Machine checks

def machine_unfit_reason():
    """Why this machine cannot run the integration tests at all, or None."""
    if os.geteuid() != 0:
        return 'needs root (network namespaces, veth, DPDK on a veth)'
    probe = f'itprobe{os.getpid() % 100000}'
    try:
        made = subprocess.run(['ip', 'link', 'add', probe, 'type', 'veth', 'peer',
                               'name', probe + 'p'],
                              capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        return 'cannot create a veth pair: iproute2 (ip) is not installed'
    if made.returncode != 0:
        return f'cannot create a veth pair: {made.stderr.strip()}'
    subprocess.run(['ip', 'link', 'del', probe], capture_output=True, timeout=10)
    return None


def free_hugepage_mb():
    try:
        with open('/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages') as f:
            return int(f.read()) * 2
    except OSError:
        return 0


# ----------------------------------------------------------------------
# Result lines printed by the applications

def parse_result_line(text, kind):
    """Parse the last `KIND: key=value ...` line of text into a dict.

    Values that look like numbers become int or float.  Returns None if
    there is no such line."""
    lines = parse_result_lines(text, kind)
    return lines[-1] if lines else None


def parse_result_lines(text, kind):
    """Every `KIND: key=value ...` line of text, in order, each parsed as
    parse_result_line does (e.g. the bulk-conn: lines of --per-conn)."""
    parsed = []
    for line in text.splitlines():
        if not line.startswith(kind + ':'):
            continue
        fields = {'line': line.strip()}
        for token in line[len(kind) + 1:].split():
            key, sep, value = token.partition('=')
            if sep:
                fields[key] = number_or_text(value)
        parsed.append(fields)
    return parsed


def number_or_text(value):
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value


# ----------------------------------------------------------------------
# Processes

class Proc:
    """A child process in its own process group, output captured to files."""

    def __init__(self, test, name, argv, env=None, stdin_path=None):
        self.test = test
        self.name = name
        self.argv = strs(argv)
        self.out_path = os.path.join(test.workdir, f'{name}.out')
        self.err_path = os.path.join(test.workdir, f'{name}.err')
        with open(self.out_path, 'wb') as out, open(self.err_path, 'wb') as err, \
                open(stdin_path or os.devnull, 'rb') as stdin:
            self.popen = subprocess.Popen(self.argv, stdin=stdin,
                                          stdout=out, stderr=err, env=env,
                                          start_new_session=True)
        self.pid = self.popen.pid
        test.log(f'started {name} (pid {self.pid}): {" ".join(self.argv)}')
        test.defer(self.kill_group, f'kill {name}')

    def running(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def wait(self, timeout):
        """Wait up to timeout seconds for exit; return the exit code."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f'{self.name} did not exit within {timeout:.0f} s\n'
                          + self.describe()) from None

    def send_signal(self, sig):
        if self.running():
            os.kill(self.pid, sig)

    def kill_group(self):
        """SIGKILL the whole process group (the process and its children)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.test.log(f'{self.name} (pid {self.pid}) survived SIGKILL')

    def stdout(self):
        return read_text(self.out_path)

    def stderr(self):
        return read_text(self.err_path)

    def describe(self):
        rc = self.returncode
        state = 'running' if rc is None else f'exit code {rc}'
        return (f'--- {self.name} ({state}): {" ".join(self.argv)}\n'
                f'--- stdout:\n{tail(self.stdout())}\n'
                f'--- stderr:\n{tail(self.stderr())}')

    def finish(self, timeout):
        """Wait for exit, require exit code 0, return stdout."""
        rc = self.wait(timeout)
        check(rc == 0, f'{self.name} exited with {rc}\n' + self.describe())
        return self.stdout()

    def result(self, kind, timeout):
        """Wait for exit, require exit code 0, return the parsed result line."""
        rc = self.wait(timeout)
        fields = parse_result_line(self.stdout(), kind)
        if fields is not None:
            self.test.log(f'{self.name}: {fields["line"]}')
        check(rc == 0, f'{self.name} exited with {rc}\n' + self.describe())
        check(fields is not None,
              f'{self.name} printed no "{kind}:" line\n' + self.describe())
        return fields

    def wait_output(self, pattern, timeout):
        """Poll stdout+stderr until regex pattern appears; return the match."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.stdout()) or regex.search(self.stderr())
            if match:
                return match
            check(self.running(), f'{self.name} exited before printing '
                  f'/{pattern}/\n' + self.describe())
            check(time.monotonic() < deadline, f'{self.name} did not print '
                  f'/{pattern}/ within {timeout} s\n' + self.describe())
            time.sleep(POLL_INTERVAL)


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode(errors='replace')
    except OSError:
        return ''


TCP_ESTABLISHED = '01'   # socket states as /proc/net/tcp prints them
TCP_TIME_WAIT = '06'
TCP_CLOSE_WAIT = '08'
TCP_LISTEN = '0A'


def tcp_sockets(table):
    """(local port, remote 'ADDR:PORT' in /proc/net/tcp hex, state) for
    each row of the text of a /proc/net/tcp table."""
    rows = [line.split() for line in table.splitlines()[1:]]
    return [(int(fields[1].rsplit(':', 1)[1], 16), fields[2], fields[3]) for fields in rows]


def tcp_endpoint(address, port):
    """IPv4 address and port the way /proc/net/tcp prints them."""
    hex_address = ''.join(f'{int(octet):02X}' for octet in reversed(address.split('.')))
    return f'{hex_address}:{port:04X}'


def process_cpu_seconds(pid):
    """utime + stime of all threads of pid, in seconds (from /proc/PID/stat)."""
    with open(f'/proc/{pid}/stat') as f:
        stat = f.read()
    # Fields after the parenthesised command name; utime and stime are
    # fields 14 and 15 of the whole line, 12th and 13th after the name.
    fields = stat[stat.rindex(')') + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def process_run_seconds(pid):
    """Time all threads of pid spent on a CPU, in seconds, as the scheduler
    counts it (/proc/PID/task/*/schedstat, nanoseconds): exact where
    utime + stime are sampled at clock ticks."""
    total_ns = 0
    for task in os.listdir(f'/proc/{pid}/task'):
        total_ns += int(read_text(f'/proc/{pid}/task/{task}/schedstat').split()[0] or 0)
    return total_ns / 1e9


def process_wakeups(pid):
    """Context switches of all threads of pid so far: how often it slept
    and was woken (or preempted)."""
    total = 0
    for task in os.listdir(f'/proc/{pid}/task'):
        for line in read_text(f'/proc/{pid}/task/{task}/status').splitlines():
            if 'ctxt_switches:' in line:
                total += int(line.split()[1])
    return total


def child_processes(pid):
    """{child pid: command line (arguments joined by spaces)} of pid's
    children, from /proc."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        stat = read_text(f'/proc/{entry}/stat')
        if stat and int(stat[stat.rindex(')') + 2:].split()[1]) == pid:
            cmdline = read_text(f'/proc/{entry}/cmdline')
            children[int(entry)] = ' '.join(cmdline.split('\0')).strip()
    return children


def wait_until(condition, timeout, what):
    """Poll condition() until true; fail after timeout seconds.  what (a
    string, or a function giving one at failure time) names the condition."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise Failure(f'{what() if callable(what) else what}: not within {timeout} s')
        time.sleep(POLL_INTERVAL)


# ----------------------------------------------------------------------
# Test bed: a veth pair, tas on the host side, Linux in a namespace

class Testbed:
    """tools/testbed.sh up/down with a name unique to the test.

    mode None: tas's interface and the peer's are the two ends of one veth
    pair.  mode 'impaired': an impairment stage's pair of interfaces sits
    between them (start the stage with impair()); 'impaired-linux': the
    same with Linux's TCP in place of tas, in the namespace linux_ns."""

    def __init__(self, test, name, mode=None):
        self.test = test
        self.name = name
        self.mode = mode
        check(os.access(TESTBED_SCRIPT, os.X_OK), f'{TESTBED_SCRIPT} missing')
        # A run killed before its clean-up may have left this name behind.
        self._script('down', check_rc=False)
        test.defer(self.down, f'testbed down {name}')
        up = self._script('up', *([mode] if mode else []))
        self.vars = dict(line.split('=', 1) for line in up.stdout.splitlines()
                         if re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', line))
        self.ns = self._var('NETNS')
        self.iface = self._var('TAS_IFACE')
        self.peer_iface = self._var('PEER_IFACE')
        self.peer_ip = self._var('PEER_IP')
        self.tas_ip = self._var('TAS_IP')
        self.prefix = int(self._var('PREFIX'))
        self.tas_mac = self._var('TAS_MAC')
        if mode:
            self.impair_tas_side = self._var('IMPAIR_TAS_SIDE')
            self.impair_peer_side = self._var('IMPAIR_PEER_SIDE')
        if mode == 'impaired-linux':
            self.linux_ns = self._var('LINUX_NETNS')
        test.log(f'testbed {name}: ns={self.ns} tas iface={self.iface} '
                 f'tas={self.tas_ip}/{self.prefix} peer={self.peer_ip} '
                 f'({self.peer_iface}){f" mode {mode}" if mode else ""}')

    def _script(self, action, *arguments, check_rc=True):
        done = subprocess.run([TESTBED_SCRIPT, action, self.name, *arguments],
                              capture_output=True, text=True, timeout=60)
        if check_rc:
            check(done.returncode == 0,
                  f'testbed.sh {action} {self.name} failed ({done.returncode}):'
                  f'\n{done.stdout}{done.stderr}')
        return done

    def _var(self, key):
        check(self.vars.get(key), f'testbed.sh up printed no {key}: {self.vars}')
        return self.vars[key]

    def down(self):
        self._script('down')

    def impair(self, to_tas='', from_tas='', seed=1, name='impair'):
        """Start the impairment stage between tas's side and the peer's
        (an impaired test bed only): frames to tas suffer SPEC to_tas,
        frames from tas SPEC from_tas (tas-impair --help lists the keys).
        It runs until counters() or clean-up.  A test running several
        stages one after the other names each (its output files)."""
        return Impairment(self.test, self, to_tas, from_tas, seed, name)

    def ns_argv(self, argv):
        return ['ip', 'netns', 'exec', self.ns] + list(argv)

    def run_ns(self, argv, timeout=30, input_text=None):
        """Run a command in the namespace to completion; require success."""
        done = subprocess.run(self.ns_argv(argv), input=input_text,
                              capture_output=True, text=True, timeout=timeout)
        check(done.returncode == 0, f'in {self.ns}: {" ".join(argv)} failed '
              f'({done.returncode}):\n{done.stdout}{done.stderr}')
        return done.stdout

    def inject_loss(self, percent):
        """Drop percent % of the packets in each direction, at random, with
        nft in the namespace (netem is not available).  Returns a function
        giving the packets dropped so far: {'to_tas': n, 'from_tas': n}."""
        rules = f'''
            table ip tas_test_loss {{
                chain from_tas {{
                    type filter hook prerouting priority -300;
                    ip saddr {self.tas_ip} numgen random mod 100 < {percent} counter drop
                }}
                chain to_tas {{
                    type filter hook output priority -300;
                    ip daddr {self.tas_ip} numgen random mod 100 < {percent} counter drop
                }}
            }}'''
        # Linux TCP hands the output hook GSO packets of up to 64 KB even
        # with offloads off (segmented later, at transmission): one segment
        # per packet makes this drop segments, not bursts of them.
        self.run_ns(['ip', 'link', 'set', 'dev', self.peer_iface, 'gso_max_segs', '1'])
        self.run_ns(['nft', '-f', '-'], input_text=rules)
        self.test.log(f'dropping {percent} % of packets in each direction (nft)')

        def dropped():
            listing = self.run_ns(['nft', 'list', 'table', 'ip', 'tas_test_loss'])
            counts = {}
            for chain in ('from_tas', 'to_tas'):
                match = re.search(rf'chain {chain} {{.*?counter packets (\d+)',
                                  listing, re.DOTALL)
                check(match, f'no counter in chain {chain}:\n{listing}')
                counts[chain] = int(match.group(1))
            return counts
        return dropped

    def linux_tcp_states(self, remote_port):
        """States of the namespace's TCP sockets connected to tas:remote_port
        (TCP_ESTABLISHED, TCP_TIME_WAIT...)."""
        remote = tcp_endpoint(self.tas_ip, remote_port)
        return [state for _, peer, state in tcp_sockets(self.run_ns(['cat', '/proc/net/tcp']))
                if peer == remote]

    def linux_mib(self):
        """The namespace's SNMP and extended TCP/IP counters
        (/proc/net/snmp and /proc/net/netstat): {'Tcp': {'InCsumErrors':
        n, ...}, 'TcpExt': {'TCPZeroWindowDrop': n, ...}, 'IpExt':
        {'InCEPkts': n, ...}, ...}."""
        counters = {}
        for table in ('snmp', 'netstat'):
            lines = self.run_ns(['cat', f'/proc/net/{table}']).splitlines()
            # A header line of names, then a line of values, per group.
            for names, values in zip(lines[::2], lines[1::2]):
                group, _, names = names.partition(':')
                counters[group] = dict(zip(names.split(),
                                           (int(v) for v in values.partition(':')[2].split())))
        return counters

    def iface_counters(self):
        """rx/tx packet and byte counters of the tas-side interface."""
        base = f'/sys/class/net/{self.iface}/statistics/'
        counters = {}
        for name in ('rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'):
            with open(base + name) as f:
                counters[name] = int(f.read())
        return counters

    def linux_listening(self, ns_pid, port):
        """Whether a socket in the namespace listens on TCP port.

        Reads the namespace's TCP table through /proc/PID/net of a process
        living in it, so polling spawns nothing."""
        return any(local_port == port and state == TCP_LISTEN
                   for table in ('tcp', 'tcp6')
                   for local_port, _, state in tcp_sockets(read_text(f'/proc/{ns_pid}/net/{table}')))

    def wait_tas_listening(self, proc, port, timeout=15):
        """Bounded SYN probe from the namespace until tas answers port with
        a SYN-ACK (listen_probe.py: takes no accept from the listener)."""
        check(proc.running(), f'{proc.name} exited before listening\n'
              + proc.describe())
        probe = subprocess.run(self.ns_argv(
            ['/usr/bin/python3', os.path.join(INTEGRATION_DIR, 'listen_probe.py'),
             '--ip', self.tas_ip, '--port', str(port), '--timeout', str(timeout)]),
            capture_output=True, text=True, timeout=timeout + 10)
        check(probe.returncode == 0, f'{proc.name} not listening on port {port}:'
              f' {probe.stdout}{probe.stderr}\n' + proc.describe())

    def wait_linux_listening(self, proc, port, timeout=10):
        def listening():
            check(proc.running(), f'{proc.name} exited before listening\n'
                  + proc.describe())
            return self.linux_listening(proc.pid, port)
        wait_until(listening, timeout, f'{proc.name} listening on port {port}')


class Impairment:
    """tools/impair/tas-impair running between an impaired test bed's
    IMPAIR_TAS_SIDE (--a) and IMPAIR_PEER_SIDE (--b): a-to-b is from tas,
    b-to-a is to tas."""

    DIRECTIONS = (('a_to_b_', 'from_tas_'), ('b_to_a_', 'to_tas_'))

    def __init__(self, test, bed, to_tas, from_tas, seed, name='impair'):
        check(bed.mode in ('impaired', 'impaired-linux'),
              f'test bed {bed.name} (mode {bed.mode}) has no impairment stage')
        self.test = test
        self.fields = None
        argv = [require_executable(impair_exe()),
                '--a', bed.impair_tas_side, '--b', bed.impair_peer_side,
                '--seed', seed, '--a-to-b', from_tas, '--b-to-a', to_tas]
        self.proc = Proc(test, name, argv)
        test.services.append(self.proc)
        self.proc.wait_output(r'^ready$', IMPAIR_READY_TIMEOUT)
        # Not ready: the Proc's own clean-up kills it.
        test.defer(self.counters, 'stop the impairment stage')
        test.log(f'impairment stage ready: to tas "{to_tas}", from tas "{from_tas}"')

    def counters(self):
        """Stop the stage (SIGTERM, exit code 0) and return its result
        line parsed: a_to_b_KEY and b_to_a_KEY (frames, sent, dropped,
        duplicated, corrupted, reordered, marked, queue_drops...), the
        same as from_tas_KEY and to_tas_KEY, and 'line'.  Later calls
        return the same."""
        if self.fields is None:
            self.proc.send_signal(signal.SIGTERM)
            self.fields = self.proc.result('impair', timeout=IMPAIR_STOP_TIMEOUT)
            for key, value in list(self.fields.items()):
                for stage_prefix, prefix in self.DIRECTIONS:
                    if key.startswith(stage_prefix):
                        self.fields[prefix + key[len(stage_prefix):]] = value
        return self.fields


# ----------------------------------------------------------------------
# The tas service

class Tas:
    """One tas service on the test bed's interface; a test starting
    several one after the other names each (its output files)."""

    def __init__(self, test, bed, fp_cores=None, extra_args=(), name='tas'):
        self.test = test
        self.socket_path = os.path.join(test.workdir, 'tas.sock')
        argv = [require_executable(tas_exe()),
                '--ip', f'{bed.tas_ip}/{bed.prefix}', '--iface', bed.iface,
                '--socket', self.socket_path]
        if fp_cores is not None:
            argv += ['--fp-cores', str(fp_cores)]
        free_mb = free_hugepage_mb()
        self.huge = free_mb >= TAS_HUGE_NEED_MB and not os.environ.get('TAS_TEST_NO_HUGE')
        if not self.huge:
            argv.append('--no-huge')
        argv += list(extra_args)
        test.log(f'hugepages: {free_mb} MB free, '
                 f'{"using them" if self.huge else "running with --no-huge"}')
        self.stopped = False
        self.proc = Proc(test, name, argv)
        test.services.append(self.proc)
        test.defer(self._stop_at_cleanup, 'stop tas')
        self.wait_ready()

    @property
    def pid(self):
        return self.proc.pid

    def env(self):
        return dict(os.environ, TAS_SOCKET=self.socket_path)

    def wait_ready(self, timeout=TAS_READY_TIMEOUT):
        """Bounded poll until the registration socket accepts a connection."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            check(self.proc.running(), 'tas exited during start-up\n'
                  + self.proc.describe())
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(self.socket_path)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    pass
            check(time.monotonic() < deadline, f'tas not ready within '
                  f'{timeout} s\n' + self.proc.describe())
            time.sleep(POLL_INTERVAL)
        self.test.log(f'tas ready after {time.monotonic() - started:.2f} s')

    def check_alive(self):
        check(self.proc.running(), 'tas is no longer running\n'
              + self.proc.describe())

    def stop(self, timeout=TAS_STOP_TIMEOUT):
        """SIGTERM; tas must exit with code 0 within timeout seconds."""
        self.check_alive()
        self.stopped = True
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        check(rc == 0, f'tas exited with {rc} on SIGTERM\n' + self.proc.describe())
        self.test.log(f'tas stopped cleanly in {time.monotonic() - started:.2f} s')

    def _stop_at_cleanup(self):
        if not self.stopped:
            self.stop()


# ----------------------------------------------------------------------
# Unmodified programs: under the LD_PRELOAD sockets shim on tas, or on Linux

SHIM_MODES = ('shim-server', 'shim-client', 'shim-both')
SANITIZER_LOG_DIR = 'sanitizer'   # in the work directory: asan.PID, ubsan.PID


def interpose_lib():
    return os.environ.get('TAS_INTERPOSE') or os.path.join(
        BUILD_ROOT, 'libtas', 'interpose', 'libtas-interpose.so')


def sanitizer_build():
    """Whether tas and the shim were built with -Dsanitize=true (meson
    passes TAS_SANITIZE=1)."""
    return os.environ.get('TAS_SANITIZE', '0') not in ('', '0')


def asan_runtime(shim):
    """The ASan runtime the shim links (ldd), else gcc's."""
    listing = subprocess.run(['ldd', shim], capture_output=True, text=True,
                             timeout=10).stdout
    match = re.search(r'libasan\.so[.\d]* => (\S+)', listing)
    if match:
        return match.group(1)
    path = subprocess.run(['gcc', '-print-file-name=libasan.so'], capture_output=True,
                          text=True, timeout=10).stdout.strip()
    check(os.path.isabs(path) and os.path.exists(path),
          f'sanitizer build, but no ASan runtime to preload before {shim}')
    return path


def shim_env(test, tas):
    """Environment of a program whose sockets go through tas: the shim
    preloaded, TAS_SOCKET set.  In a sanitizer build the ASan runtime must
    come first in LD_PRELOAD; the programs' own leaks are not ours
    (detect_leaks=0); ASan reports go to files in the work directory (a
    forked worker's stderr may be a log file), UBSan's to stderr whatever
    UBSAN_OPTIONS says (Programs scans both)."""
    shim = interpose_lib()
    check(os.path.isfile(shim), f'{shim} is not built (TAS_INTERPOSE names the shim)')
    env = tas.env()
    preload = [shim]
    if sanitizer_build():
        preload.insert(0, asan_runtime(shim))
        logs = os.path.join(test.workdir, SANITIZER_LOG_DIR)
        env['ASAN_OPTIONS'] = ':'.join(filter(None, [
            os.environ.get('ASAN_OPTIONS'), 'detect_leaks=0', f'log_path={logs}/asan']))
        env['UBSAN_OPTIONS'] = ':'.join(filter(None, [
            os.environ.get('UBSAN_OPTIONS'), 'print_stacktrace=1']))
    env['LD_PRELOAD'] = ':'.join(preload)
    return env


SANITIZER_REPORT = re.compile(r'runtime error:|ERROR: AddressSanitizer|'
                              r'SUMMARY: (Address|UndefinedBehavior)Sanitizer')


def sanitizer_reports(test, logs):
    """The sanitizer reports in the work directory's ASan files and in the
    files logs (stderr, servers' error logs), or ''."""
    found = []
    report_dir = os.path.join(test.workdir, SANITIZER_LOG_DIR)
    for name in sorted(os.listdir(report_dir)) if os.path.isdir(report_dir) else []:
        found.append(f'--- {name}:\n{tail(read_text(os.path.join(report_dir, name)))}')
    for path in logs:
        text = read_text(path)
        match = SANITIZER_REPORT.search(text)
        if match:
            start = text.rfind('\n', 0, match.start()) + 1
            found.append(f'--- {path}:\n{tail(text[start:])}')
    return '\n'.join(found)


class Programs:
    """Where a test runs unmodified programs (a server and its client), and how.

    Mode shim-server: the server on the host under the shim (its sockets on
    tas), the client plainly in the namespace (Linux TCP); shim-client: the
    reverse; shim-both: both on the host under the shim, talking through
    tas's local delivery.  Mode linux runs the layout of one of these
    (`like`) without tas and without the shim: the kernel owns the host end
    of the veth, with tas's address, so the same programs, addresses and
    assertions run on Linux at both ends (a baseline, and a check of the
    test's own logic).

    Servers listen on INADDR_ANY (the shim listens on tas's address); the
    client reaches a server on the host at tas's address, and, when the
    client is on the host too, also at 127.0.0.1 (server_addresses)."""

    def __init__(self, test, mode, like=None):
        self.test = test
        self.mode = mode
        self.shim = mode != 'linux'
        self.layout = like if mode == 'linux' else mode
        check(self.layout in SHIM_MODES, f'mode {mode}: no layout ({like})')
        self.server_on_host = self.layout in ('shim-server', 'shim-both')
        self.client_on_host = self.layout in ('shim-client', 'shim-both')
        # Servers that drop privileges (nginx and lighttpd workers as
        # www-data, memcached as memcache) read their files here, reach
        # tas's socket and write sanitizer reports.
        os.chmod(test.workdir, 0o755)
        self.logs = []
        self.bed = test.testbed()
        self.host_ip = self.bed.tas_ip
        self.peer_ip = self.bed.peer_ip
        if self.shim:
            self.tas = test.tas(self.bed)
            os.mkdir(os.path.join(test.workdir, SANITIZER_LOG_DIR), 0o1777)
            os.chmod(os.path.join(test.workdir, SANITIZER_LOG_DIR), 0o1777)
            self.host_env = shim_env(test, self.tas)
            test.defer(self._check_sanitizer_reports, 'sanitizer reports')
        else:
            self.tas = None
            self.host_env = None
            run_checked(['ip', 'addr', 'add', f'{self.host_ip}/{self.bed.prefix}',
                         'dev', self.bed.iface])
        where = {True: 'on the host' + (' under the shim' if self.shim else ' (Linux)'),
                 False: 'in the namespace (Linux)'}
        test.log(f'mode {mode}: server {where[self.server_on_host]}, '
                 f'client {where[self.client_on_host]}')

    def preloads_asan(self, on_host):
        """Whether a program there runs with the ASan runtime preloaded."""
        return self.shim and on_host and sanitizer_build()

    def server_addresses(self, loopback=True):
        """Where the client reaches the server: the peer's address, tas's,
        and (if loopback) 127.0.0.1 when both are on the host."""
        if not self.server_on_host:
            return [self.peer_ip]
        if self.client_on_host and loopback:
            return [self.host_ip, '127.0.0.1']
        return [self.host_ip]

    def address_label(self, address):
        """A short name for a server address, for process and run names."""
        return {self.host_ip: 'host', self.peer_ip: 'peer', '127.0.0.1': 'lo'}[address]

    def spawn(self, on_host, name, argv, stdin_path=None):
        if on_host:
            proc = Proc(self.test, name, argv, env=self.host_env, stdin_path=stdin_path)
            self.watch_log(proc.err_path)
            return proc
        return Proc(self.test, name, self.bed.ns_argv(argv), stdin_path=stdin_path)

    def watch_log(self, path):
        """A file where a program under the shim may write a sanitizer
        report (its stderr; a server's error log)."""
        self.logs.append(path)

    def server(self, name, argv, stdin_path=None):
        proc = self.spawn(self.server_on_host, name, argv, stdin_path)
        self.test.services.append(proc)
        return proc

    def client(self, name, argv, stdin_path=None):
        return self.spawn(self.client_on_host, name, argv, stdin_path)

    def run_client(self, name, argv, timeout, stdin_path=None):
        """A client run to completion (exit code 0); its stdout."""
        return self.client(name, argv, stdin_path).finish(timeout)

    def wait_listening(self, proc, port, on_host, timeout=15):
        """Until proc listens on port; under the shim on tas only, so that
        a client on the host cannot reach it through Linux either."""
        if on_host and self.shim:
            # Probe in short rounds, so that a program that died is seen.
            deadline = time.monotonic() + timeout
            while True:
                try:
                    self.bed.wait_tas_listening(proc, port, timeout=1)
                    break
                except Failure:
                    if time.monotonic() >= deadline or not proc.running():
                        raise
            check(not self.bed.linux_listening(proc.pid, port),
                  f'{proc.name} listens on port {port} on Linux too: the shim left a '
                  f'listen() to libc')
        else:
            self.bed.wait_linux_listening(proc, port, timeout)

    def wait_server_listening(self, proc, port, timeout=15):
        self.wait_listening(proc, port, self.server_on_host, timeout)

    def _check_sanitizer_reports(self):
        reports = sanitizer_reports(self.test, self.logs)
        check(not reports, 'the sanitizers reported errors:\n' + reports)

    def finish(self):
        """The end of a passing test: no sanitizer report, tas stops cleanly."""
        self._check_sanitizer_reports()
        if self.tas is not None:
            self.tas.stop()


def run_checked(argv, timeout=30):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    check(done.returncode == 0, f'{" ".join(argv)} failed ({done.returncode}):\n'
          f'{done.stdout}{done.stderr}')
    return done.stdout


def run_programs(main, modes, bound):
    """Entry point of a program test: --mode MODE (one of modes, or linux
    with --like MODE, default the first of modes); main(test, programs)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--mode', choices=list(modes) + ['linux'], required=True)
    parser.add_argument('--like', choices=modes, default=modes[0],
                        help='the layout --mode linux copies')
    args = parser.parse_args()
    run(lambda test: main(test, Programs(test, args.mode, args.like)), bound)


# ----------------------------------------------------------------------
# The test: owns the work directory, the clean-up stack and the bound

class Test:
    def __init__(self, name, bound):
        self.name = name
        self.bound = bound
        self.started = time.monotonic()
        self.workdir = tempfile.mkdtemp(prefix=f'tas-it-{name}-')
        self.services = []    # Procs whose output a failure report shows
        self._cleanups = []

    def log(self, message):
        print(f'[{time.monotonic() - self.started:8.3f}] {message}', flush=True)

    def defer(self, action, what):
        self._cleanups.append((action, what))

    def remaining(self):
        return self.bound - (time.monotonic() - self.started)

    def cleanup(self):
        """Run deferred actions newest first; return the errors they raised."""
        errors = []
        while self._cleanups:
            action, what = self._cleanups.pop()
            try:
                action()
            except (Failure, OSError, subprocess.SubprocessError) as error:
                errors.append(f'{what}: {error}')
        return errors

    # -- things a test creates --

    def testbed(self, mode=None):
        # Interface names are at most 15 characters: keep the name short,
        # unique per test and stable, so a killed run's leftovers are
        # recognised and removed by the next run.
        return Testbed(self, f'it{zlib.crc32(self.name.encode()):08x}'[:8], mode)

    def tas(self, bed, **options):
        return Tas(self, bed, **options)

    def spawn(self, name, argv, env=None):
        """Start a process on the host."""
        return Proc(self, name, argv, env=env)

    def spawn_app(self, tas, name, app, args):
        """Start a libtas application (apps/APP) attached to tas."""
        return Proc(self, name, [require_executable(app_exe(app))] + strs(args),
                    env=tas.env())

    def spawn_ns(self, bed, name, app, args):
        """Start a Linux-sockets application (apps/APP) in the namespace."""
        return Proc(self, name, bed.ns_argv([require_executable(app_exe(app))]
                                            + strs(args)))

    # -- the bulk transfer tools (apps/tas-bulk, apps/linux-bulk) --

    def tas_bulk_server(self, bed, tas, port, args, name='tas-bulk-server', probe=True):
        """tas-bulk listening on port.  Ready once a SYN probe from the
        namespace gets a SYN-ACK; probe=False: once tas-bulk says the
        listener is up, for a test that counts (and drops) handshake
        segments and must see no others."""
        proc = self.spawn_app(tas, name, 'tas-bulk', ['--listen', str(port)] + strs(args))
        if probe:
            bed.wait_tas_listening(proc, port)
        else:
            proc.wait_output(rf'^listening on port {port}$', timeout=15)
        return proc

    def tas_bulk_client(self, bed, tas, port, args, name='tas-bulk-client', ip=None):
        """A tas-bulk client of the Linux peer (or of ip, e.g. tas's own)."""
        return self.spawn_app(tas, name, 'tas-bulk',
                              ['--connect', f'{ip or bed.peer_ip}:{port}'] + strs(args))

    def linux_bulk_server(self, bed, port, args, name='linux-bulk-server'):
        proc = self.spawn_ns(bed, name, 'linux-bulk', ['--listen', str(port)] + strs(args))
        bed.wait_linux_listening(proc, port)
        return proc

    def linux_bulk_client(self, bed, port, args, name='linux-bulk-client'):
        return self.spawn_ns(bed, name, 'linux-bulk',
                             ['--connect', f'{bed.tas_ip}:{port}'] + strs(args))


def strs(values):
    return [str(value) for value in values]


def at_most(limit):
    """Expectation for check_bulk: a count no larger than limit."""
    def holds(value):
        return isinstance(value, int) and value <= limit
    holds.text = f'<= {limit}'
    return holds


def check_bulk(result, conns, sent, recv, resets=0):
    """A `bulk:` result verified, with exactly these totals (ints) or
    totals satisfying these predicates (e.g. at_most(n))."""
    expected = {'conns': conns, 'sent': sent, 'recv': recv, 'resets': resets,
                'verified': 'yes'}
    wrong = []
    for key, want in expected.items():
        got = result.get(key)
        holds = want(got) if callable(want) else got == want
        if not holds:
            wrong.append(f'{key}={got}, expected {getattr(want, "text", want)}')
    check(not wrong, f'{result["line"]}: ' + '; '.join(wrong))


def mbit_per_sec(byte_count, seconds):
    return 8 * byte_count / seconds / 1e6 if seconds > 0 else 0.0


def jain_index(values):
    """Jain's fairness index of values: (sum x)^2 / (n * sum x^2), 1 when
    all are equal, 1/n when one has everything."""
    values = list(values)
    squares = sum(value * value for value in values)
    return sum(values) ** 2 / (len(values) * squares) if squares else 0.0


def run(main, bound):
    """Run main(test) within bound seconds; exit 0 pass, 1 fail, 77 skip."""
    name = (os.environ.get('TAS_TEST_NAME')
            or os.path.splitext(os.path.basename(sys.argv[0]))[0])
    reason = machine_unfit_reason()
    if reason:
        print(f'SKIP {name}: {reason}', flush=True)
        sys.exit(SKIP_EXIT)

    def bound_expired(signum, _frame):
        if signum == signal.SIGALRM:
            raise BoundExceeded(f'the time bound of {bound} s expired')
        raise BoundExceeded(f'terminated by signal {signum}')

    signal.signal(signal.SIGALRM, bound_expired)
    signal.signal(signal.SIGTERM, bound_expired)
    test = Test(name, bound)
    test.log(f'{name}: bound {bound} s, work directory {test.workdir}')
    signal.alarm(bound)
    failure = skipped = None
    try:
        main(test)
    except Skip as reason:
        skipped = reason
    except (Failure, BoundExceeded) as error:
        failure = error
    except Exception as error:  # a bug in the test itself: report it as one
        failure = error
        traceback.print_exc()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        cleanup_errors = test.cleanup()

    for error in cleanup_errors:
        test.log(f'clean-up: {error}')
    if failure is None and cleanup_errors:
        failure = Failure('clean-up failed: ' + '; '.join(cleanup_errors))
    if failure is not None:
        for service in test.services:
            print(service.describe(), flush=True)
        test.log(f'FAIL {name}: {failure}')
        test.log(f'outputs kept in {test.workdir}')
        sys.exit(FAIL_EXIT)
    if skipped is not None:
        test.log(f'SKIP {name}: {skipped}')
        shutil.rmtree(test.workdir, ignore_errors=True)
        sys.exit(SKIP_EXIT)
    test.log(f'PASS {name} in {time.monotonic() - test.started:.1f} s')
    # TAS_TEST_KEEP=1 keeps the outputs of a passing test too.
    if os.environ.get('TAS_TEST_KEEP'):
        test.log(f'outputs kept in {test.workdir}')
    else:
        shutil.rmtree(test.workdir, ignore_errors=True)
    sys.exit(0)
