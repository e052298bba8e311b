"""The loss section of doc/benchmarks.md (tools/bench/run.sh --suite loss)
and its summary, merged into the file as report_blocks.py describes.
"""

import statistics

import loss_bench
import report_blocks

SUMMARY_BEGIN = '<!-- loss-summary:begin (tools/bench/run.sh --suite loss) -->'
SUMMARY_END = '<!-- loss-summary:end -->'
SECTION_BEGIN = '<!-- loss:begin (tools/bench/run.sh --suite loss; do not edit by hand) -->'
SECTION_END = '<!-- loss:end -->'
BLOCKS = report_blocks.MarkedBlocks(SUMMARY_BEGIN, SUMMARY_END, SECTION_BEGIN,
                                     SECTION_END)
STACKS = loss_bench.STACKS
NAMES = loss_bench.STACK_NAMES
TARGET_RATE = '1'           # the claim: at 1 % loss ...
TARGET_RATIO = 0.80         # ... tas's goodput is at least 80 % of Linux's
STAGE_CEILING_GBIT = 2.3    # Linux to Linux through the stage, no impairment
STAGE_BOUND_CPU = 0.85      # stage thread busier than this: it is the bottleneck


# ----------------------------------------------------------------------
# Figures

def runs_of(bench, direction, rate, stack):
    return bench['results'].get((direction, rate, stack), [])


def pair(bench, direction, rate):
    return {stack: loss_bench.summary(runs_of(bench, direction, rate, stack))
            for stack in STACKS}


def ratio(sums):
    tas, linux = sums['tas']['median'], sums['linux']['median']
    if tas is None or not linux:
        return None
    return tas / linux


def clean(sums):
    return all(s['median'] is not None and not s['failed'] for s in sums.values())


def ratio_text(sums, bold=False):
    value = ratio(sums)
    if value is None:
        return 'n/a'
    text = f'{value:.2f}'
    if bold:
        text = f'**{text}**'
    return text if clean(sums) else f'({text})'


def goodput_cell(summary):
    if summary['median'] is None:
        return f'**failed** ({summary["failed"]} of {summary["failed"]} runs)' \
            if summary['failed'] else 'n/a'
    text = f'{summary["median"]:,.0f}'
    if summary['failed']:
        text += f' (**{summary["failed"]} of {summary["failed"] + summary["valid"]} ' \
                f'runs failed**)'
    return text


def spread(summary):
    if summary['median'] is None or summary['valid'] < 2:
        return ''
    return f'{summary["min"]:,.0f} – {summary["max"]:,.0f}'


def paired_text(bench, direction, rate):
    values = loss_bench.paired_ratios(bench['results'], direction, rate)
    if not values:
        return 'n/a'
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{min(values):.2f} – {max(values):.2f}'


def rate_label(rate):
    return f'{rate} %'


def rate_as_given(bench, rate):
    """The rate of the run equal to rate ('1' for 1.0), or None."""
    for given in bench['params'].rates:
        if float(given) == float(rate):
            return given
    return None


def target_verdicts(bench):
    """[(direction, ratio or None, met or None, paired ratios)] at the
    target loss rate."""
    out = []
    target = rate_as_given(bench, TARGET_RATE)
    if target is None:
        return out
    for direction in bench['params'].directions:
        sums = pair(bench, direction, target)
        value = ratio(sums)
        paired = loss_bench.paired_ratios(bench['results'], direction, target)
        out.append((direction, value, None if value is None else value >= TARGET_RATIO,
                    paired))
    return out


def verdict_text(bench):
    parts = []
    for direction, value, met, paired in target_verdicts(bench):
        if value is None:
            parts.append(f'{loss_bench.DIRECTION_SHORT[direction]}: no figure')
            continue
        word = 'met' if met else '**not met**'
        below = sum(1 for r in paired if r < TARGET_RATIO)
        each = (f'; {below} of {len(paired)} paired runs below {TARGET_RATIO:.2f}'
                if below else f'; every one of {len(paired)} paired runs at or above')
        parts.append(f'{loss_bench.DIRECTION_SHORT[direction]} **{value:.2f}** ({word}{each})')
    if not parts:
        return ''
    return (f'Target "at {TARGET_RATE} % loss a single flow\'s goodput on tas is at least '
            f'{TARGET_RATIO * 100:.0f} % of Linux\'s in the same run": ' + '; '.join(parts) + '.')


