"""The sockets-shim section of doc/benchmarks.md (tools/bench/run.sh
--suite shim) and its summary, merged into the file as report_blocks.py
describes.
"""

import math
import statistics

import report_blocks
import shim_bench

SUMMARY_BEGIN = '<!-- shim-summary:begin (tools/bench/run.sh --suite shim) -->'
SUMMARY_END = '<!-- shim-summary:end -->'
SECTION_BEGIN = '<!-- shim:begin (tools/bench/run.sh --suite shim; do not edit by hand) -->'
SECTION_END = '<!-- shim:end -->'
BLOCKS = report_blocks.MarkedBlocks(SUMMARY_BEGIN, SUMMARY_END, SECTION_BEGIN,
                                     SECTION_END)
STACKS = shim_bench.STACKS
NAMES = shim_bench.STACK_NAMES


# ----------------------------------------------------------------------
# Figures

def geometric_mean(values):
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def number(value, digits):
    return 'n/a' if value is None else f'{value:,.{digits}f}'


def cell(summary, digits):
    """A median, or why there is none; failed runs are never in it."""
    if summary['median'] is None:
        if summary['failed']:
            errors = f', {summary["errors"]:,} errors' if summary['errors'] else ''
            return f'**failed** ({summary["failed"]} of {summary["failed"]} runs{errors})'
        return 'n/a'
    text = number(summary['median'], digits)
    if summary['failed']:
        runs = summary['failed'] + summary['valid']
        errors = f', {summary["errors"]:,} errors' if summary['errors'] else ''
        text += f' (**{summary["failed"]} of {runs} runs failed**{errors})'
    return text


def spread(summary, digits):
    if summary['median'] is None or summary['valid'] < 2:
        return ''
    return f'{number(summary["min"], digits)} – {number(summary["max"], digits)}'


def pair(bench, case, metric):
    return {stack: shim_bench.summary(bench['results'].get((case.key, stack), []), metric.key)
            for stack in STACKS}


def clean(sums):
    """Both stacks have figures and no failed run: the ratio counts."""
    return all(s['median'] is not None and not s['failed'] for s in sums.values())


def ratio(sums):
    tas, linux = sums['tas']['median'], sums['linux']['median']
    if tas is None or linux is None or linux == 0:
        return None
    return tas / linux


def ratio_text(sums):
    value = ratio(sums)
    if value is None:
        return 'n/a'
    return f'{value:.2f}' if clean(sums) else f'({value:.2f})'


def ratios(bench, kind, keys=None):
    """[(case, metric, ratio, counts)] of every figure of kind; counts says
    whether both stacks ran without failure."""
    out = []
    for case in bench['cases']:
        for metric in case.metrics:
            if metric.kind != kind or (keys and (case.key, metric.key) not in keys):
                continue
            sums = pair(bench, case, metric)
            out.append((case, metric, ratio(sums), clean(sums)))
    return out


def headline(bench):
    """(geometric mean, min, max, counted, left out) of the throughput
    ratios; left out are the figures with a failed run on either side."""
    figures = ratios(bench, 'throughput')
    counted = [r for _, _, r, ok in figures if ok and r]
    left_out = [(case, metric) for case, metric, r, ok in figures if not ok]
    mean = geometric_mean(counted)
    return mean, (min(counted) if counted else None), (max(counted) if counted else None), \
        len(counted), left_out


def latency_headline(bench):
    parts = []
    for case in bench['cases']:
        if case.group != 'sockperf':
            continue
        for metric in case.metrics:
            if metric.key in ('p50_us', 'p99_us', 'p999_us'):
                sums = pair(bench, case, metric)
                parts.append(f'{metric.label} {ratio_text(sums)}')
    wrk = [r for case, metric, r, ok in ratios(bench, 'latency')
           if case.group == 'nginx' and metric.key == 'p99_us' and ok and r]
    text = ''
    if parts:
        text = f'sockperf {shim_bench.SOCKPERF_BYTES} B ping-pong half round trip ' + \
            ', '.join(parts)
    if wrk:
        text += ('; ' if text else '') + (f'wrk p99 geometric mean {geometric_mean(wrk):.2f} '
                                          f'over {len(wrk)} cases')
    return text


