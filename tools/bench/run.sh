#!/usr/bin/env bash
# The service-core benchmark, run by hand (not part of the test suite):
#
#   meson setup /tmp/build-bench . -Dbuildtype=release && ninja -C /tmp/build-bench
#   sudo tools/bench/run.sh --build-dir /tmp/build-bench
#
# Echo RPC on tas against Linux (local delivery vs loopback; a client in a
# namespace against a server on tas vs on Linux), and the fast path's
# instructions per data segment under callgrind.  Writes doc/benchmarks.md
# with the figures, the commands and the machine's conditions.  About 10
# minutes on 2 cores with the defaults; `--help` lists the options.
#
#   sudo tools/bench/run.sh --suite shim --build-dir /tmp/build-bench
#
# Unmodified programs (nginx + wrk, redis-benchmark, sockperf, iperf3), the
# servers under the sockets shim on tas against the same binaries on Linux
# (tools/bench/shim_bench.py); rewrites only the shim sections of
# doc/benchmarks.md.  About 7 minutes.
#
#   sudo tools/bench/run.sh --suite loss --build-dir /tmp/build-bench
#
# Goodput of one long flow (256 MiB, content-verified) under 0, 1 and 5 %
# loss in both directions through the impairment stage (tools/impair),
# tas --cc cubic against Linux cubic, each direction (tas sends, tas
# receives), the tas and the Linux runs interleaved
# (tools/bench/loss_bench.py); rewrites only the loss sections of
# doc/benchmarks.md.  About 12 minutes with the defaults, most of it
# Linux at 5 % loss.  --suite all runs the three suites.
set -euo pipefail
# /usr/bin/python3: the system interpreter the integration harness uses.
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$(dirname "$(readlink -f "$0")")/bench.py" "$@"
