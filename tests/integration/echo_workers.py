"""What tas-echo-server --workers prints: one line per worker process
when it starts accepting, and one per worker when the parent has waited
for them all:
  echo-worker: index=I pid=P accepting=N
  echo-worker: index=I pid=P exit=E|signal=S [connections=C bytes=B]
"""

import harness

ACCEPTING = r'^echo-worker: index={index} pid=(\d+) accepting=[1-9]'


def wait_accepting(server, workers, timeout=15):
    """Wait until every worker accepts; their pids, by index."""
    return [int(server.wait_output(ACCEPTING.format(index=index), timeout).group(1))
            for index in range(workers)]


def final_reports(text):
    """{index: fields} of the parent's closing lines."""
    reports = {}
    for line in text.splitlines():
        if line.startswith('echo-worker:') and 'accepting=' not in line:
            fields = harness.parse_result_line(line, 'echo-worker')
            reports[fields['index']] = fields
    return reports