def headline_text(bench):
    mean, low, high, counted, left_out = headline(bench)
    if mean is None:
        text = 'throughput tas / Linux: no case ran without failure on both stacks'
    else:
        text = (f'throughput tas / Linux, geometric mean over {counted} figures: '
                f'**{mean:.2f}** (from {low:.2f} to {high:.2f})')
    if left_out:
        text += (f'; left out because runs failed: ' + ', '.join(
            f'{case.title} {metric.label}' for case, metric in left_out))
    latency = latency_headline(bench)
    if latency:
        text += f'. Latency tas / Linux (below 1: tas is faster): {latency}'
    return text + '.'


# ----------------------------------------------------------------------
# Tables

def throughput_table(bench):
    lines = ['| program and client | figure | tas | Linux | tas/Linux | tas range | Linux range |',
             '|---|---|---:|---:|---:|---:|---:|']
    for case in bench['cases']:
        for metric in case.metrics:
            if metric.kind != 'throughput':
                continue
            sums = pair(bench, case, metric)
            lines.append(f'| {case.title} | {metric.label} | {cell(sums["tas"], metric.digits)} '
                         f'| {cell(sums["linux"], metric.digits)} | {ratio_text(sums)} '
                         f'| {spread(sums["tas"], metric.digits)} '
                         f'| {spread(sums["linux"], metric.digits)} |')
    return lines


def latency_table(bench):
    lines = ['| program and client | figure | tas µs | Linux µs | tas/Linux | tas range | '
             'Linux range |', '|---|---|---:|---:|---:|---:|---:|']
    for case in bench['cases']:
        for metric in case.metrics:
            if metric.kind != 'latency':
                continue
            sums = pair(bench, case, metric)
            lines.append(f'| {case.title} | {metric.label} | {cell(sums["tas"], metric.digits)} '
                         f'| {cell(sums["linux"], metric.digits)} | {ratio_text(sums)} '
                         f'| {spread(sums["tas"], metric.digits)} '
                         f'| {spread(sums["linux"], metric.digits)} |')
    return lines


def median_of(runs, key):
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def cpu_table(bench):
    """Medians over all runs (failed ones too: the CPU was used)."""
    lines = ['| program and client | tas process, tas runs | tas process, Linux runs '
             '| server, tas (shim) | server, Linux | shimmed server while idle '
             '(Linux runs) | both CPUs busy, tas runs | both CPUs busy, Linux runs '
             '| other processes, tas runs | other processes, Linux runs |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']

    def value(runs, key, scale=1.0, digits=2):
        found = median_of(runs, key)
        return 'n/a' if found is None else f'{found * scale:.{digits}f}'

    for case in bench['cases']:
        tas = bench['results'].get((case.key, 'tas'), [])
        linux = bench['results'].get((case.key, 'linux'), [])
        lines.append(f'| {case.title} | {value(tas, "tas_cpu")} | {value(linux, "tas_cpu", 1, 3)} '
                     f'| {value(tas, "server_cpu")} | {value(linux, "server_cpu")} '
                     f'| {value(linux, "idle_server_cpu", 1, 3)} '
                     f'| {value(tas, "machine_busy", 100, 0)} % '
                     f'| {value(linux, "machine_busy", 100, 0)} % '
                     f'| {value(tas, "others_cpu")} | {value(linux, "others_cpu")} |')
    return lines


def failure_notes(bench):
    out = []
    for case in bench['cases']:
        for stack in STACKS:
            for run in bench['results'].get((case.key, stack), []):
                if 'error' not in run:
                    continue
                out += [f'- **{case.title}, {NAMES[stack]}, run {run["repetition"] + 1}**: '
                        f'{run["error"]}', '',
                        '  <details><summary>client, server and tas output</summary>', '',
                        '  ```', *('  ' + line for line in [
                            '$ ' + run['command'],
                            *(run.get('client_output') or '(no client output)').splitlines(),
                            '--- server (since the run started):',
                            *(run.get('server_output') or '(nothing)').splitlines(),
                            *(['--- tas (since the run started):',
                               *(run.get('tas_output') or '(nothing)').splitlines()]
                              if stack == 'tas' else [])]),
                        '  ```', '', '  </details>', '']
    return out


