"""Content-verified bulk transfer between tas-bulk and linux-bulk.

One scenario per meson test, chosen by the arguments: who connects
(--client linux: Linux client, tas server; --client tas: the reverse), how
many concurrent connections, how many bytes each connection carries in
each direction, and optionally random loss injected in the namespace
(--loss, nft) or the impairment stage between tas and Linux (--impair*,
tools/impair: loss, delay, reordering, duplication, corruption, rate).
Claims: every connection completes, every byte in both directions is
verified, the totals are exact, tas keeps running and stops cleanly; with
the stage, the impairments asked for did happen, and frames it corrupted
towards Linux were dropped there for their checksum (Linux's
InCsumErrors; tas has no such counter in its log, so towards tas the
verified content is what shows that no corrupted byte got through).
"""

import argparse
import shlex

import harness

PORT = 5001

# SPEC keys whose effect the stage counts, and the counter that shows it.
IMPAIRMENT_COUNTERS = {'loss': 'dropped', 'dup': 'duplicated',
                       'corrupt': 'corrupted', 'reorder': 'reordered'}
# Require a count > 0 only where at least this many are expected.
MIN_EXPECTED_EVENTS = 10
RATE_UNITS = {'bit': 1, 'kbit': 1e3, 'mbit': 1e6, 'gbit': 1e9}


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('--client', choices=('linux', 'tas'), required=True)
    parser.add_argument('--conns', type=int, default=1)
    parser.add_argument('--to-tas', type=harness.size, default=0,
                        help='bytes each connection sends from Linux to tas')
    parser.add_argument('--from-tas', type=harness.size, default=0,
                        help='bytes each connection sends from tas to Linux')
    parser.add_argument('--loss', type=int, default=0,
                        help='percent of packets dropped in each direction')
    parser.add_argument('--impair', metavar='SPEC',
                        help='impairment stage SPEC for both directions '
                             '(e.g. loss=1,delay=5ms; tas-impair --help)')
    parser.add_argument('--impair-to-tas', metavar='SPEC',
                        help='SPEC for frames to tas (instead of --impair)')
    parser.add_argument('--impair-from-tas', metavar='SPEC',
                        help='SPEC for frames from tas (instead of --impair)')
    parser.add_argument('--tas-args', default='',
                        help='more tas options, e.g. "--rx-buf-size 4M --cc dctcp"')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--bound', type=int, default=120,
                        help='seconds the whole test may take')
    args = parser.parse_args()
    for direction in ('impair_to_tas', 'impair_from_tas'):
        if getattr(args, direction) is None:
            setattr(args, direction, args.impair)
    return args


def spec_fields(spec):
    """{KEY: VALUE} of an impairment SPEC."""
    return dict(item.split('=', 1) for item in spec.split(',') if '=' in item)


def rate_bps(text):
    for unit in sorted(RATE_UNITS, key=len, reverse=True):
        if text.lower().endswith(unit):
            return float(text[:-len(unit)]) * RATE_UNITS[unit]
    raise harness.Failure(f'rate={text}: no unit')


def check_impairment(test, counters, specs, data_bytes, seconds):
    """The stage did to each direction that carried data what its SPEC
    asked for: frames lost, duplicated, corrupted, reordered (where enough
    frames passed to expect some), no more data than rate= allows."""
    for direction, spec in specs.items():
        fields = spec_fields(spec)
        frames = counters[f'{direction}_frames']
        test.log(f'measured: stage {direction}: ' + ' '.join(
            f'{key[len(direction) + 1:]}={value}' for key, value in counters.items()
            if key.startswith(direction) and value))
        if not data_bytes[direction]:
            continue
        for key, counter in IMPAIRMENT_COUNTERS.items():
            expected = frames * float(fields.get(key, 0)) / 100
            got = counters[f'{direction}_{counter}']
            if expected >= MIN_EXPECTED_EVENTS:
                harness.check(got > 0, f'{direction}: {key}={fields[key]} but no frame '
                              f'{counter} of {frames}')
            elif key in fields:
                test.log(f'{direction}: {key}={fields[key]}: {got} {counter} of {frames} '
                         f'frames (too few frames to require any)')
        if 'rate' in fields:
            mbit = harness.mbit_per_sec(data_bytes[direction], seconds)
            limit = rate_bps(fields['rate']) / 1e6
            test.log(f'measured: {direction} {mbit:.1f} Mbit/s of data at rate={fields["rate"]}')
            harness.check(mbit <= limit, f'{direction}: {mbit:.1f} Mbit/s of data through '
                          f'a {limit:.1f} Mbit/s rate limit')


