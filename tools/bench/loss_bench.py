"""Goodput of one long flow under random loss: tas against Linux through
the same impairment stage (tools/impair/tas-impair).

Two test beds made by tools/testbed.sh, both with the stage between their
ends:

  tas     `testbed.sh up NAME impaired`: tas drives NAME-tas; the stage
          bridges NAME-ia and NAME-ib; Linux's TCP in NAME-ns.
  Linux   `testbed.sh up NAME2 impaired-linux`: the same, with Linux's TCP
          in NAME2-lns (tas's address) in place of tas.

Directions:

  send    tas sends, Linux (NAME-ns) receives: tas's sender (loss
          recovery, congestion control).  Linux: NAME2-lns sends to
          NAME2-ns.
  recv    Linux (NAME-ns) sends, tas receives: tas's receiver (out-of-order
          data, SACK, ACKs).  Linux: NAME2-ns sends to NAME2-lns.

So in every case the other end is the same Linux (cubic, the namespace's
defaults); only the stack in the position of tas differs.  tas runs with
--cc cubic; every Linux namespace is set to cubic (and checked).

One connection per run, a fixed number of bytes, the receiver listening
(`--listen`), the sender connecting: apps/tas-bulk and apps/linux-bulk
send a deterministic pattern and verify every byte (tests/integration/
bulk.py drives them the same way).  Goodput is the receiver's count of
verified bytes over the receiver's time, from accept to the connection's
close after the sender's FIN.  A run counts only if the receiver got
exactly the bytes, verified, without reset, and both apps exit 0.

For every run a fresh stage starts, seeded with --seed + repetition, loss
P % in both directions (data and ACKs), after the receiver listens and
before the sender connects; so the tas run and the Linux run of a
repetition get the same stage, the same seed and the same size.  Each
repetition runs, for every loss rate and direction, the tas run and the
Linux run back to back, the order alternating, so slow drifts of the
machine hit both.
"""

import os
import shlex
import statistics
import subprocess
import time

import harness
import rpc_bench
import shim_bench

TAS_BED = 'blosstas'
LINUX_BED = 'blosslnx'
STACKS = ('tas', 'linux')
STACK_NAMES = {'tas': 'tas', 'linux': 'Linux'}
DIRECTIONS = ('send', 'recv')
DIRECTION_TITLES = {
    'send': 'tas sends (tas → Linux; Linux baseline: lns → ns)',
    'recv': 'tas receives (Linux → tas; Linux baseline: ns → lns)',
}
DIRECTION_SHORT = {'send': 'tas sends', 'recv': 'tas receives'}
BASE_PORT = 17000
TAS_CC = 'cubic'
APP_GRACE = 15              # seconds beyond the apps' own --timeout
RECORDED_SYSCTLS = ('net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_sack',
                    'net.ipv4.tcp_dsack', 'net.ipv4.tcp_timestamps',
                    'net.ipv4.tcp_recovery', 'net.ipv4.tcp_early_retrans',
                    'net.ipv4.tcp_ecn', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem')


class Params:
    def __init__(self, repeats, size, rates, directions, seed, extra, timeout):
        self.repeats = repeats
        self.size = size              # bytes per run
        self.rates = rates            # loss in percent (strings as given: '0', '1', '5')
        self.directions = directions
        self.seed = seed
        self.extra = extra            # more SPEC for both directions, e.g. delay=1ms
        self.timeout = timeout        # the apps' --timeout

    def spec(self, rate):
        """The stage's SPEC for both directions at a loss rate."""
        parts = [f'loss={rate}'] if float(rate) > 0 else []
        if self.extra:
            parts.append(self.extra)
        return ','.join(parts)


def mbit(byte_count, seconds):
    return 8 * byte_count / seconds / 1e6 if seconds > 0 else None


# Linux sender counters (namespace-wide; only the measured connection runs
# there): /proc/net/snmp Tcp: and /proc/net/netstat TcpExt: keys.
LINUX_COUNTERS = {'linux_retrans': ('Tcp:', 'RetransSegs'),
                  'linux_rtos': ('TcpExt:', 'TCPTimeouts'),
                  'linux_tlps': ('TcpExt:', 'TCPLossProbes'),
                  'linux_lost_retrans': ('TcpExt:', 'TCPLostRetransmit')}


def snmp_table(text, prefix):
    """{key: value} of the PREFIX lines (a header line, then values) of a
    /proc/net/snmp or /proc/net/netstat text."""
    lines = [line.split() for line in text.splitlines() if line.startswith(prefix)]
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0][1:], (int(v) for v in lines[1][1:])))


