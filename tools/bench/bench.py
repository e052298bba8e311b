"""The benchmarks; write doc/benchmarks.md.

Suite `core` (the default): echo RPC on tas against Linux, and the fast
path's instructions per data segment.  Suite `shim` (shim_bench.py):
unmodified programs (nginx + wrk, redis-benchmark, sockperf, iperf3) with
their servers under the sockets shim on tas against the same binaries on
Linux.  Suite `loss` (loss_bench.py): goodput of one long flow under 0, 1
and 5 % loss through the impairment stage, tas against Linux.  Each suite
rewrites its own sections of doc/benchmarks.md and keeps the others'.

Run by hand as root (tools/bench/run.sh), not by the test suite.  Reuses
the integration-test harness (tests/integration/harness.py) for test
beds, the tas service and processes, so everything it starts is torn down
even when it fails or is interrupted.
"""

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(BENCH_DIR))
PARTS = ('rpc', 'callgrind')
SUITES = ('core', 'shim', 'loss', 'all')
DEFAULT_DURATION = {'core': 3, 'shim': 6}
SETUP_KEYS = ('local', 'remote')
LOSS_RATES = ('0', '1', '5')
RELEASE_HINT = ('meson setup /tmp/build-bench {root} -Dbuildtype=release && '
                'ninja -C /tmp/build-bench')


def size(text):
    units = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def comma_list(allowed):
    def parse(text):
        items = [item for item in text.split(',') if item]
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f'{text!r}: choose from {", ".join(allowed)}')
        return items
    return parse


def loss_rate_list(text):
    rates = [item for item in text.split(',') if item]
    try:
        bad = [r for r in rates if not 0 <= float(r) <= 100]
    except ValueError:
        bad = rates
    if bad or not rates or len(set(rates)) != len(rates):
        raise argparse.ArgumentTypeError(
            f'{text!r}: distinct percentages in [0, 100], e.g. 0,1,5')
    return rates


def parse_args():
    parser = argparse.ArgumentParser(
        prog='tools/bench/run.sh',
        description='Echo RPC on tas vs Linux and fast-path instructions per '
                    'segment (suite core), unmodified programs under the sockets '
                    'shim vs Linux (suite shim); writes doc/benchmarks.md.  Needs root.')
    parser.add_argument('--suite', choices=SUITES, default='core',
                        help='core: echo RPC and callgrind (default); shim: nginx+wrk, '
                             'redis-benchmark, sockperf, iperf3 under the sockets shim vs '
                             'Linux (about 7 minutes); loss: goodput of one flow under '
                             '0/1/5 %% loss through the impairment stage, tas vs Linux; '
                             'all: the three.  Each suite replaces only its own sections '
                             'of the report')
    parser.add_argument('--build-dir', default=os.path.join(SOURCE_ROOT, 'build'),
                        help='meson build directory (default: build/ of the source '
                             'tree); use a release build: ' + RELEASE_HINT.format(
                                 root=SOURCE_ROOT))
    parser.add_argument('--no-build', action='store_true',
                        help='do not run ninja in the build directory first')
    parser.add_argument('--parts', type=comma_list(PARTS), default=list(PARTS),
                        help='rpc,callgrind (default both)')
    parser.add_argument('--setups', type=comma_list(SETUP_KEYS), default=list(SETUP_KEYS),
                        help='echo RPC setups: local,remote (default both)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='runs of every echo RPC, shim or loss case, per stack '
                             '(default 3)')
    parser.add_argument('--duration', type=float, default=None,
                        help='measured seconds per run (default 3 for echo RPC, 6 for '
                             'the shim cases; redis-benchmark does 40000 x this many '
                             'requests per test)')
    parser.add_argument('--shim-cases', default=None,
                        help='comma-separated subset of the shim cases (default all), '
                             'e.g. wrk-keepalive-100,sockperf-64; an unknown name lists '
                             'them')
    parser.add_argument('--warmup', type=float, default=1,
                        help='unmeasured seconds before each run (default 1)')
    parser.add_argument('--callgrind-bytes', type=size, default=32 << 20,
                        help='bytes per direction of the callgrind bulk transfer '
                             '(K/M/G; default 32M)')
    parser.add_argument('--callgrind-repeats', type=int, default=3,
                        help='repetitions of the callgrind measurement (default 3)')
    parser.add_argument('--loss-rates', type=loss_rate_list, default=list(LOSS_RATES),
                        help='loss suite: loss percentages, applied in both directions '
                             '(default 0,1,5)')
    parser.add_argument('--loss-bytes', type=size, default=256 << 20,
                        help='loss suite: bytes of each transfer (K/M/G; default 256M)')
    parser.add_argument('--loss-directions', type=comma_list(('send', 'recv')),
                        default=['send', 'recv'],
                        help='loss suite: send (tas sends to Linux), recv (Linux sends to '
                             'tas); default both')
    parser.add_argument('--loss-seed', type=int, default=1,
                        help='loss suite: the stage\'s seed of the first repetition (the '
                             'n-th uses seed + n - 1, the same for tas and Linux; default 1)')
    parser.add_argument('--loss-extra', default='', metavar='SPEC',
                        help='loss suite: more impairment for both directions, appended '
                             'to loss=P (e.g. delay=1ms; tas-impair --help); default none')
    parser.add_argument('--loss-timeout', type=float, default=300,
                        help='loss suite: seconds one transfer may take before it counts '
                             'as failed (default 300)')
    parser.add_argument('--output', default=os.path.join(SOURCE_ROOT, 'doc', 'benchmarks.md'),
                        help='report to write (default doc/benchmarks.md)')
    args = parser.parse_args()
    if args.repeats < 1 or args.callgrind_repeats < 1:
        parser.error('repeats must be at least 1')
    if (args.duration is not None and args.duration <= 0) or args.warmup < 0:
        parser.error('--duration must be positive and --warmup not negative')
    if args.loss_bytes < 1 or args.loss_timeout <= 0:
        parser.error('--loss-bytes and --loss-timeout must be positive')
    return args


