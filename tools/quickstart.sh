#!/usr/bin/env bash
# See tas work: set the machine up, bring up a test bed, start tas on it
# and move verified data between a libtas application and Linux's TCP in a
# network namespace.  Cleans everything up when it ends.
#
#   sudo tools/quickstart.sh
#
# Environment: CONNS (4), BYTES per direction and connection (64M).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-4}
BYTES=${BYTES:-64M}
PORT=5001
TESTBED=qs
TRANSFER_TIMEOUT=120 # seconds for the whole transfer
READY_TIMEOUT=30     # seconds for tas or the server to become ready
STOP_TIMEOUT=10      # seconds for tas to exit after SIGTERM

TAS=build/slowpath/tas
TAS_BULK=build/apps/tas-bulk
LINUX_BULK=build/apps/linux-bulk

# fd 3: the real stderr, also while a polled check's output is discarded.
exec 3>&2
say() { printf '\nquickstart: %s\n' "$*"; }
fail() {
	printf 'quickstart: FAILED: %s\n' "$*" >&3
	exit 1
}

[ "$(id -u)" -eq 0 ] || fail "run as root: sudo $0"

say "setting up the machine and building (tools/setup.sh)"
bash tools/setup.sh

WORK=$(mktemp -d /tmp/tas-quickstart.XXXXXX)
TAS_PID=
SERVER_PID=

stop_tas() {
	[ -n "$TAS_PID" ] || return 0
	kill -TERM "$TAS_PID" 2>/dev/null || true
	timeout "$STOP_TIMEOUT" tail --pid="$TAS_PID" -f /dev/null ||
		kill -KILL "$TAS_PID" 2>/dev/null || true
	wait "$TAS_PID" 2>/dev/null || true
	TAS_PID=
}

cleanup() {
	stop_tas
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	bash tools/testbed.sh down "$TESTBED" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# Polls a condition (a command) every 50 ms until it holds or $1 seconds
# pass.
wait_for() {
	local seconds=$1 what=$2 tries
	shift 2
	for ((tries = seconds * 20; tries > 0; tries--)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	fail "$what not ready within $seconds s"
}

server_listening() {
	kill -0 "$SERVER_PID" || fail "linux-bulk exited: $(cat "$WORK/linux-bulk.out")"
	[ -n "$(ip netns exec "$NETNS" ss -Hltn "sport = :$PORT")" ]
}

tas_accepting() {
	kill -0 "$TAS_PID" || fail "tas exited: $(cat "$WORK/tas.log")"
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])' "$WORK/tas.sock"
}

say "bringing up test bed '$TESTBED' (tools/testbed.sh)"
bash tools/testbed.sh down "$TESTBED" >/dev/null 2>&1 || true
eval "$(bash tools/testbed.sh up "$TESTBED")"
echo "  tas:   $TAS_IP on $TAS_IFACE"
echo "  Linux: $PEER_IP on $PEER_IFACE in namespace $NETNS"

say "starting Linux server: linux-bulk --listen $PORT in $NETNS"
ip netns exec "$NETNS" "$LINUX_BULK" --listen "$PORT" --conns "$CONNS" \
	--recv "$BYTES" --send "$BYTES" --timeout "$TRANSFER_TIMEOUT" \
	>"$WORK/linux-bulk.out" 2>&1 &
SERVER_PID=$!
wait_for "$READY_TIMEOUT" "linux-bulk" server_listening

say "starting tas: $TAS --ip $TAS_CIDR --iface $TAS_IFACE"
"$TAS" --ip "$TAS_CIDR" --iface "$TAS_IFACE" --socket "$WORK/tas.sock" \
	>"$WORK/tas.log" 2>&1 &
TAS_PID=$!
wait_for "$READY_TIMEOUT" "tas" tas_accepting
grep 'tas: ready' "$WORK/tas.log" || true

say "transferring: tas-bulk --connect $PEER_IP:$PORT --conns $CONNS --send $BYTES --recv $BYTES"
client_status=0
TAS_SOCKET="$WORK/tas.sock" timeout "$TRANSFER_TIMEOUT" "$TAS_BULK" \
	--connect "$PEER_IP:$PORT" --conns "$CONNS" --send "$BYTES" \
	--recv "$BYTES" --timeout "$TRANSFER_TIMEOUT" \
	>"$WORK/tas-bulk.out" 2>&1 || client_status=$?
server_status=0
timeout "$TRANSFER_TIMEOUT" tail --pid="$SERVER_PID" -f /dev/null || true
wait "$SERVER_PID" || server_status=$?
SERVER_PID=

echo "  libtas client (on tas): $(tail -n 1 "$WORK/tas-bulk.out")"
echo "  Linux server (kernel):  $(tail -n 1 "$WORK/linux-bulk.out")"

say "stopping tas (SIGTERM)"
stop_tas
sed 's/^/  /' "$WORK/tas.log"

if [ "$client_status" -ne 0 ] || [ "$server_status" -ne 0 ]; then
	echo "--- tas-bulk output ---"
	cat "$WORK/tas-bulk.out"
	echo "--- linux-bulk output ---"
	cat "$WORK/linux-bulk.out"
	fail "tas-bulk exited with $client_status, linux-bulk with $server_status"
fi
say "OK: $CONNS connections moved $BYTES each way, verified at both ends"
