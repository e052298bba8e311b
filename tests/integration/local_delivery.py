"""Two libtas applications talking through tas's own address.

tas-bulk server and client both attach to the same tas; the client
connects to the tas address.  Claims: the transfer verifies in both
directions, and it did not cross the NIC: the tas-side veth counted fewer
than NIC_NOISE_PACKETS packets in each direction during the transfer,
against the tens of thousands the transfer would need.
"""

import harness

PORT = 5005
BYTES_EACH_WAY = 64 * harness.MIB
CONNS = 4
NIC_NOISE_PACKETS = 32   # e.g. IPv6 router solicitations, ARP


def main(test):
    bed = test.testbed()
    tas = test.tas(bed)
    common = ['--conns', CONNS, '--send', BYTES_EACH_WAY, '--recv', BYTES_EACH_WAY,
              '--timeout', 60]
    server = test.tas_bulk_server(bed, tas, PORT, common)
    before = bed.iface_counters()
    client = test.tas_bulk_client(bed, tas, PORT, common, ip=bed.tas_ip)
    total = CONNS * BYTES_EACH_WAY
    results = [client.result('bulk', timeout=70), server.result('bulk', timeout=10)]
    after = bed.iface_counters()
    for result in results:
        harness.check_bulk(result, conns=CONNS, sent=total, recv=total)
    seconds = max(result['secs'] for result in results)
    test.log(f'measured: {2 * total} bytes locally in {seconds:.3f} s = '
             f'{harness.mbit_per_sec(2 * total, seconds):.0f} Mbit/s')

    crossed = {key: after[key] - before[key] for key in after}
    test.log(f'measured: veth {bed.iface} during the transfer: {crossed}')
    for direction in ('rx_packets', 'tx_packets'):
        harness.check(crossed[direction] < NIC_NOISE_PACKETS,
                      f'{crossed[direction]} {direction} on {bed.iface}: the local '
                      f'transfer went through the NIC')
    tas.stop()


if __name__ == '__main__':
    harness.run(main, bound=120)