def cpu_jiffies():
    with open('/proc/stat') as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Suite:
    def __init__(self, test, params, log):
        self.test = test
        self.params = params
        self.log = log
        self.events = []
        self.runs = 0
        self.bed = harness.Testbed(test, TAS_BED, mode='impaired')
        self.linux_bed = harness.Testbed(test, LINUX_BED, mode='impaired-linux')
        self.bed_commands = [f'tools/testbed.sh up {TAS_BED} impaired',
                             f'tools/testbed.sh up {LINUX_BED} impaired-linux']
        # testbed.sh chooses cubic in every namespace; make sure, since the
        # comparison is cubic against cubic.
        self.namespaces = {f'{self.bed.ns} (tas bed, the Linux end)': self.bed.ns,
                           f'{self.linux_bed.ns} (Linux bed, the far end)': self.linux_bed.ns,
                           f'{self.linux_bed.linux_ns} (Linux bed, in tas\'s place)':
                               self.linux_bed.linux_ns}
        for ns in self.namespaces.values():
            self.ns_run(ns, ['sysctl', '-qw', f'{rpc_bench.CONGESTION_SYSCTL}=cubic'])
            self.bed_commands.append(
                f'ip netns exec {ns} sysctl -w {rpc_bench.CONGESTION_SYSCTL}=cubic')
            got = self.ns_run(ns, ['sysctl', '-n', rpc_bench.CONGESTION_SYSCTL]).strip()
            harness.check(got == 'cubic', f'{ns}: congestion control is {got}, not cubic')
        # tas sends its first frames (ARP) at start: let them pass.
        stage = self.bed.impair(seed=params.seed)
        self.tas = harness.Tas(test, self.bed, extra_args=['--cc', TAS_CC])
        stage.counters()
        self.tas_starts = 1

    def ns_run(self, ns, argv):
        done = subprocess.run(['ip', 'netns', 'exec', ns] + list(argv),
                              capture_output=True, text=True, timeout=30)
        harness.check(done.returncode == 0, f'in {ns}: {" ".join(argv)} failed:\n'
                      f'{done.stdout}{done.stderr}')
        return done.stdout

    def note(self, text):
        self.log('NOTE: ' + text.splitlines()[0])
        self.events.append(text)

    def ensure_tas(self, context):
        if self.tas.proc.running():
            return
        self.note(f'tas exited ({self.tas.proc.returncode}) {context}; its output:\n'
                  + harness.tail(self.tas.proc.stderr() + self.tas.proc.stdout(), 3000))
        self.tas.stopped = True
        stage = self.bed.impair(seed=self.params.seed)
        self.tas = harness.Tas(self.test, self.bed, extra_args=['--cc', TAS_CC])
        stage.counters()
        self.tas_starts += 1

    # -- the two ends of a run ---------------------------------------------

    def ends(self, stack, direction, port):
        """(receiver, sender): each (where, argv) with where 'tas' (a libtas
        app of our tas) or a namespace; the receiver listens on port."""
        size, timeout = self.params.size, self.params.timeout
        common = ['--conns', 1, '--seed', 1, '--timeout', timeout]
        recv_args = ['--listen', port, '--recv', size] + common
        if stack == 'tas':
            if direction == 'send':
                return ((self.bed.ns, 'linux-bulk', recv_args),
                        ('tas', 'tas-bulk', ['--connect', f'{self.bed.peer_ip}:{port}',
                                             '--send', size] + common))
            return (('tas', 'tas-bulk', recv_args),
                    (self.bed.ns, 'linux-bulk', ['--connect', f'{self.bed.tas_ip}:{port}',
                                                 '--send', size] + common))
        bed = self.linux_bed
        if direction == 'send':
            return ((bed.ns, 'linux-bulk', recv_args),
                    (bed.linux_ns, 'linux-bulk', ['--connect', f'{bed.peer_ip}:{port}',
                                                  '--send', size] + common))
        return ((bed.linux_ns, 'linux-bulk', recv_args),
                (bed.ns, 'linux-bulk', ['--connect', f'{bed.tas_ip}:{port}',
                                        '--send', size] + common))

    def argv(self, where, app, args):
        exe = harness.require_executable(harness.app_exe(app))
        argv = [exe] + harness.strs(args)
        return argv if where == 'tas' else ['ip', 'netns', 'exec', where] + argv

    def spawn(self, name, where, app, args):
        env = self.tas.env() if where == 'tas' else None
        return self.test.spawn(name, self.argv(where, app, args), env=env)

    def command_text(self, stack, direction):
        """The receiver's and the sender's commands, ports as PORT."""
        out = []
        for where, app, args in self.ends(stack, direction, 'PORT'):
            argv = self.argv(where, app, args)
            prefix = f'TAS_SOCKET={self.tas.socket_path} ' if where == 'tas' else ''
            out.append(prefix + shlex.join(argv))
        return out

    # -- one run --------------------------------------------------------------

    def run_one(self, stack, direction, rate, repetition):
        self.runs += 1
        port = BASE_PORT + self.runs
        bed = self.bed if stack == 'tas' else self.linux_bed
        seed = self.params.seed + repetition
        spec = self.params.spec(rate)
        tag = f'{direction}-{rate}-{stack}-{repetition + 1}'
        (r_where, r_app, r_args), (s_where, s_app, s_args) = self.ends(stack, direction, port)
        result = {'stack': stack, 'direction': direction, 'rate': rate,
                  'repetition': repetition, 'seed': seed, 'spec': spec,
                  'load_before': os.getloadavg()[0]}
        receiver = self.spawn(f'recv-{tag}', r_where, r_app, r_args)
        if r_where == 'tas':
            # The SYN probe needs a path to tas: an unimpaired stage, gone
            # again before the measured one starts.
            probe_stage = bed.impair(seed=seed)
            try:
                bed.wait_tas_listening(receiver, port)
            finally:
                probe_stage.counters()
        else:
            bed.wait_linux_listening(receiver, port)
        stage = bed.impair(to_tas=spec, from_tas=spec, seed=seed)
        sender_ns = s_where if s_where != 'tas' else None
        counters_before = self.linux_counters(sender_ns)
        tas_before = harness.process_run_seconds(self.tas.pid)
        stage_before = harness.process_run_seconds(stage.proc.pid)
        jiffies_before = cpu_jiffies()
        ticks_before = shim_bench.process_ticks()
        started = time.monotonic()
        sender = self.spawn(f'send-{tag}', s_where, s_app, s_args)
        limit = self.params.timeout + APP_GRACE
        errors = []
        fields = {}
        for role, proc in (('receiver', receiver), ('sender', sender)):
            try:
                rc = proc.wait(max(1, limit - (time.monotonic() - started)))
            except harness.Failure:
                proc.kill_group()
                rc = None
                errors.append(f'{role} did not exit within {limit} s')
            line = harness.parse_result_line(proc.stdout(), 'bulk')
            fields[role] = line
            if rc not in (0, None):
                errors.append(f'{role} exited with {rc}: '
                              f'{harness.tail(proc.stderr().strip(), 300)}')
            if line is None and rc is not None:
                errors.append(f'{role} printed no bulk: line')
        wall = time.monotonic() - started
        busy, total = cpu_jiffies()
        result['machine_busy'] = (busy - jiffies_before[0]) / max(1, total - jiffies_before[1])
        ours = {os.getpid(), self.tas.pid, stage.proc.pid, receiver.pid, sender.pid}
        result['others_cpu'] = shim_bench.others_seconds(
            ticks_before, shim_bench.process_ticks(), ours) / wall
        if self.tas.proc.running():
            result['tas_cpu'] = (harness.process_run_seconds(self.tas.pid) - tas_before) / wall
        if stage.proc.running():
            result['stage_cpu'] = (harness.process_run_seconds(stage.proc.pid)
                                   - stage_before) / wall
        counters_after = self.linux_counters(sender_ns)
        for key in LINUX_COUNTERS:
            if key in counters_before and key in counters_after:
                result[key] = counters_after[key] - counters_before[key]
        try:
            counters = stage.counters()
        except harness.Failure as failure:
            errors.append(f'stage: {str(failure).splitlines()[0]}')
            counters = {}
        data, acks = ('from_tas', 'to_tas') if direction == 'send' else ('to_tas', 'from_tas')
        for label, prefix in (('data', data), ('ack', acks)):
            for key in ('frames', 'dropped', 'queue_drops', 'overflow_drops', 'tx_errors'):
                if f'{prefix}_{key}' in counters:
                    result[f'{label}_{key}'] = counters[f'{prefix}_{key}']
        got = fields.get('receiver')
        sent = fields.get('sender')
        if got:
            want = {'conns': 1, 'recv': self.params.size, 'sent': 0, 'resets': 0,
                    'verified': 'yes'}
            wrong = [f'{k}={got.get(k)} (expected {v})' for k, v in want.items()
                     if got.get(k) != v]
            if wrong:
                errors.append('receiver: ' + ', '.join(wrong))
            result['recv_secs'] = got.get('secs')
            result['goodput_mbit'] = mbit(got.get('recv') or 0, got.get('secs') or 0)
            result['receiver_line'] = got['line']
        if sent:
            if sent.get('sent') != self.params.size or sent.get('resets') != 0:
                errors.append(f'sender: sent={sent.get("sent")} resets={sent.get("resets")}')
            result['send_secs'] = sent.get('secs')
            result['sender_line'] = sent['line']
        result['wall'] = wall
        if errors:
            result['error'] = '; '.join(errors)
            result['output'] = '\n'.join(p.describe() for p in (receiver, sender))
            if stack == 'tas':
                result['output'] += '\n--- tas:\n' + harness.tail(
                    self.tas.proc.stderr() + self.tas.proc.stdout(), 2000)
        return result

    def linux_counters(self, ns):
        """LINUX_COUNTERS so far in namespace ns ({} for tas)."""
        if ns is None:
            return {}
        try:
            text = self.ns_run(ns, ['cat', '/proc/net/snmp', '/proc/net/netstat'])
        except harness.Failure:
            return {}
        out = {}
        for key, (prefix, name) in LINUX_COUNTERS.items():
            value = snmp_table(text, prefix).get(name)
            if value is not None:
                out[key] = value
        return out

    def run(self):
        results = {}
        for repetition in range(self.params.repeats):
            for rate_index, rate in enumerate(self.params.rates):
                for dir_index, direction in enumerate(self.params.directions):
                    flip = (repetition + rate_index + dir_index) % 2
                    for stack in (STACKS[::-1] if flip else STACKS):
                        if stack == 'tas':
                            self.ensure_tas(f'before {direction} {rate} %')
                        result = self.run_one(stack, direction, rate, repetition)
                        results.setdefault((direction, rate, stack), []).append(result)
                        self.log(f'loss {rate} % {direction} {repetition + 1}/'
                                 f'{self.params.repeats} {stack}: {describe(result)}')
                        if 'error' in result:
                            self.note(f'{direction} {rate} % #{repetition + 1} on '
                                      f'{STACK_NAMES[stack]} failed: {result["error"]}')
        return results


