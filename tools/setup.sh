#!/usr/bin/env bash
# Prepare this machine (Debian 12) for building, running and testing tas,
# then build it.  Idempotent: run it as often as you like.
#
#   sudo tools/setup.sh
#
# As root it installs the packages below, reserves hugepages and mounts
# hugetlbfs; as another user it only checks the packages and builds.
set -euo pipefail

# Everything tas needs to build, run and test, in one place.
PACKAGES=(
	build-essential meson ninja-build pkg-config
	libdpdk-dev dpdk libnuma-dev libcmocka-dev
	iproute2 ethtool nftables iputils-ping procps python3 python3-scapy libpcap0.8
	# Unmodified programs the shim's integration tests run (prog_*.py).
	nginx-light lighttpd redis-server redis-tools memcached libmemcached-tools
	iperf3 sockperf wrk apache2-utils curl netcat-openbsd
)
# Debian starts and enables these packages' system services on install.  The
# tests run their own instances (own configuration, ports, work directories)
# and never need these, so they are not started, and are disabled.
declare -A SERVICE_OF_PACKAGE=(
	[nginx-light]=nginx [lighttpd]=lighttpd [redis-server]=redis-server
	[memcached]=memcached [iperf3]=iperf3
)
POLICY_RC=/usr/sbin/policy-rc.d
HUGEPAGES_WANTED=256 # 2 MB pages: 512 MB
HUGEPAGES_SYSFS=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HUGEPAGES_MOUNT=/dev/hugepages
BUILD_DIR=build

cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

missing_packages() {
	local package
	for package in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
			grep -q 'install ok installed'; then
			printf '%s\n' "$package"
		fi
	done
}

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		say "packages: all ${#PACKAGES[@]} present"
		return
	fi
	if ! is_root; then
		say "packages missing: ${missing[*]} (run as root to install them)"
		exit 1
	fi
	say "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	without_service_starts apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
	disable_services "${missing[@]}"
}

# Run a command while no package may start a service: invoke-rc.d and
# deb-systemd-invoke ask policy-rc.d, and 101 means "no".  A policy already
# in place (containers have one) is left alone.
without_service_starts() {
	local rc=0
	if [ -e "$POLICY_RC" ]; then
		"$@"
		return
	fi
	trap 'rm -f "$POLICY_RC"' EXIT
	printf '#!/bin/sh\n# tools/setup.sh: no service starts while it installs packages\nexit 101\n' \
		>"$POLICY_RC"
	chmod 755 "$POLICY_RC"
	"$@" || rc=$?
	rm -f "$POLICY_RC"
	trap - EXIT
	return "$rc"
}

# Stop and disable the system services of the packages just installed.
disable_services() {
	local package service
	for package in "$@"; do
		service=${SERVICE_OF_PACKAGE[$package]:-}
		[ -n "$service" ] || continue
		if [ -d /run/systemd/system ]; then
			systemctl disable --now "$service.service" >/dev/null 2>&1 || true
		elif [ -x "/etc/init.d/$service" ]; then
			"/etc/init.d/$service" stop >/dev/null 2>&1 || true
			update-rc.d "$service" disable >/dev/null 2>&1 || true
		fi
		say "packages: system service $service stopped and disabled (the tests run their own)"
	done
}

# Hugepage files whose process is gone still hold their pages.
remove_stale_hugepage_files() {
	local file removed=0
	[ -d "$HUGEPAGES_MOUNT" ] || return 0
	for file in "$HUGEPAGES_MOUNT"/*map_*; do
		[ -e "$file" ] || continue
		if ! grep -qsF "$file" /proc/[0-9]*/maps; then
			rm -f -- "$file"
			removed=$((removed + 1))
		fi
	done
	say "hugepages: removed $removed stale file(s) from $HUGEPAGES_MOUNT"
}

mount_hugetlbfs() {
	if grep -qs " $HUGEPAGES_MOUNT hugetlbfs " /proc/mounts; then
		say "hugepages: hugetlbfs already mounted on $HUGEPAGES_MOUNT"
		return
	fi
	mkdir -p "$HUGEPAGES_MOUNT"
	if mount -t hugetlbfs nodev "$HUGEPAGES_MOUNT"; then
		say "hugepages: mounted hugetlbfs on $HUGEPAGES_MOUNT"
	else
		say "hugepages: cannot mount hugetlbfs (tas will use --no-huge)"
	fi
}

# The kernel may give fewer pages than asked (fragmented memory): tas then
# runs on ordinary memory, so this never fails.
reserve_hugepages() {
	local before after
	if [ ! -w "$HUGEPAGES_SYSFS" ]; then
		say "hugepages: $HUGEPAGES_SYSFS not writable (tas will use --no-huge)"
		return
	fi
	before=$(cat "$HUGEPAGES_SYSFS")
	if [ "$before" -lt "$HUGEPAGES_WANTED" ]; then
		echo "$HUGEPAGES_WANTED" >"$HUGEPAGES_SYSFS" 2>/dev/null || true
	fi
	after=$(cat "$HUGEPAGES_SYSFS")
	say "hugepages: $after x 2 MB reserved (was $before, wanted $HUGEPAGES_WANTED)"
}

build() {
	if [ -f "$BUILD_DIR/build.ninja" ]; then
		say "build: reconfiguring $BUILD_DIR/"
		meson setup --reconfigure "$BUILD_DIR" >/dev/null
	else
		say "build: configuring $BUILD_DIR/"
		rm -rf "$BUILD_DIR"
		meson setup "$BUILD_DIR" >/dev/null
	fi
	ninja -C "$BUILD_DIR"
	say "build: done ($BUILD_DIR/slowpath/tas)"
}

install_packages
if is_root; then
	mount_hugetlbfs
	remove_stale_hugepage_files
	reserve_hugepages
else
	say "hugepages: not root, left as they are"
fi
build
