"""Losing exactly the segment a part of TCP depends on, once.

The impairment stage's targeted drops (tas-impair drop-syn, drop-synack,
drop-fin, drop-offset) take the same segment on every run.  --case picks
the scenarios, each on a fresh stage and tas (on one impaired test bed),
with a verified transfer of BYTES each way on one connection:

  handshake     a Linux client's SYN lost on its way to tas; tas's SYN-ACK
                to a Linux client lost; a tas client's SYN lost; the Linux
                server's SYN-ACK to a tas client lost
  fin           the first FIN in each direction lost, with a Linux client
                and with a tas client
  last-segment  the first transmission of the segment carrying the last
                byte of each direction's data lost, with a Linux client
                and with a tas client

Claims: every transfer completes on one connection with every byte
verified at both ends, and the stage's counters show that exactly the drops
asked for happened (and no other targeted drop: a tas server is not probed
with SYNs here, tas-bulk says when it listens).
"""

import argparse

import harness

PORT_BASE = 5010
# Not a multiple of the MSS: the last segment is a short one.
BYTES = 2 * harness.MIB + 777
TRANSFER_TIMEOUT = 30
TARGETED_COUNTERS = ('syn_drops', 'synack_drops', 'fin_drops', 'offset_drops')
LAST_BYTE = f'drop-offset={BYTES - 1}'

# case: [(what, client, SPEC to tas, SPEC from tas, {counter: expected})]
CASES = {
    'handshake': [
        ("a Linux client's SYN lost", 'linux', 'drop-syn=1', '',
         {'to_tas_syn_drops': 1}),
        ("tas's SYN-ACK to a Linux client lost", 'linux', '', 'drop-synack=1',
         {'from_tas_synack_drops': 1}),
        ("a tas client's SYN lost", 'tas', '', 'drop-syn=1',
         {'from_tas_syn_drops': 1}),
        ("Linux's SYN-ACK to a tas client lost", 'tas', 'drop-synack=1', '',
         {'to_tas_synack_drops': 1}),
    ],
    'fin': [
        (f'the first FIN each way lost, {client} client', client, 'drop-fin=1', 'drop-fin=1',
         {'to_tas_fin_drops': 1, 'from_tas_fin_drops': 1})
        for client in ('linux', 'tas')
    ],
    'last-segment': [
        (f'the last data segment each way lost, {client} client', client, LAST_BYTE, LAST_BYTE,
         {'to_tas_offset_drops': 1, 'from_tas_offset_drops': 1})
        for client in ('linux', 'tas')
    ],
}


def run_scenario(test, bed, index, scenario):
    what, client, to_tas, from_tas, expected = scenario
    port = PORT_BASE + index
    test.log(f'scenario {index + 1}: {what}')
    stage = bed.impair(to_tas=to_tas, from_tas=from_tas, name=f'impair-{index}')
    tas = test.tas(bed, name=f'tas-{index}')
    common = ['--send', BYTES, '--recv', BYTES, '--timeout', TRANSFER_TIMEOUT]
    if client == 'linux':
        server = test.tas_bulk_server(bed, tas, port, common, name=f'tas-bulk-server-{index}',
                                      probe=False)
        client_proc = test.linux_bulk_client(bed, port, common, name=f'linux-bulk-client-{index}')
    else:
        server = test.linux_bulk_server(bed, port, common, name=f'linux-bulk-server-{index}')
        client_proc = test.tas_bulk_client(bed, tas, port, common, name=f'tas-bulk-client-{index}')
    client_result = client_proc.result('bulk', timeout=TRANSFER_TIMEOUT + 5)
    server_result = server.result('bulk', timeout=10)
    for result in (client_result, server_result):
        harness.check_bulk(result, conns=1, sent=BYTES, recv=BYTES)

    counters = stage.counters()
    got = {f'{direction}_{counter}': counters[f'{direction}_{counter}']
           for direction in ('to_tas', 'from_tas') for counter in TARGETED_COUNTERS}
    wanted = {key: expected.get(key, 0) for key in got}
    test.log(f'measured: {what}: {BYTES} bytes each way in '
             f'{max(client_result["secs"], server_result["secs"]):.3f} s; stage '
             + ' '.join(f'{key}={value}' for key, value in got.items() if value))
    harness.check(got == wanted, f'{what}: targeted drops {got}, expected {wanted}')
    tas.stop()


def main(test, case):
    bed = test.testbed(mode='impaired')
    for index, scenario in enumerate(CASES[case]):
        run_scenario(test, bed, index, scenario)


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--case', choices=sorted(CASES), required=True)
    parser.add_argument('--bound', type=int, default=90)
    args = parser.parse_args()
    harness.run(lambda test: main(test, args.case), bound=args.bound)
