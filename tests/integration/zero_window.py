"""A receiver that stops reading for seconds: the sender faces a zero window.

--receiver linux: tas-bulk sends to linux-bulk, which stops reading for
PAUSE_SECS once PAUSE_AFTER bytes arrived (--pause-after); Linux's buffer
fills and it advertises a zero window; tas must keep probing it (its
persist timer) and go on when the window opens.  --receiver tas: the
reverse; tas's receive buffer fills, tas advertises a zero window, Linux
probes it, and tas must announce the window that opens when the
application drains its buffer.

Claims: the content arrives verified, the receiver paused once, the
transfer took at least the pause and resumed promptly after it; Linux's
counters show the zero window: with a Linux receiver it advertised one
(TCPToZeroWindowAdv) and opened it again (TCPFromZeroWindowAdv), and tas
probed it meanwhile (zero-length segments with an old sequence number,
as Linux probes, counted by nft in the namespace: besides the probes tas
sends only two segments without data here, the handshake's ACK and the
one of Linux's FIN); with a tas receiver Linux probed tas's closed window
(TCPWinProbe).

"Promptly": the window's opening must be what ends the stall, not a probe
that happens to come then.  Both stacks probe with exponential back-off
from a 200 ms RTO, at about 0.2, 0.6, 1.4, 3.0 and 6.2 s into the stall;
a pause of 4 s ends between two probes, so a missing window update would
leave the transfer stalled until 6.2 s, past RESUME_SLACK_SECS.
"""

import argparse
import re

import harness

PORT = 5003
BYTES = 32 * harness.MIB
PAUSE_AFTER = 4 * harness.MIB
PAUSE_SECS = 4.0
# Connection set-up, the 28 MiB after the pause (~0.3 s at 1 Gbit/s) and
# slack for a loaded machine; the next probe would come 2.2 s after the
# pause's end.
RESUME_SLACK_SECS = 1.5
TRANSFER_TIMEOUT = 30


# Segments without data from tas carry the timestamp option: 52 bytes.
COUNT_RULES = '''
table ip tas_test_zero_window {
    chain from_tas {
        type filter hook prerouting priority -300;
        ip saddr %s ip length 52 counter
    }
}'''
# The handshake's ACK and the ACK of Linux's FIN.
ORDINARY_EMPTY_SEGMENTS = 2


def tcp_ext(bed):
    return bed.linux_mib()['TcpExt']


def empty_segments_from_tas(bed):
    listing = bed.run_ns(['nft', 'list', 'table', 'ip', 'tas_test_zero_window'])
    return sum(int(n) for n in re.findall(r'counter packets (\d+)', listing))


def main(test, receiver):
    bed = test.testbed()
    tas = test.tas(bed)
    bed.run_ns(['nft', '-f', '-'], input_text=COUNT_RULES % bed.tas_ip)
    before = tcp_ext(bed)
    common = ['--timeout', TRANSFER_TIMEOUT]
    pause = ['--pause-after', PAUSE_AFTER, '--pause-secs', PAUSE_SECS]
    if receiver == 'linux':
        receiving = test.linux_bulk_server(bed, PORT, common + ['--recv', BYTES] + pause)
        sending = test.tas_bulk_client(bed, tas, PORT, common + ['--send', BYTES])
    else:
        receiving = test.tas_bulk_server(bed, tas, PORT, common + ['--recv', BYTES] + pause)
        sending = test.linux_bulk_client(bed, PORT, common + ['--send', BYTES])
    received = receiving.result('bulk', timeout=TRANSFER_TIMEOUT + 5)
    sent = sending.result('bulk', timeout=10)
    harness.check_bulk(received, conns=1, sent=0, recv=BYTES)
    harness.check_bulk(sent, conns=1, sent=BYTES, recv=0)
    harness.check(received.get('pauses') == 1, f'the receiver did not pause: {received["line"]}')

    after = tcp_ext(bed)
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in
             ('TCPToZeroWindowAdv', 'TCPFromZeroWindowAdv', 'TCPZeroWindowDrop',
              'BeyondWindow', 'TCPWinProbe')}
    test.log('measured: Linux ' + ' '.join(f'{key}={value}' for key, value in delta.items()))
    seconds = received['secs']
    test.log(f'measured: {BYTES} bytes in {seconds:.3f} s with a {PAUSE_SECS} s pause '
             f'after {PAUSE_AFTER} bytes (resumed within {seconds - PAUSE_SECS:.3f} s '
             f'including the transfer)')
    if receiver == 'linux':
        harness.check(delta['TCPToZeroWindowAdv'] > 0, 'Linux never advertised a zero window')
        probes = empty_segments_from_tas(bed) - ORDINARY_EMPTY_SEGMENTS
        test.log(f'measured: {probes} zero-window probes from tas')
        harness.check(probes >= 2, f'tas sent {probes} probes into the closed window')
        harness.check(delta['TCPFromZeroWindowAdv'] > 0, 'Linux never opened the window again')
    else:
        harness.check(delta['TCPWinProbe'] > 0,
                      'Linux sent no window probe: tas never advertised a zero window')
    harness.check(seconds >= PAUSE_SECS, f'{seconds:.3f} s: shorter than the pause')
    harness.check(seconds < PAUSE_SECS + RESUME_SLACK_SECS,
                  f'{seconds:.3f} s: the transfer stalled after the {PAUSE_SECS} s pause '
                  f'(limit {PAUSE_SECS + RESUME_SLACK_SECS} s)')
    tas.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--receiver', choices=('linux', 'tas'), required=True)
    chosen = parser.parse_args().receiver
    harness.run(lambda test: main(test, chosen), bound=60)
