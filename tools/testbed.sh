#!/usr/bin/env bash
# A test bed for tas on one machine: a veth pair whose host end NAME-tas is
# driven by tas (through --iface, no kernel address on it) and whose other
# end NAME-peer sits in the network namespace NAME-ns, where the kernel's
# TCP plays the remote host.
#
#   tools/testbed.sh up NAME [MODE]  create it (or repair it); prints KEY=VALUE
#   tools/testbed.sh down NAME       remove it, in any mode (safe to repeat)
#   tools/testbed.sh status [NAME]
#
# MODE impaired puts a pair of interfaces between the two ends for the
# impairment stage (tools/impair/tas-impair --a NAME-ia --b NAME-ib):
# NAME-tas is paired with NAME-ia, and NAME-ib with NAME-peer; the stage's
# ends NAME-ia and NAME-ib sit on the host without addresses.  `up` then
# also prints IMPAIR_TAS_SIDE=NAME-ia and IMPAIR_PEER_SIDE=NAME-ib.
# MODE impaired-linux is the same with NAME-tas in a second namespace
# NAME-lns with tas's address on it, for Linux's TCP at both ends of the
# same stage (a baseline); it also prints LINUX_NETNS=NAME-lns.
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
	echo "usage: $0 up NAME [impaired|impaired-linux] | down NAME | status [NAME]" >&2
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
link_exists_in() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# The mode NAME's test bed is in now (plain, impaired, impaired-linux),
# or nothing if none of its pieces exists.
current_mode() {
	local name=$1
	if netns_exists "$name-lns"; then
		echo impaired-linux
	elif link_exists "$name-ia" || link_exists "$name-ib"; then
		echo impaired
	elif link_exists "$name-tas" || netns_exists "$name-ns"; then
		echo plain
	fi
}

# Run a command where NAME-tas lives: the host, or NAME-lns.
in_tas_netns() {
	local name=$1
	shift
	if netns_exists "$name-lns"; then
		ip netns exec "$name-lns" "$@"
	else
		"$@"
	fi
}

print_values() {
	local name=$1 mode octet tas_mac peer_mac
	mode=$(current_mode "$name")
	octet=$(current_octet "$name")
	tas_mac=$(in_tas_netns "$name" cat "/sys/class/net/$name-tas/address" \
		2>/dev/null || echo unknown)
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
	if [ "$mode" != plain ]; then
		echo "IMPAIR_TAS_SIDE=$name-ia"
		echo "IMPAIR_PEER_SIDE=$name-ib"
	fi
	if [ "$mode" = impaired-linux ]; then
		echo "LINUX_NETNS=$name-lns"
	fi
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

# NAMESPACE:DEVICE (an empty NAMESPACE is the host) has carrier.
has_carrier() {
	local ns=${1%%:*} dev=${1#*:}
	if [ -n "$ns" ]; then
		ip -n "$ns" link show dev "$dev" | grep -q LOWER_UP
	else
		ip link show dev "$dev" | grep -q LOWER_UP
	fi
}

# Every NAMESPACE:DEVICE argument has carrier.
wait_for_carrier() {
	local try end missing
	for ((try = 0; try < LINK_WAIT_TRIES; try++)); do
		missing=
		for end in "$@"; do
			has_carrier "$end" || missing="$missing ${end#*:}"
		done
		[ -n "$missing" ] || return 0
		sleep 0.01
	done
	fail "no carrier on$missing"
}

# A veth end on the host the kernel must stay silent on: tas's, or one of
# the impairment stage's.
silent_host_end() {
	local dev=$1
	sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" || true
	ip addr flush dev "$dev"
	offloads_off ethtool -K "$dev"
	ip link set dev "$dev" up
}

# veth pair END (on the host) <-> OTHER in namespace NS (the host if
# empty), unless END exists already; a stale OTHER is removed first.
veth_pair() {
	local end=$1 other=$2 ns=$3
	if link_exists "$end"; then
		return 0
	fi
	if [ -n "$ns" ]; then
		ip -n "$ns" link del "$other" 2>/dev/null || true
		ip link add "$end" type veth peer name "$other" netns "$ns"
	else
		ip link del "$other" 2>/dev/null || true
		ip link add "$end" type veth peer name "$other"
	fi
}

up() {
	local name=$1 mode=$2 ns=$1-ns lns=$1-lns tas=$1-tas peer=$1-peer
	local ia=$1-ia ib=$1-ib octet current
	current=$(current_mode "$name")
	if [ -n "$current" ] && [ "$current" != "$mode" ]; then
		say "$name is up as $current: taking it down for $mode"
		down "$name"
	fi
	# Test beds coming up at the same time must not pick the same subnet.
	exec 9>"$LOCK_FILE"
	flock 9
	octet=$(choose_octet "$name")

	netns_exists "$ns" || ip netns add "$ns"
	case "$mode" in
	plain) veth_pair "$tas" "$peer" "$ns" ;;
	impaired)
		veth_pair "$tas" "$ia" ""
		veth_pair "$ib" "$peer" "$ns"
		;;
	impaired-linux)
		netns_exists "$lns" || ip netns add "$lns"
		veth_pair "$ia" "$tas" "$lns"
		veth_pair "$ib" "$peer" "$ns"
		;;
	esac

	if [ "$mode" = impaired-linux ]; then
		# Linux's TCP in place of tas, with tas's address.
		ip netns exec "$lns" sysctl -qw "net.ipv6.conf.$tas.disable_ipv6=1" || true
		ip -n "$lns" addr replace "$SUBNET_BASE.$octet.1/$PREFIX_LEN" dev "$tas"
		offloads_off ip netns exec "$lns" ethtool -K "$tas"
		ip -n "$lns" link set dev lo up
		ip -n "$lns" link set dev "$tas" up
		use_cubic "$lns"
	else
		# Host end: tas's, so the kernel must stay silent on it.
		silent_host_end "$tas"
	fi
	if [ "$mode" != plain ]; then
		silent_host_end "$ia"
		silent_host_end "$ib"
	fi

	# Namespace end: the kernel peer.
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1" || true
	ip -n "$ns" addr replace "$SUBNET_BASE.$octet.2/$PREFIX_LEN" dev "$peer"
	exec 9>&-
	offloads_off ip netns exec "$ns" ethtool -K "$peer"
	ip -n "$ns" link set dev lo up
	ip -n "$ns" link set dev "$peer" up
	use_cubic "$ns"

	case "$mode" in
	plain)
		wait_for_carrier ":$tas" "$ns:$peer"
		say "up: $tas (tas, $SUBNET_BASE.$octet.1) <-> $peer in $ns ($SUBNET_BASE.$octet.2)"
		;;
	impaired)
		wait_for_carrier ":$tas" ":$ia" ":$ib" "$ns:$peer"
		say "up: $tas (tas, $SUBNET_BASE.$octet.1) <-> $ia | stage | $ib <-> $peer in $ns ($SUBNET_BASE.$octet.2)"
		;;
	impaired-linux)
		wait_for_carrier "$lns:$tas" ":$ia" ":$ib" "$ns:$peer"
		say "up: $tas in $lns (Linux, $SUBNET_BASE.$octet.1) <-> $ia | stage | $ib <-> $peer in $ns ($SUBNET_BASE.$octet.2)"
		;;
	esac
	print_values "$name"
}

