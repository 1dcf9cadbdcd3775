#!/bin/sh
#
# e2e_sockbuf.sh - --udp-buffer and --tcp-buffer reach the sockets.
#
# Reads the buffer sizes the kernel holds for each socket with
# 'ss -m' (skmem rb/tb). Linux reports twice the size set (its own
# bookkeeping), and caps what is set at net.core.rmem_max/wmem_max.
#
#   listen side  --udp-buffer 65536 --tcp-buffer 131072: its UDP socket
#                and its accepted TCP connection hold those sizes
#   connect side --udp-buffer 0: its UDP socket keeps rmem_default
#   a side with no option: 1 MiB (as far as rmem_max allows)
#   a side asking for more than rmem_max: capped, and says so once
#
# Datagrams go through the pair too, so the sizes are those of a
# working tunnel. Needs Linux and ss(8) (iproute2): exit 77 (SKIP)
# otherwise, but under CI=true a missing ss is a failure.

set -u

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
: "${UOT_PROBE:?set UOT_PROBE to the udp-probe binary}"
if [ "$(uname -s)" != Linux ]; then
	echo "e2e_sockbuf: SKIP: reads Linux socket memory with ss"
	exit 77
fi
if ! command -v ss >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "e2e_sockbuf: ss (iproute2) is not installed" >&2
		exit 1
	fi
	echo "e2e_sockbuf: SKIP: ss (iproute2) is not installed"
	exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-sockbuf.XXXXXX") || exit 99
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
	echo "e2e_sockbuf: FAIL: $*" >&2
	for f in "$dir"/*.err; do
		[ -s "$f" ] && sed "s|^|  [$(basename "$f" .err)] |" "$f" >&2
	done
	exit 1
}

# skmem FIELD PROTO FILTER: one field (rb, tb) of the one socket matched.
skmem() {
	ss -H -n -m "-$2" -a "$3" 2>/dev/null |
	    sed -n "s/.*skmem:(.*[(,]$1\([0-9]*\).*/\1/p" | head -n 1
}

# wait_for PROTO FILTER: until ss shows that socket (10 s at most).
wait_for() {
	i=0
	while [ $i -lt 200 ]; do
		[ -n "$(skmem rb "$1" "$2")" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "no $1 socket matching '$2'"
}

rmem_max=$(cat /proc/sys/net/core/rmem_max)
wmem_max=$(cat /proc/sys/net/core/wmem_max)
rmem_default=$(cat /proc/sys/net/core/rmem_default)
cap=$rmem_max
[ "$wmem_max" -lt "$cap" ] && cap=$wmem_max

# shellcheck disable=SC2046 # one port per word
set -- $("$UOT_PROBE" freeport udp 6)
echo_port=$1 lu=$2 cu=$3 client=$4 du=$5 bu=$6
tcp=$("$UOT_PROBE" freeport tcp 1)
closed=$("$UOT_PROBE" freeport tcp 1)

"$UOT_PROBE" echo -b "127.0.0.1:$echo_port" >"$dir/echo.out" 2>&1 &
pids="$pids $!"
"$UOT_BINARY" -l "127.0.0.1:$tcp" -u "127.0.0.1:$lu" \
    -p "127.0.0.1:$echo_port" --udp-buffer 65536 --tcp-buffer 131072 \
    2>"$dir/listen.err" &
pids="$pids $!"
wait_for t "sport = :$tcp"
"$UOT_BINARY" -t "127.0.0.1:$tcp" -u "127.0.0.1:$cu" \
    -p "127.0.0.1:$client" --udp-buffer 0 2>"$dir/connect.err" &
pids="$pids $!"
wait_for u "sport = :$echo_port"
wait_for u "sport = :$cu"

# Datagrams through: the link is up and both ends work.
"$UOT_PROBE" ping -b "127.0.0.1:$client" -n 50 -s 1200 -w 5000 \
    "127.0.0.1:$cu" >"$dir/ping.out" 2>&1 || fail "ping: $(cat "$dir/ping.out")"
grep -q '^total:.* received 50 lost 0 ' "$dir/ping.out" ||
    fail "datagrams lost: $(tail -n 1 "$dir/ping.out")"

check() {	# what got expected
	[ "$2" = "$3" ] || fail "$1: $2 bytes, expected $3"
	echo "e2e_sockbuf: $1: $2 bytes"
}
check "listen side UDP rb (--udp-buffer 65536)" \
    "$(skmem rb u "sport = :$lu")" $((2 * 65536))
check "listen side UDP tb (--udp-buffer 65536)" \
    "$(skmem tb u "sport = :$lu")" $((2 * 65536))
check "listen side TCP rb (--tcp-buffer 131072)" \
    "$(skmem rb t "sport = :$tcp and dport != :0")" $((2 * 131072))
check "listen side TCP tb (--tcp-buffer 131072)" \
    "$(skmem tb t "sport = :$tcp and dport != :0")" $((2 * 131072))
check "connect side UDP rb (--udp-buffer 0)" \
    "$(skmem rb u "sport = :$cu")" "$rmem_default"

# No option: 1 MiB, within the system's cap and silently so.
want=1048576
[ "$cap" -lt "$want" ] && want=$cap
"$UOT_BINARY" -t "127.0.0.1:$closed" -u "127.0.0.1:$du" \
    -p "127.0.0.1:$client" 2>"$dir/default.err" &
pids="$pids $!"
wait_for u "sport = :$du"
check "default UDP rb" "$(skmem rb u "sport = :$du")" $((2 * want))
grep -q -- '--udp-buffer' "$dir/default.err" &&
    fail "the default size was reported as capped"

# More than the system allows: capped, and one line says so.
big=$((cap * 4))
"$UOT_BINARY" -t "127.0.0.1:$closed" -u "127.0.0.1:$bu" \
    -p "127.0.0.1:$client" --udp-buffer "$big" 2>"$dir/big.err" &
pids="$pids $!"
wait_for u "sport = :$bu"
check "capped UDP rb (--udp-buffer $big)" "$(skmem rb u "sport = :$bu")" \
    $((2 * cap))
n=$(grep -c -- "--udp-buffer $big: the system allows only $cap bytes" \
    "$dir/big.err")
[ "$n" = 1 ] || fail "expected one line about the capped size, got $n"
echo "e2e_sockbuf: PASS"