def fail(message):
    print(f'bench: {message}', file=sys.stderr)
    sys.exit(1)


def prepare_build(build_dir, build):
    if not os.path.exists(os.path.join(build_dir, 'build.ninja')):
        fail(f'{build_dir} is not a meson build directory; make one with\n  '
             + RELEASE_HINT.format(root=SOURCE_ROOT) + '\nand pass --build-dir')
    if build:
        subprocess.run(['ninja', '-C', build_dir], check=True,
                       stdout=subprocess.DEVNULL)
    # Read by the harness when it starts tas and the applications.
    os.environ.update(TAS_BUILD_ROOT=build_dir,
                      TAS_EXE=os.path.join(build_dir, 'slowpath', 'tas'),
                      TAS_APPS_DIR=os.path.join(build_dir, 'apps'))


def stop_on_sigterm():
    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f'signal {signum}')
    signal.signal(signal.SIGTERM, interrupted)


def run_part(harness, name, body):
    """body(test) with the harness's clean-up afterwards, whatever happens."""
    test = harness.Test(f'bench-{name}', bound=0)
    test.log(f'{name}: work directory {test.workdir}')
    try:
        return body(test)
    finally:
        for error in test.cleanup():
            test.log(f'clean-up: {error}')


def main():
    args = parse_args()
    if os.geteuid() != 0:
        fail('needs root (network namespaces, veth pairs, DPDK): sudo tools/bench/run.sh')
    build_dir = os.path.abspath(args.build_dir)
    prepare_build(build_dir, not args.no_build)
    sys.path.insert(0, os.path.join(SOURCE_ROOT, 'tests', 'integration'))
    import harness
    import fp_instructions
    import loss_bench
    import loss_report
    import machine
    import report
    import rpc_bench
    import shim_bench
    import shim_report

    if args.shim_cases is not None:
        try:
            args.shim_cases = comma_list(shim_bench.CASE_KEYS)(args.shim_cases)
        except argparse.ArgumentTypeError as error:
            fail(f'--shim-cases: {error}')
    stop_on_sigterm()
    if not machine.is_release(build_dir):
        print(f'bench: warning: {build_dir} is not a release build', file=sys.stderr)
    invocation = ('sudo tools/bench/run.sh ' + shlex.join(sys.argv[1:])).strip()
    try:
        with open(args.output) as f:
            old_text = f.read()
    except FileNotFoundError:
        old_text = ''
    if args.suite in ('core', 'all'):
        old_text = run_core(args, harness, machine, report, rpc_bench, fp_instructions,
                            shim_report, loss_report, build_dir, invocation, old_text)
    if args.suite in ('shim', 'all'):
        old_text = run_shim(args, harness, machine, shim_bench, shim_report, build_dir,
                            invocation, old_text)
    if args.suite in ('loss', 'all'):
        run_loss(args, harness, machine, loss_bench, loss_report, build_dir, invocation,
                 old_text)


