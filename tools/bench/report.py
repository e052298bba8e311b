"""doc/benchmarks.md from the results of a run."""

import math
import statistics

import fp_instructions
import rpc_bench

SETUP_HEADINGS = {
    'local': '(a) Client and server on one host: tas local delivery vs Linux loopback',
    'remote': '(b) Client in a namespace: server on tas vs server on Linux',
}

SETUP_TEXT = {
    'local': (
        'tas: `tas-rpc-client` and `tas-echo-server`, both libtas applications '
        'of the same tas; the client connects to tas\'s own address, so every '
        'segment goes from the fast path\'s transmit side straight to its '
        'receive side (local delivery: no driver, no checksums). Linux: '
        '`linux-rpc-client` and `linux-echo-server` over `127.0.0.1` (loopback, '
        'with its usual offloads).'),
    'remote': (
        'The client is `linux-rpc-client` in a network namespace in both cases. '
        'tas: `tas-echo-server` on tas, which drives the host end of the test '
        'bed\'s veth pair through `net_af_packet`. Linux: `linux-echo-server` on '
        'the host\'s kernel, reached through a second test bed made by the same '
        '`tools/testbed.sh` (its own namespace and veth pair, offloads off on '
        'both ends, cubic in the namespace) whose host end is given the address '
        'tas has on the first. So both servers sit behind an identical veth '
        'pair and checksum in software; the difference is the stack behind it.'),
}


def thousands(value):
    return f'{value:,.0f}'


def microseconds(value):
    return f'{value:,.1f}'


def ratio(tas, linux):
    if tas is None or linux is None or linux == 0:
        return 'n/a'
    return f'{tas / linux:.2f}'


def field(summary, key, formatter):
    return formatter(summary[key]) if summary else 'failed'