def headline_text(bench):
    params = bench['params']
    parts = []
    for rate in params.rates:
        cells = []
        for direction in params.directions:
            sums = pair(bench, direction, rate)
            cells.append(f'{loss_bench.DIRECTION_SHORT[direction]} {ratio_text(sums)}')
        parts.append(f'{rate_label(rate)}: ' + ', '.join(cells))
    return ('goodput tas / Linux (ratio of medians, one flow, loss in both directions): '
            + '; '.join(parts) + '.')


def stage_bound(bench):
    """[(direction, stack, stage CPU median, goodput median)] of the 0 %
    cases in which the stage's thread was the bottleneck."""
    out = []
    zero = rate_as_given(bench, '0')
    for direction in bench['params'].directions if zero is not None else ():
        for stack in STACKS:
            runs = runs_of(bench, direction, zero, stack)
            cpu = loss_bench.median_of(runs, 'stage_cpu')
            good = loss_bench.median_of(runs, 'goodput_mbit')
            if cpu is not None and cpu >= STAGE_BOUND_CPU:
                out.append((direction, stack, cpu, good))
    return out


def fraction(runs, dropped, frames):
    values = [run[dropped] / run[frames] for run in runs
              if run.get(frames) and run.get(dropped) is not None and 'error' not in run]
    return statistics.median(values) if values else None


def percent(value, digits=2):
    return 'n/a' if value is None else f'{100 * value:.{digits}f} %'


def number(value, digits=0):
    return 'n/a' if value is None else f'{value:,.{digits}f}'


# ----------------------------------------------------------------------
# Tables

def goodput_table(bench):
    lines = ['| loss | direction | tas Mbit/s | Linux Mbit/s | tas/Linux | paired tas/Linux '
             '(per repetition) | tas range | Linux range |',
             '|---:|---|---:|---:|---:|---:|---:|---:|']
    for rate in bench['params'].rates:
        for direction in bench['params'].directions:
            sums = pair(bench, direction, rate)
            lines.append(
                f'| {rate_label(rate)} | {loss_bench.DIRECTION_SHORT[direction]} '
                f'| {goodput_cell(sums["tas"])} | {goodput_cell(sums["linux"])} '
                f'| {ratio_text(sums, bold=float(rate) == float(TARGET_RATE))} '
                f'| {paired_text(bench, direction, rate)} '
                f'| {spread(sums["tas"])} | {spread(sums["linux"])} |')
    return lines


