#!/usr/bin/env bash
# A test bed for tas on one machine: a veth pair whose host end NAME-tas is
# driven by tas (through --iface, no kernel address on it) and whose other
# end NAME-peer sits in the network namespace NAME-ns, where the kernel's
# TCP plays the remote host.
#
#   tools/testbed.sh up NAME      create it (or repair it); prints KEY=VALUE
#   tools/testbed.sh down NAME    remove it (safe to repeat)
#   tools/testbed.sh status [NAME]
#
# `up` and `status NAME` print only KEY=VALUE lines on stdout, so a script
# can do: eval "$(tools/testbed.sh up tb1)".  Each test bed gets its own
# subnet 10.77.X.0/24, tas 10.77.X.1, the peer 10.77.X.2, so several can
# coexist: X is derived from NAME, or is the next free X if another test
# bed already has that one.
#
# Offloads are off on both ends: the kernel would otherwise send partial
# checksums and 64 KB TSO/GRO frames to tas.  rx is off too, so the peer
# verifies every checksum tas computes in software (checked on this kernel:
# a SYN with a bad TCP checksum gets no answer).
set -euo pipefail

SUBNET_BASE=10.77
PREFIX_LEN=24
LINK_WAIT_TRIES=200 # x 10 ms
LOCK_FILE=/run/tas-testbed.lock

usage() {
	echo "usage: $0 up NAME | down NAME | status [NAME]" >&2
	exit 2
}

say() { printf 'testbed: %s\n' "$*" >&2; }
fail() {
	say "$*"
	exit 1
}

check_name() {
	# NAME-peer must fit the 15 characters of an interface name.
	[[ "$1" =~ ^[A-Za-z0-9_]{1,10}$ ]] ||
		fail "NAME must be 1 to 10 letters, digits or '_' (got '$1')"
}

# Preferred third octet of NAME's subnet, 1..254.
preferred_octet() {
	local sum
	sum=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
	echo $((sum % 254 + 1))
}