def geometric_mean(values):
    values = [v for v in values if v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def setup_ratios(rpc, setup_key):
    """tas/Linux ops/s ratio of every combination that has both medians."""
    ratios = []
    for combo in rpc_bench.COMBINATIONS:
        tas, linux = (rpc_bench.summary(rpc['results'].get((setup_key, combo, stack), []))
                      for stack in rpc_bench.STACKS)
        if tas and linux and linux['ops_per_sec'] > 0:
            ratios.append(tas['ops_per_sec'] / linux['ops_per_sec'])
    return ratios


def headline(rpc):
    """{setup key: (geometric mean, min, max) of the ops/s ratios}."""
    out = {}
    for setup in rpc['setups']:
        ratios = setup_ratios(rpc, setup.key)
        if ratios:
            out[setup.key] = (geometric_mean(ratios), min(ratios), max(ratios))
    return out


def rpc_table(rpc, setup_key):
    lines = [
        '| size | conns | in flight | tas ops/s | Linux ops/s | ops/s tas/Linux '
        '| tas p50 µs | Linux p50 µs | p50 tas/Linux | tas p99 µs | Linux p99 µs '
        '| p99 tas/Linux |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for size, conns, inflight in rpc_bench.COMBINATIONS:
        combo = (size, conns, inflight)
        tas, linux = (rpc_bench.summary(rpc['results'].get((setup_key, combo, stack), []))
                      for stack in rpc_bench.STACKS)
        cells = [f'{size} B' if size < 1024 else f'{size // 1024} KB', str(conns),
                 str(inflight)]
        for key, formatter in (('ops_per_sec', thousands), ('p50_us', microseconds),
                               ('p99_us', microseconds)):
            cells += [field(tas, key, formatter), field(linux, key, formatter),
                      ratio(tas and tas[key], linux and linux[key])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def tas_cpu_line(rpc, setup_key):
    """How much CPU tas itself took, busy and idle."""
    by_stack = {}
    for stack in rpc_bench.STACKS:
        values = [run['tas_cpu'] for (key, _, s), runs in rpc['results'].items()
                  if key == setup_key and s == stack for run in runs if 'tas_cpu' in run]
        if values:
            by_stack[stack] = (min(values), max(values))
    if 'tas' not in by_stack:
        return ''
    text = (f'CPU time of the tas process (all its threads) per second of a run: '
            f'{by_stack["tas"][0]:.2f} to {by_stack["tas"][1]:.2f} during the tas runs')
    if 'linux' in by_stack:
        text += (f', {by_stack["linux"][0]:.3f} to {by_stack["linux"][1]:.3f} while idle '
                 f'during the Linux runs')
    return text + '.'


def failures(rpc, setup_key):
    notes = []
    for (key, combo, stack), runs in sorted(rpc['results'].items(), key=str):
        if key != setup_key:
            continue
        for run in runs:
            if 'error' in run:
                notes.append(f'- {stack}, size {combo[0]}, {combo[1]} conns, '
                             f'{combo[2]} in flight: {run["error"]}')
    return notes


def rpc_section(rpc):
    params = rpc['params']
    out = [
        '## Echo RPC',
        '',
        f'Closed-loop echo: each of *conns* connections keeps *in flight* requests '
        f'of *size* bytes outstanding; a request completes when its last byte has '
        f'come back (the client measures from issuing it). Every combination ran '
        f'{params.repeats} times per stack, {params.duration:g} s measured after '
        f'{params.warmup:g} s of warm-up, the tas case and the Linux case back to '
        f'back with their order alternating. Figures are medians over the '
        f'repetitions; ratios are tas / Linux: above 1 tas completes more '
        f'requests per second, below 1 its latency is lower.',
        '',
        'tas and both echo servers run throughout; during the Linux runs tas is '
        'idle (its fast path sleeps; frames arriving for it wake it through its '
        'wake socket, doc/internals.md) and so is `tas-echo-server`, and `linux-echo-server` '
        'is idle during the tas runs. Common to both setups:',
        '',
        '```sh',
        *rpc['commands']['beds'],
        rpc['commands']['tas'],
        rpc['commands']['tas-echo-server'],
        rpc['commands']['linux-echo-server'] + '    # on the host',
        '```',
        '',
    ]
    ratios = headline(rpc)
    for setup in rpc['setups']:
        out += [f'### {SETUP_HEADINGS[setup.key]}', '', SETUP_TEXT[setup.key], '',
                'Clients (`{size}`, `{conns}`, `{inflight}` from the table):', '',
                '```sh']
        for stack in rpc_bench.STACKS:
            out.append(rpc['commands']['clients'][(setup.key, stack)])
        out += ['```', '', rpc_table(rpc, setup.key), '']
        out += [tas_cpu_line(rpc, setup.key), '']
        if setup.key in ratios:
            mean, low, high = ratios[setup.key]
            out += [f'ops/s tas/Linux over the 8 combinations: geometric mean '
                    f'**{mean:.2f}**, from {low:.2f} to {high:.2f}.', '']
        notes = failures(rpc, setup.key)
        if notes:
            out += ['Failed runs (left out of the medians):', ''] + notes + ['']
    return out


def instructions_section(cg):
    figures = cg['figures']

    def cell(key, digits=0):
        values = [f[key] for f in figures]
        median = fp_instructions.median_of(figures, key)
        spread = f'{min(values):,.{digits}f} – {max(values):,.{digits}f}'
        return f'{median:,.{digits}f}', spread

    rows = [
        ('**received data segment**: `rx_burst`', 'rx_per_segment', 0),
        ('  of which `pkt_parse` (parsing, software checksum check)',
         'rx_parse_per_segment', 0),
        ('**transmitted data segment**: `fp_tx_flows`', 'tx_per_segment', 0),
        ('  of which `pkt_fill_checksums` (software checksums)',
         'tx_checksum_per_segment', 0),
        ('ACK received while sending: `rx_burst`', 'ack_rx_per_ack', 0),
        ('data segments per receive burst', 'rx_segments_per_burst', 1),
    ]
    table = ['| instructions per … | median | range |', '|---|---:|---:|']
    for label, key, digits in rows:
        median, spread = cell(key, digits)
        table.append(f'| {label} | {median} | {spread} |')

    counts = ['| repetition | received data segments (bytes) | other segments received '
              '| ACKs sent | bursts | `rx_burst` instructions | sent data segments '
              '(bytes) | ACKs received | `fp_tx_flows` instructions |',
              '|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for number, f in enumerate(figures, 1):
        counts.append(
            f'| {number} | {f["rx_data_segments"]:,} ({f["rx_payload_bytes"]:,}) '
            f'| {f["rx_other_segments"]:,} | {f["rx_acks_sent"]:,} | {f["rx_bursts"]:,} '
            f'| {f["rx_instructions"]:,} | {f["tx_data_segments"]:,} '
            f'({f["tx_payload_bytes"]:,}) | {f["tx_acks_received"]:,} '
            f'| {f["tx_instructions"]:,} |')
    bed = cg['testbed']
    size = cg['size']
    return [
        '## Fast-path instructions per data segment (callgrind)',
        '',
        'Counted, not timed: `valgrind --tool=callgrind` counts every instruction '
        'executed (this machine has no hardware performance counters, and '
        'callgrind counts repeat). tas runs under callgrind on its own test bed '
        '(EAL `--no-huge`, `net_af_packet` on the veth); collection is on only '
        'inside the fast path\'s per-burst receive function `rx_burst` '
        '(fastpath/fp_rx.c: parsing and checksum check, flow lookup, TCP input, '
        'payload copy into the application\'s buffer, the burst\'s ACKs and '
        'events) and its transmit function `fp_tx_flows` (fastpath/fp_tx.c: '
        'queue manager, segment headers, payload copy, checksums), and off again '
        'inside `fp_tx_flush`, the hand-over to the driver. So the figures leave '
        'out the DPDK driver (af_packet copies each frame through the kernel), '
        'empty polls (`rx_burst` runs only for a non-empty burst), application '
        'commands and sleeping.',
        '',
        f'A bulk transfer drives known segments through each direction: '
        f'`linux-bulk` in the namespace sends {size:,} bytes to `tas-bulk` '
        f'(receive phase), then `tas-bulk` sends {size:,} bytes to `linux-bulk` '
        f'(transmit phase). Counters are zeroed before and dumped after each '
        f'phase (`callgrind_control -z`/`-d`); `tcpdump` on the namespace\'s end '
        f'of the veth counts the segments on the wire (none dropped). Figures are '
        f'instructions of the phase divided by its data segments (handshake, FIN '
        f'and ACK segments included in the instructions, not in the count), '
        f'median over {len(figures)} repetitions in one tas process. Both '
        f'directions compute checksums in software because `net_af_packet` '
        f'offers no checksum offload; with a NIC that does, the `of which` rows '
        f'go away. The burst size matters for the receive figure (ACKs and '
        f'events are per burst), and tas under callgrind is slower than the '
        f'sender, so its bursts are fuller than at full speed.',
        '',
        '\n'.join(table),
        '',
        'Per repetition:',
        '',
        '\n'.join(counts),
        '',
        'Commands (valgrind 3.19 lacks the `epoll_pwait2` system call the '
        'fast path sleeps in, so `tools/bench/epoll_pwait2_shim.c`, preloaded, '
        'maps it to `epoll_pwait` with the timeout rounded up to milliseconds; '
        'it changes only how long an idle core sleeps):',
        '',
        '```sh',
        cg['tas_command'],
        cg['tcpdump_command'] + ' &',
        f'TAS_SOCKET=… tas-bulk --listen PORT --recv {size} --timeout '
        f'{fp_instructions.BULK_TIMEOUT}',
        'callgrind_control -z PID',
        f'ip netns exec {bed.ns} linux-bulk --connect {bed.tas_ip}:PORT --send {size} '
        f'--timeout {fp_instructions.BULK_TIMEOUT}',
        'callgrind_control -d PID',
        f'ip netns exec {bed.ns} linux-bulk --listen PORT2 --recv {size} --timeout '
        f'{fp_instructions.BULK_TIMEOUT}',
        'callgrind_control -z PID',
        f'TAS_SOCKET=… tas-bulk --connect {bed.peer_ip}:PORT2 --send {size} '
        f'--timeout {fp_instructions.BULK_TIMEOUT}',
        'callgrind_control -d PID',
        '```',
        '',
    ]


def conditions_section(conditions, rpc, cg):
    rows = dict(conditions)
    if rpc:
        rows['tas memory'] = ('hugepages (EAL --in-memory)' if rpc['tas_huge']
                              else '--no-huge (too few free hugepages)')
        rows['pinning'] = (
            'tas: its default lcores, slow path on CPU 0 and one fast-path core '
            'on CPU 1 (EAL `-l 0,1`); the fast path polls only while it has '
            'work. Applications and the kernel\'s network work: not pinned '
            '(both CPUs), for tas and Linux alike.')
        rows['tas EAL arguments'] = f'`{rpc["tas_eal"].removeprefix("tas: EAL arguments: ")}`'
        rows['tas ready line'] = f'`{rpc["tas_ready"].removeprefix("tas: ")}`'
        loads = [run['load_before'] for runs in rpc['results'].values() for run in runs
                 if 'load_before' in run]
        if loads:
            rows['1-minute load average before each echo run'] = (
                f'{min(loads):.2f} to {max(loads):.2f}, median '
                f'{statistics.median(loads):.2f}; it counts the benchmark\'s own '
                f'processes (up to about 2 on these 2 CPUs), so more means other '
                f'work competed; see also the load at start, before any run')
        rows['congestion control'] = '; '.join(
            f'{where}: {value}' for where, value in rpc['congestion_control'].items()
        ) + '; tas: its own (slowpath/tcp_cc.c)'
    if cg:
        rows['callgrind measurement'] = (
            'tas with `--no-huge`, default lcores; valgrind runs its threads one '
            'at a time, which does not change instruction counts')
    return ['## Conditions', '', '| | |', '|---|---|'] + [
        f'| {label} | {value} |' for label, value in rows.items()] + ['']


def raw_section(rpc):
    out = ['## Raw results', '', '<details><summary>every run, in order of '
           'combination</summary>', '', '```']
    for (setup_key, combo, stack), runs in rpc['results'].items():
        for number, run in enumerate(runs, 1):
            text = run.get('line') or 'FAILED: ' + run['error']
            out.append(f'{setup_key} {stack} #{number}: {text}')
    return out + ['```', '', '</details>', '']


def render(invocation, minutes, conditions, rpc, cg, end_load):
    conditions = dict(conditions, **{'load average at end': end_load})
    out = [
        '# Benchmarks',
        '',
        'Written by `tools/bench/run.sh`: change the script and run it again '
        'rather than editing this file. Benchmarks are run by hand, not by the '
        'test suite; their figures depend on the machine and on whatever else '
        'ran on it (see the load averages below).',
        '',
        f'This run: `{invocation}` ({minutes:.1f} minutes).',
        '',
    ]
    if rpc:
        ratios = headline(rpc)
        if ratios:
            out += ['Headline, ops/s tas / Linux (geometric mean over the 8 '
                    'combinations): ' + '; '.join(
                        f'{SETUP_HEADINGS[key].split(":")[0]} {mean:.2f}'
                        for key, (mean, _, _) in ratios.items()) + '.', '']
    if cg:
        out += [f'Fast path, median instructions per data segment (callgrind, '
                f'driver excluded): received '
                f'{fp_instructions.median_of(cg["figures"], "rx_per_segment"):,.0f}, '
                f'transmitted '
                f'{fp_instructions.median_of(cg["figures"], "tx_per_segment"):,.0f}.', '']
    out += conditions_section(conditions, rpc, cg)
    if rpc:
        out += rpc_section(rpc)
    if cg:
        out += instructions_section(cg)
    if rpc:
        out += raw_section(rpc)
    return '\n'.join(out)