def write(path, text, minutes):
    with open(path, 'w') as f:
        f.write(text)
    print(f'bench: wrote {path} ({minutes:.1f} minutes)')


def run_core(args, harness, machine, report, rpc_bench, fp_instructions, shim_report,
             loss_report, build_dir, invocation, old_text):
    """Echo RPC and callgrind; the report with the shim and loss sections
    of the old one carried over.  Returns the text written."""
    conditions = machine.conditions(SOURCE_ROOT, build_dir)
    started = time.monotonic()
    duration = args.duration if args.duration is not None else DEFAULT_DURATION['core']
    rpc = cg = None
    try:
        if 'rpc' in args.parts:
            params = rpc_bench.Params(args.repeats, duration, args.warmup)
            rpc = run_part(harness, 'rpc', lambda test: rpc_bench.run(
                test, params, test.log, only=args.setups))
        if 'callgrind' in args.parts:
            cg = run_part(harness, 'callgrind', lambda test: fp_instructions.run(
                test, args.callgrind_bytes, args.callgrind_repeats, test.log))
    except harness.Failure as failure:
        fail(f'{failure}\n(nothing written)')
    except KeyboardInterrupt:
        fail('interrupted (nothing written)')
    minutes = (time.monotonic() - started) / 60
    text = report.render(invocation, minutes, conditions, rpc, cg, machine.load_average())
    text = shim_report.BLOCKS.carry_over(text, old_text)
    text = loss_report.BLOCKS.carry_over(text, old_text)
    write(args.output, text, minutes)
    return text


def run_section_suite(args, harness, machine, name, measure, report_module, build_dir,
                      invocation, old_text):
    """A suite that owns a section of the report (shim, loss): measure(test)
    runs it; its section and summary replace the old ones, the rest of the
    report stays.  Returns the text written."""
    conditions = machine.conditions(SOURCE_ROOT, build_dir)
    started = time.monotonic()
    try:
        bench = run_part(harness, name, measure)
    except harness.Failure as failure:
        fail(f'{failure}\n(nothing written)')
    except KeyboardInterrupt:
        fail('interrupted (nothing written)')
    minutes = (time.monotonic() - started) / 60
    summary, section = report_module.render(bench, invocation, minutes, conditions,
                                            machine.load_average())
    text = report_module.BLOCKS.merge(old_text, summary, section)
    write(args.output, text, minutes)
    return text


def run_shim(args, harness, machine, shim_bench, shim_report, build_dir, invocation,
             old_text):
    """Unmodified programs under the shim vs Linux."""
    duration = args.duration if args.duration is not None else DEFAULT_DURATION['shim']
    params = shim_bench.Params(args.repeats, duration, args.shim_cases)
    return run_section_suite(args, harness, machine, 'shim',
                             lambda test: shim_bench.run(test, params, test.log),
                             shim_report, build_dir, invocation, old_text)


def run_loss(args, harness, machine, loss_bench, loss_report, build_dir, invocation,
             old_text):
    """One flow under loss through the impairment stage, tas vs Linux."""
    params = loss_bench.Params(args.repeats, args.loss_bytes, args.loss_rates,
                               args.loss_directions, args.loss_seed, args.loss_extra,
                               args.loss_timeout)
    return run_section_suite(args, harness, machine, 'loss',
                             lambda test: loss_bench.run(test, params, test.log),
                             loss_report, build_dir, invocation, old_text)


if __name__ == '__main__':
    main()