def stage_table(bench):
    """What the stage did and saw: medians over the valid runs."""
    lines = ['| loss | direction | stack | data frames | lost (data) | ACK frames '
             '| lost (ACKs) | Linux sender: retransmits | timeouts (RTO) | loss probes '
             '| seconds (receiver) |',
             '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for rate in bench['params'].rates:
        for direction in bench['params'].directions:
            for stack in STACKS:
                runs = runs_of(bench, direction, rate, stack)
                if stack == 'tas' and direction == 'send':
                    linux = '| — (tas) | — | —'
                else:
                    linux = '| ' + ' | '.join(
                        number(loss_bench.median_of(runs, key))
                        for key in ('linux_retrans', 'linux_rtos', 'linux_tlps'))
                lines.append(
                    f'| {rate_label(rate)} | {loss_bench.DIRECTION_SHORT[direction]} '
                    f'| {NAMES[stack]} | {number(loss_bench.median_of(runs, "data_frames"))} '
                    f'| {percent(fraction(runs, "data_dropped", "data_frames"))} '
                    f'| {number(loss_bench.median_of(runs, "ack_frames"))} '
                    f'| {percent(fraction(runs, "ack_dropped", "ack_frames"))} '
                    f'{linux} '
                    f'| {number(loss_bench.median_of(runs, "recv_secs"), 2)} |')
    return lines


def cpu_table(bench):
    lines = ['| loss | direction | tas process, tas runs | stage, tas runs | stage, Linux runs '
             '| both CPUs busy, tas runs | both CPUs busy, Linux runs '
             '| other processes, tas runs | other processes, Linux runs |',
             '|---:|---|---:|---:|---:|---:|---:|---:|---:|']
    for rate in bench['params'].rates:
        for direction in bench['params'].directions:
            tas = runs_of(bench, direction, rate, 'tas')
            linux = runs_of(bench, direction, rate, 'linux')
            busy_tas = loss_bench.median_of(tas, 'machine_busy', False)
            busy_linux = loss_bench.median_of(linux, 'machine_busy', False)
            lines.append(
                f'| {rate_label(rate)} | {loss_bench.DIRECTION_SHORT[direction]} '
                f'| {number(loss_bench.median_of(tas, "tas_cpu", False), 2)} '
                f'| {number(loss_bench.median_of(tas, "stage_cpu", False), 2)} '
                f'| {number(loss_bench.median_of(linux, "stage_cpu", False), 2)} '
                f'| {percent(busy_tas, 0)} | {percent(busy_linux, 0)} '
                f'| {number(loss_bench.median_of(tas, "others_cpu", False), 2)} '
                f'| {number(loss_bench.median_of(linux, "others_cpu", False), 2)} |')
    return lines


def failure_notes(bench):
    out = []
    for (direction, rate, stack), runs in bench['results'].items():
        for run in runs:
            if 'error' not in run:
                continue
            out += [f'- **{rate_label(rate)}, {loss_bench.DIRECTION_SHORT[direction]}, '
                    f'{NAMES[stack]}, run {run["repetition"] + 1}**: {run["error"]}', '',
                    '  <details><summary>output</summary>', '', '  ```',
                    *('  ' + line for line in (run.get('output') or '').splitlines()),
                    '  ```', '', '  </details>', '']
    return out


RAW_SKIP = ('stack', 'direction', 'rate', 'repetition', 'output', 'receiver_line',
            'sender_line', 'spec')


def raw_lines(bench):
    out = []
    for rate in bench['params'].rates:
        for direction in bench['params'].directions:
            for stack in STACKS:
                for run in runs_of(bench, direction, rate, stack):
                    head = f'loss={rate} {direction} {stack} #{run["repetition"] + 1}:'
                    if 'error' in run:
                        head += ' FAILED (' + run['error'] + ')'
                    figures = ' '.join(
                        f'{key}={run[key]:.6g}' if isinstance(run[key], float)
                        else f'{key}={run[key]}'
                        for key in sorted(run) if key not in RAW_SKIP and run[key] is not None)
                    out.append(f'{head} {figures}')
                    for key in ('receiver_line', 'sender_line'):
                        if run.get(key):
                            out.append(f'    {key.split("_")[0]}: {run[key]}')
    return out


def conditions_rows(bench, conditions, end_load):
    rows = dict(conditions)
    rows['load average at end'] = end_load
    loads = [run['load_before'] for runs in bench['results'].values() for run in runs]
    if loads:
        rows['1-minute load average before each run'] = (
            f'{min(loads):.2f} to {max(loads):.2f}, median {statistics.median(loads):.2f} '
            f'(the benchmark\'s own processes count: up to about 2 on these 2 CPUs)')
    rows['tas memory'] = ('hugepages (EAL --in-memory)' if bench['tas_huge']
                          else '--no-huge (too few free hugepages)')
    rows['tas options'] = (f'`--cc {loss_bench.TAS_CC}`, defaults otherwise: receive '
                           f'and transmit buffers 256 KB per flow, ECN accept (neither '
                           f'end asks for it), MTU 1500')
    rows['pinning'] = (
        'none for the applications, the stage and the kernel\'s network work (both CPUs, '
        'for tas and Linux alike); tas: its default lcores, slow path on CPU 0 and one '
        'fast-path core on CPU 1 (EAL `-l 0,1`), polling only while it has work')
    rows['tas EAL arguments'] = f'`{bench["tas_eal"].removeprefix("tas: EAL arguments: ")}`'
    rows['tas ready line'] = f'`{bench["tas_ready"].removeprefix("tas: ")}`'
    if bench['tas_starts'] > 1:
        rows['tas restarts'] = f'{bench["tas_starts"] - 1} (it exited during the run)'
    rows['impairment stage'] = f'`{bench["stage"]}`, one binary for both beds'
    for where, values in bench['sysctls'].items():
        rows[f'sysctls, namespace {where}'] = ', '.join(
            f'`{k.removeprefix("net.ipv4.")}={v}`' for k, v in values.items())
    return rows


def render(bench, invocation, minutes, conditions, end_load):
    """(summary block, section block) for BLOCKS.merge()."""
    params = bench['params']
    commands = bench['commands']
    size_mib = params.size / (1 << 20)
    size_text = f'{size_mib:g} MiB' if params.size % (1 << 20) == 0 else f'{params.size:,} B'
    verdict = verdict_text(bench)
    headline = headline_text(bench)
    summary = '\n'.join([
        SUMMARY_BEGIN,
        f'Loss (section [Goodput under loss](#goodput-of-one-flow-under-loss-tas-vs-linux), '
        f'its own run, {conditions["date"]}): {headline}' + (f' {verdict}' if verdict else ''),
        SUMMARY_END,
    ])
    bound = stage_bound(bench)
    if bound:
        bound_text = (
            'In the 0 % case the stage itself is the limit: its one thread was busy '
            + ', '.join(f'{cpu:.2f} CPU ({NAMES[stack]}, '
                        f'{loss_bench.DIRECTION_SHORT[direction]}, {good:,.0f} Mbit/s)'
                        for direction, stack, cpu, good in bound)
            + ', so those figures measure the stage and the machine more than the stack.')
    else:
        bound_text = ('In this run no 0 % case kept the stage\'s thread busier than '
                      f'{STAGE_BOUND_CPU:.2f} CPU (medians in the CPU table).')
    extra = f' plus `{params.extra}`' if params.extra else ''
    out = [
        SECTION_BEGIN,
        '## Goodput of one flow under loss, tas vs Linux',
        '',
        f'This run: `{invocation}` ({minutes:.1f} minutes, {conditions["date"]}).',
        '',
        'Headline: ' + headline + (f'\n\n{verdict}' if verdict else ''),
        '',
        'One TCP connection carries a fixed amount of data through the impairment stage '
        '(`tools/impair/tas-impair`, user space: the kernel here has no netem), which drops '
        'each frame with probability *loss* in **both** directions (data and ACKs), '
        f'decided by its seeded generator{extra}. Two test beds, the same stage binary on '
        'both: for **tas**, `testbed.sh up NAME impaired` (tas drives NAME-tas, the stage '
        'bridges NAME-ia and NAME-ib, Linux\'s TCP in NAME-ns); for **Linux**, `testbed.sh '
        'up NAME2 impaired-linux` (the same, with Linux\'s TCP in namespace NAME2-lns, '
        'with tas\'s address, in place of tas). The far end is Linux in a namespace in '
        'every case. Directions: **tas sends** (tas-bulk on tas → linux-bulk in NAME-ns: '
        'tas\'s loss recovery and congestion control; baseline linux-bulk in NAME2-lns → '
        'NAME2-ns) and **tas receives** (linux-bulk in NAME-ns → tas-bulk on tas: tas\'s '
        'out-of-order handling, SACK and ACKs; baseline NAME2-ns → NAME2-lns, so the same '
        'Linux sender faces either receiver, and what differs there is the receiver alone, '
        'e.g. how often it ACKs: see the ACK frames below). Congestion control: tas '
        '`--cc cubic`, Linux cubic in every namespace (set and checked by the benchmark; '
        'other Linux settings '
        'are the namespaces\' defaults: SACK, timestamps, RACK, tail loss probes, see '
        'Conditions).',
        '',
        f'Each run moves **{size_text}** on one connection, with the bulk apps\' '
        f'content check: the receiver listens and verifies every byte of a deterministic '
        f'pattern, the sender connects. Goodput = verified bytes / the receiver\'s time '
        f'from accept to the close after the sender\'s FIN (handshake excluded). A run '
        f'counts only if the receiver got exactly {params.size:,} verified bytes without '
        f'reset and both apps exit 0. For every run a fresh stage starts after the '
        f'receiver listens and before the sender connects, seeded with {params.seed} in '
        f'the first repetition and one more in each next, so the tas run and the Linux '
        f'run of a repetition face the same stage, seed, size and loss. '
        f'{params.repeats} repetitions; each runs every '
        f'loss rate and direction with the tas run and the Linux run back to back, their '
        f'order alternating. Figures are medians over the counted runs; *paired* is the '
        f'range of tas/Linux within each repetition (the two runs closest in time). '
        f'Ratios above 1: tas is faster. A ratio in parentheses has a failed run on one '
        f'side.',
        '',
        f'The stage forwards frames in one thread through AF_PACKET sockets; on this '
        f'machine it carries about {STAGE_CEILING_GBIT} Gbit/s Linux to Linux without '
        f'impairment, and on 2 CPUs it competes with both stacks, the apps and the kernel '
        f'for CPU time. {bound_text} With loss, the round trip is tens of microseconds '
        f'(no delay is added), so recovery speed, not the window, decides goodput: a '
        f'retransmission timeout (Linux: at least 200 ms) costs far more than the '
        f'transfer of many windows.',
        '',
        '### Goodput',
        '',
        *goodput_table(bench),
        '',
        '### What the stage saw',
        '',
        'Medians over the counted runs: frames that reached the stage in the data '
        'direction and in the ACK direction, the fraction it dropped in each (the '
        'loss actually applied), what the Linux sender counted in its namespace '
        '(`RetransSegs`, `TCPTimeouts`, `TCPLossProbes`; tas keeps no such counters, '
        'but its data frames beyond the 0 % count are retransmissions too), and the '
        'receiver\'s seconds. Both stacks have a minimum retransmission timeout of '
        '200 ms (tas: slowpath/tcp_rto.h), which a flow with a round trip of tens of '
        'microseconds feels as a stall.',
        '',
        *stage_table(bench),
        '',
        '### CPU',
        '',
        'CPU time per second of a run (1.00 = one CPU), medians over all runs: the tas '
        'process (all its threads), the stage\'s thread, how busy both CPUs were '
        '(of 2 CPUs, kernel work included), and what user-space processes other than the '
        'benchmark\'s used meanwhile (other work on the machine competing with the run; '
        'a lower bound: processes that started and ended within a run are missed).',
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
    out += ['### Commands', '', 'Test beds and tas:', '', '```sh', *commands['beds'],
            commands['tas'], '```', '',
            'Per run: the stage (SEED = seed + repetition, SPEC = `loss=P` for the loss '
            f'rate{", " + params.extra if params.extra else ""}; '
            'empty at 0 %), then the receiver, then the sender (PORT: a new one per run). '
            'For a tas receiver, the harness first checks that it listens with a SYN probe '
            'through an unimpaired stage, which it stops again before the measured one '
            'starts.', '', '```sh']
    for stack in STACKS:
        out.append(f'# stage, {NAMES[stack]} bed')
        out.append(commands['stage'][stack])
    for direction in params.directions:
        for stack in STACKS:
            out.append(f'# {loss_bench.DIRECTION_SHORT[direction]}, {NAMES[stack]}: '
                       f'receiver, then sender')
            out += commands['apps'][(stack, direction)]
    out += ['```', '', '### Conditions of this run', '', '| | |', '|---|---|']
    out += [f'| {label} | {value} |'
            for label, value in conditions_rows(bench, conditions, end_load).items()]
    out += ['', '<details><summary>every run of the loss suite</summary>', '', '```',
            *raw_lines(bench), '```', '', '</details>', '', SECTION_END]
    return summary, '\n'.join(out)
