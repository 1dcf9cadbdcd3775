#!/bin/sh
#
# e2e_resolve.sh - a connect side stopped while it is still looking up
# the --tcp-connect host name exits 0, and leaves nothing behind: under
# the sanitizer and valgrind runs of .ci/run, a lookup still in flight
# at exit was reported as leaked and turned the exit status into 1
# (issue 11, defect 5). The lookup is the system resolver's, in a thread
# of its own (resolve.c), which the shutdown abandons.
#
# The lookup must hang, on this machine alone: the binary runs in a
# mount namespace of its own whose /etc/resolv.conf names 127.0.0.77,
# where a socat takes the query and never answers. Nothing leaves
# loopback. Needs Linux, root, unshare(1) and socat: exit 77 (SKIP)
# otherwise, but under CI=true a missing one is a failure.

set -u

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
: "${UOT_PROBE:?set UOT_PROBE to the udp-probe binary}"

skip() {
	if [ "${CI:-}" = true ]; then
		echo "e2e_resolve: $*" >&2
		exit 1
	fi
	echo "e2e_resolve: SKIP: $*"
	exit 77
}

[ "$(uname -s)" = Linux ] || skip "needs Linux mount namespaces"
[ "$(id -u)" -eq 0 ] || skip "needs root for a mount namespace"
command -v unshare >/dev/null 2>&1 || skip "unshare is not installed"
command -v socat >/dev/null 2>&1 || skip "socat is not installed"

dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-resolve.XXXXXX") || exit 99
pids=
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	status=$?
	trap - EXIT
	for pid in $pids; do kill "$pid" 2>/dev/null; done
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM

fail() {
	echo "e2e_resolve: FAIL: $*" >&2
	[ -s "$dir/uot.err" ] && sed 's|^|  [connect] |' "$dir/uot.err" >&2
	exit 1
}

# wait_log PATTERN: until the binary's log has it (30 s at most).
wait_log() {
	i=0
	while [ $i -lt 600 ]; do
		grep -q -- "$1" "$dir/uot.err" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "no '$1' in the log"
}

# A name server that takes every query and answers none.
socat -u UDP4-RECV:53,bind=127.0.0.77,reuseaddr /dev/null \
    2>"$dir/socat.err" &
pids="$pids $!"
echo "nameserver 127.0.0.77" >"$dir/resolv.conf"
# Only once it is bound: a query before that is refused at once, and
# the lookup fails instead of hanging (seen under make -j2 distcheck).
command -v ss >/dev/null 2>&1 || skip "ss(8) is not installed (iproute2)"
i=0
until ss -Hlun 2>/dev/null | grep -q '127\.0\.0\.77:53 '; do
	[ $i -lt 200 ] || fail "socat did not bind 127.0.0.77:53: $(cat \
	    "$dir/socat.err")"
	sleep 0.05
	i=$((i + 1))
done

# shellcheck disable=SC2046 # two port numbers, split on purpose
set -- $("$UOT_PROBE" freeport udp 2) || fail "no free ports"
[ $# -eq 2 ] || fail "no free ports"
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
    sh "$dir/resolv.conf" "$UOT_BINARY" --tcp-connect uot-test.invalid:7 \
    --udp-bind "127.0.0.1:$1" --udp-sendto "127.0.0.1:$2" -v \
    2>"$dir/uot.err" &
uot=$!
pids="$pids $uot"
wait_log "-> resolving"
# Still resolving: the query went to the silent server.
grep -q -- "resolving ->" "$dir/uot.err" &&
    fail "the lookup did not hang: the name server answered"

kill -TERM "$uot"
wait "$uot"
rc=$?
pids=${pids% "$uot"}
[ "$rc" -eq 0 ] ||
    fail "stopped while resolving, it exited $rc, not 0"
grep -q "shutting down" "$dir/uot.err" || fail "no 'shutting down' line"
echo "e2e_resolve: stopped while resolving: exit 0"