def check_checksum_drops(test, counters, spec, csum_errors):
    """Frames corrupted towards Linux reached it and failed its checksum
    check: at least one (if enough were corrupted to require any), at most
    as many as were corrupted (a flip in the data offset is dropped as a
    bad header instead)."""
    corrupted = counters['from_tas_corrupted']
    test.log(f'measured: Linux counted {csum_errors} TCP checksum errors; the stage '
             f'corrupted {corrupted} frames to it')
    expected = counters['from_tas_frames'] * float(spec_fields(spec).get('corrupt', 0)) / 100
    if expected >= MIN_EXPECTED_EVENTS:
        harness.check(csum_errors > 0, f'{corrupted} frames corrupted towards Linux, '
                      'but Linux counted no checksum error')
    harness.check(csum_errors <= corrupted, f'Linux counted {csum_errors} checksum errors, '
                  f'more than the {corrupted} frames corrupted')


def main(test, args):
    impaired = args.impair_to_tas is not None or args.impair_from_tas is not None
    bed = test.testbed(mode='impaired' if impaired else None)
    # Before tas, so that its first frames (ARP) already pass.
    stage = bed.impair(to_tas=args.impair_to_tas or '',
                       from_tas=args.impair_from_tas or '', seed=args.seed) if impaired else None
    tas = test.tas(bed, extra_args=shlex.split(args.tas_args))
    corrupting = 'corrupt' in spec_fields(args.impair_from_tas or '')
    csum_errors_before = bed.linux_mib()['Tcp']['InCsumErrors'] if corrupting else 0
    dropped = bed.inject_loss(args.loss) if args.loss else None
    transfer_timeout = max(10, test.remaining() - 20)
    common = ['--conns', args.conns, '--seed', args.seed, '--timeout', int(transfer_timeout)]
    linux_args = common + ['--send', args.to_tas, '--recv', args.from_tas]
    tas_args = common + ['--send', args.from_tas, '--recv', args.to_tas]

    if args.client == 'linux':
        tas_side = test.tas_bulk_server(bed, tas, PORT, tas_args)
        linux_side = test.linux_bulk_client(bed, PORT, linux_args)
    else:
        linux_side = test.linux_bulk_server(bed, PORT, linux_args)
        tas_side = test.tas_bulk_client(bed, tas, PORT, tas_args)

    linux_result = linux_side.result('bulk', timeout=transfer_timeout + 5)
    tas_result = tas_side.result('bulk', timeout=10)
    harness.check_bulk(linux_result, conns=args.conns, sent=args.conns * args.to_tas,
                       recv=args.conns * args.from_tas)
    harness.check_bulk(tas_result, conns=args.conns, sent=args.conns * args.from_tas,
                       recv=args.conns * args.to_tas)
    total = args.conns * (args.to_tas + args.from_tas)
    seconds = max(linux_result['secs'], tas_result['secs'])
    test.log(f'measured: {total} bytes over {args.conns} connection(s) in {seconds:.3f} s'
             f' = {harness.mbit_per_sec(total, seconds):.0f} Mbit/s'
             f' (to tas {args.conns * args.to_tas} B, from tas {args.conns * args.from_tas} B)')

    if dropped:
        counts = dropped()
        test.log(f'measured: nft dropped {counts["to_tas"]} packets to tas, '
                 f'{counts["from_tas"]} from tas')
        if args.to_tas:
            harness.check(counts['to_tas'] > 0, 'no packet to tas was dropped')
        if args.from_tas:
            harness.check(counts['from_tas'] > 0, 'no packet from tas was dropped')
    if stage:
        check_impairment(test, stage.counters(),
                         {'to_tas': args.impair_to_tas or '',
                          'from_tas': args.impair_from_tas or ''},
                         {'to_tas': args.conns * args.to_tas,
                          'from_tas': args.conns * args.from_tas}, seconds)
        if corrupting:
            check_checksum_drops(test, stage.counters(), args.impair_from_tas,
                                 bed.linux_mib()['Tcp']['InCsumErrors'] - csum_errors_before)
    tas.stop()


if __name__ == '__main__':
    arguments = parse_args()
    harness.run(lambda test: main(test, arguments), bound=arguments.bound)
