#!/bin/sh
#
# e2e_linklocal.sh - auto mode answers a link-local IPv6 client (issue
# 11, defect 3). The connect side's client at fe80::1%d0 got its flow,
# but the reply frame's address carries no scope id, so the reply was
# looked up without one and dropped as "no flow".
#
# Everything runs in a network namespace of its own with a veth pair
# d0-d1, d0 holding fe80::1 (lo has no link-local address): an echo
# server on [::1], the listen side in auto mode, the connect side bound
# on [::] with -p [::1]:auto, and a client bound at [fe80::1%d0] that
# pings it. Nothing leaves the namespace, which is deleted at the end.
# Needs Linux, root and ip(8): exit 77 (SKIP) otherwise, but under
# CI=true a missing one is a failure.

set -u

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
: "${UOT_PROBE:?set UOT_PROBE to the udp-probe binary}"

skip() {
	if [ "${CI:-}" = true ]; then
		echo "e2e_linklocal: $*" >&2
		exit 1
	fi
	echo "e2e_linklocal: SKIP: $*"
	exit 77
}

[ "$(uname -s)" = Linux ] || skip "needs Linux network namespaces"
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"

ns=uot-ll-$$
dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-linklocal.XXXXXX") || exit 99
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	status=$?
	trap - EXIT
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	ip netns delete "$ns" 2>/dev/null
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM

fail() {
	echo "e2e_linklocal: FAIL: $*" >&2
	for f in "$dir"/*.err "$dir"/*.out; do
		[ -s "$f" ] && sed "s|^|  [$(basename "$f")] |" "$f" >&2
	done
	exit 1
}

# wait_log FILE PATTERN: until FILE has it (30 s at most).
wait_log() {
	i=0
	while [ $i -lt 600 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "no '$2' in $(basename "$1")"
}

ip netns add "$ns" || skip "cannot create a network namespace"
run() {
	ip netns exec "$ns" "$@"
}
run ip link set lo up || fail "lo up"
run ip link add d0 type veth peer name d1 || fail "no veth pair"
run ip link set d0 up || fail "d0 up"
run ip link set d1 up || fail "d1 up"
run ip -6 addr add fe80::1/64 dev d0 nodad || fail "no fe80::1 on d0"

# Fresh namespace: these ports are free.
run "$UOT_PROBE" echo -b "[::1]:7001" >"$dir/echo.out" 2>"$dir/echo.err" &
run "$UOT_BINARY" --tcp-listen "[::1]:7000" --udp-bind auto \
    --udp-sendto "[::1]:7001" 2>"$dir/listen.err" &
wait_log "$dir/listen.err" "listening on"
run "$UOT_BINARY" --tcp-connect "[::1]:7000" --udp-bind "[::]:7002" \
    --udp-sendto "[::1]:auto" -v 2>"$dir/connect.err" &
wait_log "$dir/connect.err" "-> up"
wait_log "$dir/echo.out" "echo listening on"

run "$UOT_PROBE" ping -b "[fe80::1%d0]:0" -n 5 -s 64 -w 2000 \
    "[fe80::1%d0]:7002" >"$dir/ping.out" 2>"$dir/ping.err" ||
    fail "the ping failed"
grep -q "received 5 lost 0" "$dir/ping.out" ||
    fail "the link-local client did not get its 5 replies"
echo "e2e_linklocal: $(grep -o 'sent [0-9]* received [0-9]* lost [0-9]*' \
    "$dir/ping.out" | head -n 1) (client at fe80::1%d0)"
