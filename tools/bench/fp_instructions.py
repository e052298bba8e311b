"""Fast-path instructions per data segment, counted by callgrind.

tas runs under `valgrind --tool=callgrind` on its own test bed (EAL with
--no-huge, net_af_packet on the veth).  Collection is switched on only
inside the fast path's per-burst receive function and its transmit
function:

  rx_burst     (fastpath/fp_rx.c)  every received frame of a burst: parse
               and checksum check, flow lookup, TCP input, payload into the
               application's buffer, the burst's ACKs and events;
  fp_tx_flows  (fastpath/fp_tx.c)  the queue manager: every data segment
               built, its payload copied, its checksums computed;

and switched off again inside fp_tx_flush, the hand-over to the DPDK
driver, so neither figure includes the driver (af_packet copies every
frame through the kernel).  Empty polls are not counted either: rx_burst
runs only for a non-empty burst.

A bulk transfer drives a known number of data segments through each
direction: linux-bulk in the namespace sends BYTES to tas-bulk (receive
phase), then tas-bulk sends BYTES to linux-bulk (transmit phase).  The
counters are zeroed before and dumped after each phase
(callgrind_control), and tcpdump on the namespace's end of the veth
counts the segments on the wire.  Instructions of the phase divided by
its data segments give the figures.
"""

import os
import re
import signal
import statistics
import subprocess
import time

import callgrind_file
import harness
import pcap_count

MEASURED = ('rx_burst', 'fp_tx_flows')
EXCLUDED = ('fp_tx_flush',)
SHIM_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'epoll_pwait2_shim.c')
TESTBED_NAME = 'bnchcg'
FIRST_PORT = 6100
VALGRIND_READY_TIMEOUT = 180
VALGRIND_STOP_TIMEOUT = 120
TCPDUMP_STOP_TIMEOUT = 10
BULK_TIMEOUT = 300
CAPTURE_QUIET = 0.5            # seconds without a new packet: capture complete
CAPTURE_STATS = ('captured', 'received by filter', 'dropped by kernel')


class CallgrindTas(harness.Tas):
    """tas started through a wrapper that runs it under callgrind: it
    needs longer to start and to stop."""

    def wait_ready(self, timeout=VALGRIND_READY_TIMEOUT):
        super().wait_ready(timeout)

    def stop(self, timeout=VALGRIND_STOP_TIMEOUT):
        super().stop(timeout)


def build_shim(workdir):
    shim = os.path.join(workdir, 'epoll_pwait2_shim.so')
    done = subprocess.run(['cc', '-std=gnu11', '-shared', '-fPIC', '-O2', '-Wall',
                           '-Wextra', '-Werror', '-o', shim, SHIM_SOURCE],
                          capture_output=True, text=True)
    harness.check(done.returncode == 0, f'cannot build {SHIM_SOURCE}:\n{done.stderr}')
    return shim


def valgrind_argv(out_file, shim):
    toggles = [f'--toggle-collect={name}' for name in MEASURED + EXCLUDED]
    return (['env', f'LD_PRELOAD={shim}', 'valgrind', '--tool=callgrind',
             f'--callgrind-out-file={out_file}'] + toggles)


def write_wrapper(workdir, argv):
    """An executable that runs tas under argv, for the harness's TAS_EXE."""
    path = os.path.join(workdir, 'tas-under-callgrind')
    with open(path, 'w') as f:
        f.write('#!/bin/sh\nexec ' + ' '.join(argv + [harness.tas_exe()]) + ' "$@"\n')
    os.chmod(path, 0o755)
    return path


def start_tas(test, bed, out_file):
    shim = build_shim(test.workdir)
    prefix = valgrind_argv(out_file, shim)
    wrapper = write_wrapper(test.workdir, prefix)
    saved = {key: os.environ.get(key) for key in ('TAS_EXE', 'TAS_TEST_NO_HUGE')}
    os.environ.update(TAS_EXE=wrapper, TAS_TEST_NO_HUGE='1')
    try:
        tas = CallgrindTas(test, bed)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    command = ' '.join(prefix + [harness.tas_exe()] + tas.proc.argv[1:])
    return tas, command


