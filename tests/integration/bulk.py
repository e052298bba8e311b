"""Content-verified bulk transfer between tas-bulk and linux-bulk.

One scenario per meson test, chosen by the arguments: who connects
(--client linux: Linux client, tas server; --client tas: the reverse), how
many concurrent connections, how many bytes each connection carries in
each direction, and optionally random loss injected in the namespace.
Claims: every connection completes, every byte in both directions is
verified, the totals are exact, tas keeps running and stops cleanly.
"""

import argparse

import harness

PORT = 5001


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
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--bound', type=int, default=120,
                        help='seconds the whole test may take')
    return parser.parse_args()


def main(test, args):
    bed = test.testbed()
    tas = test.tas(bed)
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
    tas.stop()


if __name__ == '__main__':
    arguments = parse_args()
    harness.run(lambda test: main(test, arguments), bound=arguments.bound)