# Third octets X of the SUBNET_BASE.X.2 addresses in "ip -o addr" output.
peer_octets() {
	local base_pattern=${SUBNET_BASE//./\\.}
	sed -n "s|.* inet $base_pattern\\.\\([0-9]*\\)\\.2/.*|\\1|p"
}

# The third octet NAME's test bed uses now, or nothing if it is not up.
current_octet() {
	ip -n "$1-ns" -4 -o addr show dev "$1-peer" 2>/dev/null | peer_octets |
		head -n 1
}

# Octets taken by other namespaces.
octets_in_use() {
	local name=$1 ns
	for ns in $(ip netns list | awk '{print $1}'); do
		[ "$ns" != "$name-ns" ] || continue
		ip -n "$ns" -4 -o addr show 2>/dev/null | peer_octets
	done
}

# NAME's preferred subnet, or the next free one if another test bed has
# it: the same NAME gets the same subnet unless names collide.
choose_octet() {
	local name=$1 octet tries used
	octet=$(current_octet "$name")
	if [ -n "$octet" ]; then
		echo "$octet"
		return
	fi
	used=" $(octets_in_use "$name" | tr '\n' ' ') "
	octet=$(preferred_octet "$name")
	for ((tries = 0; tries < 254; tries++)); do
		if [[ "$used" != *" $octet "* ]]; then
			echo "$octet"
			return
		fi
		octet=$((octet % 254 + 1))
	done
	fail "all 254 subnets $SUBNET_BASE.X.0/24 are in use"
}

netns_exists() { ip netns list | grep -qE "^$1( |\$)"; }
link_exists() { ip link show dev "$1" >/dev/null 2>&1; }

print_values() {
	local name=$1 octet tas_mac peer_mac
	octet=$(current_octet "$name")
	tas_mac=$(cat "/sys/class/net/$name-tas/address" 2>/dev/null || echo unknown)
	peer_mac=$(ip netns exec "$name-ns" cat "/sys/class/net/$name-peer/address" \
		2>/dev/null || echo unknown)
	cat <<EOF
TESTBED=$name
NETNS=$name-ns
TAS_IFACE=$name-tas
PEER_IFACE=$name-peer
TAS_IP=$SUBNET_BASE.$octet.1
PEER_IP=$SUBNET_BASE.$octet.2
PREFIX=$PREFIX_LEN
TAS_CIDR=$SUBNET_BASE.$octet.1/$PREFIX_LEN
TAS_MAC=$tas_mac
PEER_MAC=$peer_mac
EOF
}

offloads_off() {
	# Some veth features cannot be changed on every kernel: best effort,
	# but say so.
	"$@" rx off tx off tso off gso off gro off >/dev/null 2>&1 ||
		say "warning: could not turn all offloads off ($*)"
}

# Linux's default here is bbr; compare against the common cubic.  A
# namespace may only choose an algorithm the host allows everyone.
use_cubic() {
	local ns=$1 allowed
	allowed=$(sysctl -n net.ipv4.tcp_allowed_congestion_control)
	if [[ " $allowed " != *" cubic "* ]]; then
		sysctl -qw net.ipv4.tcp_allowed_congestion_control="$allowed cubic" || true
	fi
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control=cubic 2>/dev/null ||
		say "warning: cannot use cubic in $ns; congestion control is" \
			"$(ip netns exec "$ns" sysctl -n net.ipv4.tcp_congestion_control)"
}

wait_for_carrier() {
	local name=$1 try
	for ((try = 0; try < LINK_WAIT_TRIES; try++)); do
		if ip -n "$name-ns" link show dev "$name-peer" | grep -q LOWER_UP &&
			ip link show dev "$name-tas" | grep -q LOWER_UP; then
			return 0
		fi
		sleep 0.01
	done
	fail "veth $name-tas <-> $name-peer has no carrier"
}

up() {
	local name=$1 ns=$1-ns tas=$1-tas peer=$1-peer octet
	# Test beds coming up at the same time must not pick the same subnet.
	exec 9>"$LOCK_FILE"
	flock 9
	octet=$(choose_octet "$name")

	netns_exists "$ns" || ip netns add "$ns"
	if ! link_exists "$tas"; then
		ip netns exec "$ns" ip link del "$peer" 2>/dev/null || true
		ip link add "$tas" type veth peer name "$peer" netns "$ns"
	fi

	# Host end: tas's, so the kernel must stay silent on it.
	sysctl -qw "net.ipv6.conf.$tas.disable_ipv6=1" || true
	ip addr flush dev "$tas"
	offloads_off ethtool -K "$tas"
	ip link set dev "$tas" up

	# Namespace end: the kernel peer.
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1" || true
	ip -n "$ns" addr replace "$SUBNET_BASE.$octet.2/$PREFIX_LEN" dev "$peer"
	exec 9>&-
	offloads_off ip netns exec "$ns" ethtool -K "$peer"
	ip -n "$ns" link set dev lo up
	ip -n "$ns" link set dev "$peer" up
	use_cubic "$ns"

	wait_for_carrier "$name"
	say "up: $tas (tas, $SUBNET_BASE.$octet.1) <-> $peer in $ns ($SUBNET_BASE.$octet.2)"
	print_values "$name"
}

down() {
	local name=$1
	# Deleting one end of a veth pair deletes the other.
	if link_exists "$name-tas"; then
		ip link del "$name-tas"
	fi
	if netns_exists "$name-ns"; then
		ip netns del "$name-ns"
	fi
	say "down: $name"
}

status_one() {
	local name=$1
	if ! netns_exists "$name-ns" || ! link_exists "$name-tas"; then
		say "$name: not up"
		return 1
	fi
	print_values "$name"
}

status_all() {
	local name found=0
	for name in $(ip netns list | awk '{print $1}' | sed -n 's/-ns$//p'); do
		link_exists "$name-tas" || continue
		found=1
		printf '%s: %s.%s.0/%s, %s %s\n' "$name" "$SUBNET_BASE" \
			"$(current_octet "$name")" "$PREFIX_LEN" "$name-tas" \
			"$(cat "/sys/class/net/$name-tas/operstate")"
	done
	[ "$found" -eq 1 ] || echo "no test beds"
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
up | down)
	[ $# -eq 1 ] || usage
	check_name "$1"
	[ "$(id -u)" -eq 0 ] || fail "must run as root"
	"$command" "$1"
	;;
status)
	if [ $# -eq 1 ]; then
		check_name "$1"
		status_one "$1"
	else
		[ $# -eq 0 ] || usage
		status_all
	fi
	;;
*) usage ;;
esac
