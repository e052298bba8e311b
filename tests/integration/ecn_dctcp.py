"""DCTCP on tas: ECN marks, not losses, keep a bottleneck's queue short.

tas (--cc dctcp: ECN on) sends BYTES to Linux (net.ipv4.tcp_ecn=2, the
default: it accepts ECN when asked, so tas must be the client) through the
impairment stage's rate limit RATE with a QUEUE-byte buffer that CE-marks
ECT frames while more than ECN_THRESHOLD bytes wait.  tas's send buffer is
large (TX_BUF), so only congestion control keeps its window from filling
the queue.  Claims: the stage CE-marked frames, Linux received them
(IpExt InCEPkts), the queue (almost) never overflowed (tail drops at
most ALLOWED_QUEUE_DROP_FRACTION of the frames: a window that answers
each mark within a round trip overshoots the threshold by about one
window in slow start, far from the QUEUE limit), its mean backlog stayed
near the marking threshold, and goodput was at least MIN_GOODPUT of the
rate.  The stage's log gives when the first and last tail drop happened.

For comparison only (logged, not asserted): tas with --cc cubic --ecn off
through the same stage, which fills the queue until it drops.
"""

import harness

PORT = 5004
BYTES = 128 * harness.MIB
RATE_MBIT = 500
QUEUE = '256k'
ECN_THRESHOLD = '30k'
ECN_THRESHOLD_BYTES = 30 * harness.KIB
STAGE_SPEC = f'rate={RATE_MBIT}mbit,queue={QUEUE},ecn={ECN_THRESHOLD}'
TX_BUF = '4M'
MIN_GOODPUT = 0.7
ALLOWED_QUEUE_DROP_FRACTION = 0.001
# DCTCP holds the queue around the threshold; a window that ignored the
# marks would hold it near QUEUE.
MAX_MEAN_BACKLOG = 3 * ECN_THRESHOLD_BYTES
TRANSFER_TIMEOUT = 30


def transfer(test, bed, label, tas_args):
    """BYTES from a tas client to Linux through a fresh stage and tas:
    (Mbit/s of verified data, the stage's from-tas counters, the change
    in Linux's IpExt counters)."""
    stage = bed.impair(from_tas=STAGE_SPEC, name=f'impair-{label}')
    tas = test.tas(bed, extra_args=['--tx-buf-size', TX_BUF] + tas_args, name=f'tas-{label}')
    before = bed.linux_mib()['IpExt']
    common = ['--timeout', TRANSFER_TIMEOUT]
    receiver = test.linux_bulk_server(bed, PORT, common + ['--recv', BYTES],
                                      name=f'linux-bulk-server-{label}')
    sender = test.tas_bulk_client(bed, tas, PORT, common + ['--send', BYTES],
                                  name=f'tas-bulk-client-{label}')
    received = receiver.result('bulk', timeout=TRANSFER_TIMEOUT + 5)
    harness.check_bulk(received, conns=1, sent=0, recv=BYTES)
    harness.check_bulk(sender.result('bulk', timeout=10), conns=1, sent=BYTES, recv=0)
    after = bed.linux_mib()['IpExt']
    counters = {key[len('from_tas_'):]: value for key, value in stage.counters().items()
                if key.startswith('from_tas_')}
    tas.stop()
    mbit = harness.mbit_per_sec(BYTES, received['secs'])
    ip_ext = {key: after[key] - before[key] for key in ('InCEPkts', 'InECT0Pkts', 'InNoECTPkts')}
    test.log(f'measured: {label} ({" ".join(tas_args)}): {mbit:.1f} Mbit/s through '
             f'{STAGE_SPEC}: frames={counters["frames"]} marked={counters["marked"]} '
             f'queue_drops={counters["queue_drops"]} (from {counters["queue_drop_first_us"]} '
             f'to {counters["queue_drop_last_us"]} us) backlog_mean={counters["backlog_mean"]} '
             f'backlog_peak={counters["backlog_peak"]}; Linux ' +
             ' '.join(f'{key}={value}' for key, value in ip_ext.items()))
    return mbit, counters, ip_ext


def main(test):
    bed = test.testbed(mode='impaired')
    ecn = bed.run_ns(['sysctl', '-n', 'net.ipv4.tcp_ecn']).strip()
    test.log(f'Linux net.ipv4.tcp_ecn={ecn} in {bed.ns}')
    harness.check(ecn in ('1', '2'), f'net.ipv4.tcp_ecn={ecn}: Linux would not accept ECN')

    mbit, counters, ip_ext = transfer(test, bed, 'dctcp', ['--cc', 'dctcp'])
    transfer(test, bed, 'cubic', ['--cc', 'cubic', '--ecn', 'off'])

    harness.check(counters['marked'] > 0, 'the stage CE-marked no frame: tas sent no ECT '
                  'traffic, or never built a queue above the threshold')
    harness.check(ip_ext['InCEPkts'] > 0, 'Linux received no CE-marked packet')
    allowed = int(ALLOWED_QUEUE_DROP_FRACTION * counters['frames'])
    harness.check(counters['queue_drops'] <= allowed,
                  f'{counters["queue_drops"]} tail drops of {counters["frames"]} frames in a '
                  f'{QUEUE} queue (at most {allowed}), from {counters["queue_drop_first_us"]} '
                  f'to {counters["queue_drop_last_us"]} us: DCTCP did not keep it short')
    harness.check(counters['backlog_mean'] <= MAX_MEAN_BACKLOG,
                  f'mean backlog {counters["backlog_mean"]} bytes, more than '
                  f'{MAX_MEAN_BACKLOG} (marking above {ECN_THRESHOLD_BYTES})')
    harness.check(mbit >= MIN_GOODPUT * RATE_MBIT,
                  f'{mbit:.1f} Mbit/s: less than {MIN_GOODPUT:.0%} of {RATE_MBIT} Mbit/s')


if __name__ == '__main__':
    harness.run(main, bound=90)