down() {
	local name=$1 dev
	# Deleting one end of a veth pair deletes the other.  The interfaces
	# go explicitly: a namespace a process still holds outlives
	# `ip netns del`, and its interfaces with it.
	for dev in "$name-tas" "$name-ia" "$name-ib"; do
		if link_exists "$dev"; then
			ip link del "$dev"
		fi
	done
	if netns_exists "$name-lns"; then
		if link_exists_in "$name-lns" "$name-tas"; then
			ip -n "$name-lns" link del "$name-tas"
		fi
		ip netns del "$name-lns"
	fi
	if netns_exists "$name-ns"; then
		if link_exists_in "$name-ns" "$name-peer"; then
			ip -n "$name-ns" link del "$name-peer"
		fi
		ip netns del "$name-ns"
	fi
	say "down: $name"
}

# NAME's tas end exists (on the host, or in NAME-lns).
tas_end_exists() {
	link_exists "$1-tas" || link_exists_in "$1-lns" "$1-tas"
}

status_one() {
	local name=$1
	if ! netns_exists "$name-ns" || ! tas_end_exists "$name"; then
		say "$name: not up"
		return 1
	fi
	print_values "$name"
}

status_all() {
	local name found=0
	for name in $(ip netns list | awk '{print $1}' | sed -n 's/-ns$//p'); do
		tas_end_exists "$name" || continue
		found=1
		printf '%s: %s.%s.0/%s, %s %s (%s)\n' "$name" "$SUBNET_BASE" \
			"$(current_octet "$name")" "$PREFIX_LEN" "$name-tas" \
			"$(in_tas_netns "$name" cat "/sys/class/net/$name-tas/operstate")" \
			"$(current_mode "$name")"
	done
	[ "$found" -eq 1 ] || echo "no test beds"
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
up)
	[ $# -eq 1 ] || [ $# -eq 2 ] || usage
	check_name "$1"
	mode=${2:-plain}
	case "$mode" in
	plain | impaired | impaired-linux) ;;
	*) fail "MODE must be impaired or impaired-linux (got '$mode')" ;;
	esac
	[ "$(id -u)" -eq 0 ] || fail "must run as root"
	up "$1" "$mode"
	;;
down)
	[ $# -eq 1 ] || usage
	check_name "$1"
	[ "$(id -u)" -eq 0 ] || fail "must run as root"
	down "$1"
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