def describe(result):
    text = (f'{result["goodput_mbit"]:.0f} Mbit/s in {result["recv_secs"]:.2f} s'
            if result.get('goodput_mbit') else 'no figure')
    extra = [f'data frames {result.get("data_frames")} dropped {result.get("data_dropped")}',
             f'acks {result.get("ack_frames")} dropped {result.get("ack_dropped")}']
    if result.get('linux_retrans') is not None:
        extra.append(f'Linux retrans {result["linux_retrans"]} RTOs '
                     f'{result.get("linux_rtos")} TLPs {result.get("linux_tlps")}')
    if result.get('stage_cpu') is not None:
        extra.append(f'stage cpu {result["stage_cpu"]:.2f}')
    if result.get('tas_cpu') is not None:
        extra.append(f'tas cpu {result["tas_cpu"]:.2f}')
    if 'error' in result:
        text = 'FAILED: ' + result['error'] + ' (' + text + ')'
    return text + '; ' + ', '.join(extra)


def tas_log_line(tas, prefix):
    for line in (tas.proc.stderr() + tas.proc.stdout()).splitlines():
        if line.startswith('tas: ' + prefix):
            return line
    return ''


def stage_version():
    """The stage binary the runs used, with its modification time."""
    path = harness.impair_exe()
    try:
        stamp = time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(os.path.getmtime(path)))
    except OSError:
        stamp = 'unknown'
    return f'{path} (built {stamp})'