def callgrind_control(option, pid):
    done = subprocess.run(['callgrind_control', option, str(pid)],
                          capture_output=True, text=True, timeout=120)
    harness.check(done.returncode == 0 and 'OK' in done.stdout,
                  f'callgrind_control {option} {pid} failed:\n{done.stdout}{done.stderr}')


def newest_dump(out_file):
    """callgrind_control -d writes OUT.1, OUT.2, ...: the last one."""
    directory, base = os.path.split(out_file)
    numbers = [int(name[len(base) + 1:]) for name in os.listdir(directory)
               if name.startswith(base + '.') and name[len(base) + 1:].isdigit()]
    harness.check(numbers, f'callgrind wrote no dump next to {out_file}')
    return f'{out_file}.{max(numbers)}'


def tcpdump_argv(bed, path):
    # -Z root: the work directory is root's; headers suffice (-s 96).
    # Immediate mode and a packet-buffered file: what the kernel handed
    # over is on disk, and nothing waits in a block at the end.
    return ['tcpdump', '-i', bed.peer_iface, '-n', '-s', '96', '-B', '16384',
            '--immediate-mode', '-U', '-Z', 'root', '-w', path, 'tcp']


class Capture:
    """tcpdump on the namespace's end of the veth, into a pcap file."""

    def __init__(self, test, bed, name):
        self.path = os.path.join(test.workdir, f'{name}.pcap')
        self.proc = test.spawn(f'tcpdump-{name}', bed.ns_argv(tcpdump_argv(bed, self.path)))
        self.proc.wait_output(r'listening on', timeout=10)

    def wait_quiet(self):
        """Until the file has not grown for CAPTURE_QUIET seconds."""
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < CAPTURE_QUIET:
            size = os.path.getsize(self.path)
            if size != last:
                last, quiet_since = size, time.monotonic()
            time.sleep(harness.POLL_INTERVAL)

    def stop(self):
        self.wait_quiet()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(TCPDUMP_STOP_TIMEOUT)
        report = self.proc.stderr()
        numbers = {what: int(match.group(1)) for what in CAPTURE_STATS
                   for match in [re.search(rf'(\d+) packets? {what}', report)] if match}
        harness.check(len(numbers) == len(CAPTURE_STATS) and numbers['dropped by kernel'] == 0
                      and numbers['captured'] == numbers['received by filter'],
                      f'tcpdump missed packets:\n{report}')
        return pcap_count.count(self.path)


def bulk_phase(test, bed, tas, name, size, start_server, start_client):
    """One direction of the transfer between a zeroing and a dump of the
    counters, captured on the wire; returns (dump file, segment counts)."""
    capture = Capture(test, bed, name)
    server = start_server()
    callgrind_control('-z', tas.pid)
    client = start_client()
    for proc, sent, received in ((client, size, 0), (server, 0, size)):
        harness.check_bulk(proc.result('bulk', BULK_TIMEOUT), conns=1, sent=sent,
                           recv=received)
    # The last ACKs and FINs too, before the dump.
    capture.wait_quiet()
    callgrind_control('-d', tas.pid)
    return newest_dump(tas.out_file), capture.stop()


def receive_phase(test, bed, tas, port, size):
    """linux-bulk in the namespace sends size bytes to tas-bulk."""
    args = ['--timeout', BULK_TIMEOUT]
    return bulk_phase(
        test, bed, tas, f'rx-{port}', size,
        lambda: test.tas_bulk_server(bed, tas, port, ['--recv', size] + args,
                                     name=f'tas-bulk-recv-{port}'),
        lambda: test.linux_bulk_client(bed, port, ['--send', size] + args,
                                       name=f'linux-bulk-send-{port}'))


def transmit_phase(test, bed, tas, port, size):
    """tas-bulk sends size bytes to linux-bulk in the namespace."""
    args = ['--timeout', BULK_TIMEOUT]
    return bulk_phase(
        test, bed, tas, f'tx-{port}', size,
        lambda: test.linux_bulk_server(bed, port, ['--recv', size] + args,
                                       name=f'linux-bulk-recv-{port}'),
        lambda: test.tas_bulk_client(bed, tas, port, ['--send', size] + args,
                                     name=f'tas-bulk-send-{port}'))


