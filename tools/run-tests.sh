#!/usr/bin/env bash
# Build tas if it has not been built yet (tools/setup.sh) and run every
# test: unit tests, then the integration tests on veth test beds (these
# need root; without it they are skipped).
#
#   sudo tools/run-tests.sh [meson test arguments, e.g. --suite unit]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f build/build.ninja ]; then
	bash tools/setup.sh
fi
# meson test rebuilds only what the tests name; the integration tests also
# run the apps, so build everything first.
ninja -C build
exec meson test -C build --print-errorlogs "$@"