def raw_lines(bench):
    out = []
    for case in bench['cases']:
        for stack in STACKS:
            for run in bench['results'].get((case.key, stack), []):
                head = f'{case.key} {stack} #{run["repetition"] + 1}:'
                if 'error' in run:
                    out.append(f'{head} FAILED: {run["error"]}')
                    continue
                figures = ' '.join(
                    f'{key}={run[key]:.6g}' if isinstance(run[key], float) else f'{key}={run[key]}'
                    for key in sorted(run) if key not in (
                        'stack', 'case', 'repetition', 'command', 'load_before')
                    and run[key] is not None)
                out.append(f'{head} {figures}')
    return out


# ----------------------------------------------------------------------
# The section

def conditions_rows(bench, conditions, end_load):
    rows = dict(conditions)
    rows['load average at end'] = end_load
    rows['tas memory'] = ('hugepages (EAL --in-memory)' if bench['tas_huge']
                          else '--no-huge (too few free hugepages)')
    rows['pinning'] = (
        'none for the programs: servers, clients and the kernel\'s network work run on '
        'both CPUs, for tas and Linux alike; tas: its default lcores, slow path on CPU 0 '
        'and one fast-path core on CPU 1 (EAL `-l 0,1`), polling only while it has work')
    rows['tas EAL arguments'] = f'`{bench["tas_eal"].removeprefix("tas: EAL arguments: ")}`'
    rows['tas ready line'] = f'`{bench["tas_ready"].removeprefix("tas: ")}`'
    rows['sockets shim'] = f'`{bench["shim"]}`'
    if bench['tas_starts'] > 1:
        rows['tas restarts'] = f'{bench["tas_starts"] - 1} (it exited during the run; see below)'
    loads = [run['load_before'] for runs in bench['results'].values() for run in runs]
    if loads:
        rows['1-minute load average before each run'] = (
            f'{min(loads):.2f} to {max(loads):.2f}, median {statistics.median(loads):.2f} '
            f'(the benchmark\'s own processes count: up to about 2 on these 2 CPUs)')
    for where, values in bench['sysctls'].items():
        rows[f'sysctls, {where}'] = ', '.join(f'`{k}={v}`' for k, v in values.items())
    if bench['host_cc_before'] != 'cubic':
        rows['sysctls, host'] += f' (congestion control was {bench["host_cc_before"]})'
    rows['open-file limit'] = (
        f'clients: `prlimit --nofile={bench["nofile"]}:{bench["nofile"]}` (wrk); nginx: '
        f'`worker_rlimit_nofile {bench["nofile"]}`, `worker_connections '
        f'{shim_bench.NGINX_WORKER_CONNECTIONS}`')
    rows['programs'] = '; '.join(bench['versions'].values())
    return rows