def phase_figures(dump, counts, bed):
    """Per-phase numbers from a callgrind dump and the segment counts."""
    profile = callgrind_file.read(dump)
    to_tas = counts.get(bed.peer_ip, pcap_count.Counts())
    from_tas = counts.get(bed.tas_ip, pcap_count.Counts())
    return {
        'dump': dump,
        'segments_to_tas': to_tas,
        'segments_from_tas': from_tas,
        'calls': {name: profile['calls'].get(name, 0) for name in
                  MEASURED + ('pkt_parse', 'pkt_fill_checksums')},
        'instructions': {name: profile['inclusive'].get(name, 0) for name in
                         MEASURED + ('pkt_parse', 'pkt_fill_checksums')},
    }


def check_complete(counts, size, what):
    """The capture holds every byte of the transfer (more if resent)."""
    harness.check(counts.payload_bytes >= size,
                  f'the capture shows {counts.payload_bytes} payload bytes {what}, '
                  f'fewer than the {size} transferred')


def per_segment(rx, tx):
    """The figures of one repetition, per data segment (or per ACK)."""
    rx_data = rx['segments_to_tas'].data_segments
    tx_data = tx['segments_from_tas'].data_segments
    tx_acks = tx['segments_to_tas'].other_segments
    return {
        'rx_per_segment': rx['instructions']['rx_burst'] / rx_data,
        'rx_parse_per_segment': rx['instructions']['pkt_parse'] / rx_data,
        'rx_segments_per_burst': rx_data / max(rx['calls']['rx_burst'], 1),
        'tx_per_segment': tx['instructions']['fp_tx_flows'] / tx_data,
        'tx_checksum_per_segment': tx['instructions']['pkt_fill_checksums'] / tx_data,
        'ack_rx_per_ack': tx['instructions']['rx_burst'] / max(tx_acks, 1),
        'rx_data_segments': rx_data,
        'rx_other_segments': rx['segments_to_tas'].other_segments,
        'rx_acks_sent': rx['segments_from_tas'].other_segments,
        'rx_bursts': rx['calls']['rx_burst'],
        'tx_data_segments': tx_data,
        'tx_acks_received': tx_acks,
        'tx_payload_bytes': tx['segments_from_tas'].payload_bytes,
        'rx_payload_bytes': rx['segments_to_tas'].payload_bytes,
        'rx_instructions': rx['instructions']['rx_burst'],
        'tx_instructions': tx['instructions']['fp_tx_flows'],
    }


def run(test, size, repeats, log):
    """Measure repeats times; returns the figures of each repetition and
    the commands used."""
    bed = harness.Testbed(test, TESTBED_NAME)
    out_file = os.path.join(test.workdir, 'callgrind.out')
    tas, tas_command = start_tas(test, bed, out_file)
    tas.out_file = out_file
    figures = []
    for repetition in range(repeats):
        port = FIRST_PORT + 2 * repetition
        rx_dump, rx_counts = receive_phase(test, bed, tas, port, size)
        tx_dump, tx_counts = transmit_phase(test, bed, tas, port + 1, size)
        rx, tx = (phase_figures(rx_dump, rx_counts, bed),
                  phase_figures(tx_dump, tx_counts, bed))
        check_complete(rx['segments_to_tas'], size, 'received by tas')
        check_complete(tx['segments_from_tas'], size, 'sent by tas')
        result = per_segment(rx, tx)
        figures.append(result)
        log(f'callgrind {repetition + 1}/{repeats}: '
            f'rx {result["rx_per_segment"]:.0f} instr/segment '
            f'({result["rx_data_segments"]} segments), '
            f'tx {result["tx_per_segment"]:.0f} instr/segment '
            f'({result["tx_data_segments"]} segments)')
    tas.stop()
    return {
        'figures': figures,
        'size': size,
        'tas_command': tas_command,
        'tcpdump_command': ' '.join(bed.ns_argv(tcpdump_argv(bed, 'PHASE.pcap'))),
        'testbed': bed,
        'workdir': test.workdir,
    }


def median_of(figures, key):
    return statistics.median(f[key] for f in figures)
