"""The sockets shim's Linux semantics, check by check.

shim-semantics (shim_semantics.c) is a plain libc sockets program whose
checks each pin down one thing Linux's TCP sockets do; each check works
on a socket of its own and that socket's far end, which an agent drives:
a thread of the program, or another copy of the program (serving over a
Unix socket, never over TCP).  A run is one layout:

--mode local: tas on the test bed, the program under the shim; its far
side a thread of its own (at 127.0.0.1 and at tas's address, its socket
the connecting end and the accepted end), then another preloaded copy on
the host (tas's local delivery between processes).
--mode linux-peer: the program under the shim, its far side the program
without the shim in the namespace (Linux TCP), both ends in turn.
--mode linux (not registered): no tas and no shim, the kernel owning the
host end of the veth with tas's address: every layout of the two modes
above on Linux alone.  Every assertion must hold there: one that fails on
Linux is a wrong assertion.

The namespace drops SYNs to BLACKHOLE_PORT (a connect that stays in
progress); nobody listens on REFUSED_PORT.
Claims: every check of every run prints "ok" or an explicit "skip"
(a known difference, with its reason); each run ends with its summary
line and exit code 0; tas stops cleanly; no sanitizer reports.
"""

import argparse
import os
import re

import harness

BLACKHOLE_PORT = 7999
REFUSED_PORT = 7998
PORT_BASE = 20000       # below Linux's ephemeral ports (32768-60999)
PORTS_PER_RUN = 400
RUN_BUDGET = 60         # seconds a run may start checks in (about 10 needed)
CHECK_SLACK = 30        # a check's own bound (shim_semantics.c) and exit
SHARE_MARGIN = 10       # of a run's share of the time, for its last check
FINISH_SECONDS = 20     # stopping tas, and the report
SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed, (\d+) skipped$', re.MULTILINE)

# [label, far side (thread, host: another copy on the host, ns: a copy
#  in the namespace), address of the program's own end, side]
LOCAL_RUNS = [
    ('thread-lo-connect', 'thread', 'lo', 'connect'),
    ('thread-lo-accept', 'thread', 'lo', 'accept'),
    ('thread-tas-connect', 'thread', 'host', 'connect'),
    ('thread-tas-accept', 'thread', 'host', 'accept'),
    ('copy-tas-connect', 'host', 'host', 'connect'),
    ('copy-lo-accept', 'host', 'lo', 'accept'),
]
PEER_RUNS = [
    ('peer-connect', 'ns', 'host', 'connect'),
    ('peer-accept', 'ns', 'host', 'accept'),
]
MODES = {
    'local': ('shim-both', LOCAL_RUNS),
    'linux-peer': ('shim-client', PEER_RUNS),
    'linux': ('linux', LOCAL_RUNS + PEER_RUNS),
}


def drop_syns(bed):
    """SYNs to the peer's BLACKHOLE_PORT vanish (no RST, no SYN-ACK)."""
    bed.run_ns(['nft', '-f', '-'], input_text=f'''
        table ip shim_semantics {{
            chain input {{
                type filter hook input priority 0;
                tcp dport {BLACKHOLE_PORT} drop
            }}
        }}''')


def run_one(programs, program, index, budget, label, far, where, side):
    """One layout, its checks started within budget seconds; returns
    (label, its output lines, problems)."""
    test = programs.test
    address = {'lo': '127.0.0.1', 'host': programs.host_ip}[where]
    argv = [program, '--side', side, '--port', PORT_BASE + index * PORTS_PER_RUN,
            '--blackhole', f'{programs.peer_ip}:{BLACKHOLE_PORT}',
            '--refused-port', REFUSED_PORT, '--budget', budget]
    agent = None
    if far == 'thread':
        argv += ['--far', 'thread', '--far-on-host']
        argv += ['--far-ip', address, '--my-ip', address, '--local-ip', address]
    else:
        path = os.path.join(test.workdir, f'{label}.agent')
        agent = programs.spawn(far == 'host', f'{label}-agent', [program, '--serve-agent', path])
        argv += ['--far', f'unix:{path}']
        if far == 'host':
            argv += ['--far-on-host', '--far-ip', address, '--my-ip', address,
                     '--local-ip', address]
        else:
            argv += ['--far-ip', programs.peer_ip, '--my-ip', programs.host_ip,
                     '--local-ip', address]
    proc = programs.spawn(True, label, argv)
    # A check still running at the end of the budget has CHECK_SECONDS
    # (20) and the alarm's grace (5) left.
    rc = proc.wait(min(budget + CHECK_SLACK, test.remaining() - FINISH_SECONDS))
    out = proc.stdout()
    lines = [line for line in out.splitlines()
             if re.match(r'^(ok|not ok|skip) ', line)]
    problems = [line for line in lines if line.startswith('not ok ')]
    summary = SUMMARY.search(out)
    if summary is None:
        problems.append(f'no summary line (exit code {rc})\n{proc.describe()}')
    elif rc != (1 if int(summary.group(2)) else 0):
        problems.append(f'exit code {rc} with "{summary.group(0)}"\n{proc.describe()}')
    if agent is not None:
        agent_rc = agent.wait(15)
        if agent_rc != 0:
            problems.append(f'its far side exited with {agent_rc}\n{agent.describe()}')
    test.log(f'{label}: {summary.group(0) if summary else "no summary"}'
             + ''.join(f'\n    {line}' for line in lines if not line.startswith('ok ')))
    return label, lines, problems


def main(test, mode, program):
    harness.require_executable(program)
    layout, runs = MODES[mode]
    programs = (harness.Programs(test, 'linux', like='shim-both') if layout == 'linux'
                else harness.Programs(test, layout))
    drop_syns(programs.bed)
    results = []
    for index, run in enumerate(runs):
        # Each run's share of the time left, so that a slow shim still
        # gets every layout reported within the bound.
        share = (test.remaining() - FINISH_SECONDS) / (len(runs) - index) - SHARE_MARGIN
        results.append(run_one(programs, program, index, int(min(RUN_BUDGET, max(10, share))),
                               *run))

    failed = [f'{label}: {problem}' for label, _, problems in results for problem in problems]
    skipped = sorted({line for _, lines, _ in results for line in lines
                      if line.startswith('skip ')})
    checks = sum(len(lines) for _, lines, _ in results)
    harness.check(not failed, f'{len(failed)} problems in {len(results)} runs:\n'
                  + '\n'.join(failed))
    test.log(f'{len(results)} runs, {checks} check results, none failed; skips:'
             + ''.join(f'\n    {line}' for line in skipped))
    programs.finish()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--mode', choices=list(MODES), required=True)
    parser.add_argument('--program', required=True)
    args = parser.parse_args()
    harness.run(lambda test: main(test, args.mode, args.program),
                bound={'local': 270, 'linux-peer': 150, 'linux': 300}[args.mode])