def run(test, params, log):
    """Every run; returns what loss_report.render needs."""
    suite = Suite(test, params, log)
    results = suite.run()
    sysctls = {}
    for label, ns in suite.namespaces.items():
        values = {}
        for name in RECORDED_SYSCTLS:
            try:
                values[name] = suite.ns_run(ns, ['sysctl', '-n', name]).strip().replace(
                    '\t', ' ')
            except harness.Failure:
                values[name] = 'unknown'
        sysctls[label] = values
    return {
        'params': params,
        'results': results,
        'events': suite.events,
        'commands': {
            'beds': suite.bed_commands,
            'tas': shlex.join(suite.tas.proc.argv),
            'stage': {stack: shlex.join([
                harness.impair_exe(), '--a', bed.impair_tas_side, '--b',
                bed.impair_peer_side, '--seed', 'SEED', '--a-to-b', 'SPEC',
                '--b-to-a', 'SPEC']) for stack, bed in (('tas', suite.bed),
                                                       ('linux', suite.linux_bed))},
            'apps': {(stack, direction): suite.command_text(stack, direction)
                     for stack in STACKS for direction in params.directions},
        },
        'beds': {'tas': suite.bed, 'linux': suite.linux_bed},
        'stage': stage_version(),
        'tas_starts': suite.tas_starts,
        'tas_ready': tas_log_line(suite.tas, 'ready:'),
        'tas_eal': tas_log_line(suite.tas, 'EAL arguments:'),
        'tas_huge': suite.tas.huge,
        'sysctls': sysctls,
        'workdir': test.workdir,
    }


def summary(runs, key='goodput_mbit'):
    good = [run[key] for run in runs if 'error' not in run and run.get(key) is not None]
    return {
        'median': statistics.median(good) if good else None,
        'min': min(good) if good else None,
        'max': max(good) if good else None,
        'valid': len(good),
        'failed': len([run for run in runs if 'error' in run]),
    }


def median_of(runs, key, valid_only=True):
    values = [run[key] for run in runs if run.get(key) is not None
              and (not valid_only or 'error' not in run)]
    return statistics.median(values) if values else None


def paired_ratios(results, direction, rate):
    """tas / Linux goodput of each repetition where both runs counted."""
    tas = {r['repetition']: r for r in results.get((direction, rate, 'tas'), [])
           if 'error' not in r and r.get('goodput_mbit')}
    linux = {r['repetition']: r for r in results.get((direction, rate, 'linux'), [])
             if 'error' not in r and r.get('goodput_mbit')}
    return [tas[rep]['goodput_mbit'] / linux[rep]['goodput_mbit']
            for rep in sorted(tas) if rep in linux]