def render(bench, invocation, minutes, conditions, end_load):
    """(summary block, section block) for BLOCKS.merge()."""
    params = bench['params']
    mean_text = headline_text(bench)
    summary = '\n'.join([
        SUMMARY_BEGIN,
        f'Sockets shim, unmodified programs (nginx, redis, sockperf, iperf3; section '
        f'[Sockets shim](#sockets-shim-unmodified-programs-tas-vs-linux), its own run, '
        f'{conditions["date"]}): {mean_text}',
        SUMMARY_END,
    ])
    commands = bench['commands']
    groups = bench['groups']
    out = [
        SECTION_BEGIN,
        '## Sockets shim: unmodified programs, tas vs Linux',
        '',
        f'This run: `{invocation}` ({minutes:.1f} minutes, {conditions["date"]}).',
        '',
        'Headline: ' + mean_text,
        '',
        'Unmodified Debian programs. The servers run on the host: for **tas** under '
        '`LD_PRELOAD=libtas-interpose.so`, so their sockets are tas connections (a server '
        'listening on INADDR_ANY listens on tas\'s address); for **Linux** the same binary '
        'plainly on the kernel. The clients run plainly (Linux TCP) in the network '
        'namespace of a test bed: for tas the bed whose host end tas drives through '
        '`net_af_packet`, for Linux a second, identical bed (its own namespace and veth '
        'pair, offloads off on both ends, cubic in the namespace) whose host end the kernel '
        'owns with the address tas has on the first, as in the echo RPC\'s setup (b). '
        'Client arguments are the same for both stacks but for the server\'s address and '
        'port.',
        '',
        f'Program by program, both servers start, then every repetition of that program\'s '
        f'cases runs; each case ran {params.repeats} times per stack, the tas run and the '
        f'Linux run back to back, their order alternating. Figures are medians over the '
        f'valid runs; a run with any error (wrk socket errors or non-2xx responses, '
        f'redis-benchmark requests not completed or an error printed, sockperf messages '
        f'lost, an iperf3 error, a client that fails or does not exit in time) is failed: '
        f'it gives no figure, is counted in its cell and listed below with its output, and '
        f'its server is restarted before the next run. A ratio in parentheses has a failed '
        f'run on one side and is left out of the headline. Throughput ratios are tas / '
        f'Linux, above 1 tas is faster; latency ratios are tas / Linux too, so there **below '
        f'1 tas is faster (lower is better)**. Both servers of a program run during all its '
        f'runs: the one whose stack is not measured is idle.',
        '',
        '### Throughput',
        '',
        *throughput_table(bench),
        '',
        '### Latency (lower is better)',
        '',
        'sockperf: half round trip; wrk: per request (its `--latency` distribution); '
        'redis-benchmark: per request, from its latency summary.',
        '',
        *latency_table(bench),
        '',
        '### CPU',
        '',
        'CPU time per second of a run (1.00 = one CPU), medians over the runs: the tas '
        'process (all its threads), the server measured (all its processes), the shimmed '
        'server while it idles during the Linux runs, how busy both CPUs were (of 2 CPUs, '
        'kernel work included), and what user-space processes other than the benchmark\'s '
        'used meanwhile (other work on the machine competing with the run; a lower bound: '
        'processes that started and ended within a run are missed).',
        '',
        *cpu_table(bench),
        '',
    ]
    notes = failure_notes(bench)
    if notes or bench['events']:
        out += ['### Failures', '']
        if notes:
            out += ['Failed runs (not in any figure):', ''] + notes
        if bench['events']:
            out += ['Events during the run, in order:', '', '```']
            for event in bench['events']:
                out += event.splitlines()
            out += ['```', '']
    exits = []
    for group, info in groups.items():
        codes = ', '.join(f'{NAMES[s]} {info["exit_codes"][s]}' for s in STACKS)
        starts = ', '.join(f'{NAMES[s]} {info["starts"][s]}' for s in STACKS)
        exits.append(f'| {group} | {starts} | {codes} |')
    out += [
        '### Commands',
        '',
        'Test beds, tas, and the servers (`TAS_SOCKET` is tas\'s registration socket in the '
        'run\'s work directory):',
        '',
        '```sh',
        *commands['beds'],
        commands['tas'],
    ]
    for group, info in groups.items():
        out += [f'# {group}: tas (under the shim), then Linux',
                info['commands']['tas'], info['commands']['linux']]
    out += ['```', '']
    for group, info in groups.items():
        if info.get('nginx_conf'):
            out += ['nginx.conf (each server its own DIR; the Linux one listens on the next '
                    'port), with a 1 KB random file `www/1k.bin`:', '',
                    '<details><summary>nginx.conf</summary>', '', '```nginx',
                    info['nginx_conf'].rstrip('\n'), '```', '', '</details>', '']
    out += ['Clients (tas, then Linux):', '', '```sh']
    for case in bench['cases']:
        out.append(f'# {case.title}')
        for stack in STACKS:
            out.append(commands['clients'][(case.key, stack)])
    out += ['```', '',
            'Servers: starts (1 = never restarted) and exit status when stopped at the end '
            '(SIGTERM, sockperf SIGINT; None = killed after '
            f'{shim_bench.SERVER_STOP_TIMEOUT} s):', '',
            '| program | starts | exit status |', '|---|---|---|', *exits, '',
            '### Conditions of this run', '', '| | |', '|---|---|']
    out += [f'| {label} | {value} |'
            for label, value in conditions_rows(bench, conditions, end_load).items()]
    out += ['', '<details><summary>every run of the shim suite</summary>', '', '```',
            *raw_lines(bench), '```', '', '</details>', '', SECTION_END]
    return summary, '\n'.join(out)
