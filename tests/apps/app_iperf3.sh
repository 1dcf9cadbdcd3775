#!/bin/sh
#
# app_iperf3.sh - iperf3 -u at a fixed rate through a fixed-mode tunnel,
# against the same run straight to the server.
#
# iperf3 sends its UDP test traffic to the port of its TCP control
# connection, on the same host. The tunnel carries UDP only, so the two
# are split by address: the server is on 127.0.0.1:P; the client aims at
# 127.0.0.2:P, where the tunnel's connect side takes the UDP and socat
# passes the TCP control connection on to 127.0.0.1:P unchanged. (A
# second loopback address needs no setup on Linux; socat is a small
# Debian package and a plain TCP relay is all it does here.)
#
#   iperf3 -c 127.0.0.2 -p P -B 127.0.0.1 --cport C
#     TCP -> socat 127.0.0.2:P -> iperf3 -s 127.0.0.1:P
#     UDP -> connect side -u 127.0.0.2:P -p 127.0.0.1:C
#            == TCP 127.0.0.1:T ==
#            listen side -u 127.0.0.1:L -p 127.0.0.1:P -> iperf3 -s
#
# The client's UDP port is fixed (--cport) because in fixed mode the
# connect side sends the server's replies to one address (-p).
#
# Prints direct and tunnel side by side (throughput, loss, jitter, as
# the server measured them) and fails unless the tunnel run delivered
# datagrams, through the tunnel, with at most MAX_LOSS % lost.
#
# Environment: UOT_BINARY, UOT_PROBE (set by make check); IPERF_RATE,
# IPERF_SECONDS and IPERF_LEN override the load.

set -eu

here=$(dirname "$0")
# shellcheck source=tests/apps/lib.sh
. "$here/lib.sh"
app_init app_iperf3
# Elsewhere 127.0.0.2 is not on the loopback interface unless added.
if [ "$(uname -s)" != Linux ]; then
	echo "$app: SKIP: needs 127.0.0.2 on loopback (Linux)"
	exit 77
fi
need iperf3 socat

RATE=${IPERF_RATE:-20M}
SECS=${IPERF_SECONDS:-3}
LEN=${IPERF_LEN:-1200}
MAX_LOSS=1

# P must be free for UDP and TCP alike; the others are UDP or TCP only.
P=$(freeports both 1)
# shellcheck disable=SC2046
set -- $(freeports udp 2)
L=$1 C=$2
T=$(freeports tcp 1)

# --forceflush: the "listening" line must reach the log at once.
start server iperf3 -s -B 127.0.0.1 -p "$P" --forceflush
wait_log server "Server listening on $P"
start relay socat -d -d "TCP-LISTEN:$P,bind=127.0.0.2,reuseaddr,fork" \
    "TCP:127.0.0.1:$P"
wait_log relay "listening on"
start listen "$UOT_BINARY" -l "127.0.0.1:$T" -u "127.0.0.1:$L" \
    -p "127.0.0.1:$P"
wait_log listen "listening on"
start connect "$UOT_BINARY" -t "127.0.0.1:$T" -u "127.0.0.2:$P" \
    -p "127.0.0.1:$C"
wait_log connect "-> up"
wait_log listen "-> up"

# run NAME HOST ARGS...: one client run, its JSON in $dir/NAME.json.
run() {
	n=$1 host=$2
	shift 2
	# The client's own limit (--connect-timeout) plus timeout(1), so a
	# lost control message cannot hang the test.
	if ! timeout $((SECS + 60)) iperf3 -c "$host" -p "$P" -u -b "$RATE" \
	    -l "$LEN" -t "$SECS" --connect-timeout 10000 --json "$@" \
	    >"$dir/$n.json" 2>"$dir/$n.err"; then
		cat "$dir/$n.json" "$dir/$n.err" >&2
		fail "iperf3 $n run failed"
	fi
}

# field NAME KEY: KEY of the "sum_received" object (the server's view:
# what arrived, how much was lost, the jitter) of run NAME. Plain awk on
# iperf3's one-key-a-line JSON, so no JSON tool is needed.
field() {
	awk -v key="\"$2\":" '
		/"sum_received":/ { in_sum = 1; next }
		in_sum && /}/ { exit }
		in_sum && $1 == key { v = $2; sub(/,$/, "", v); print v; exit }
	' "$dir/$1.json"
}

run direct 127.0.0.1
run tunnel 127.0.0.2 -B 127.0.0.1 --cport "$C"
through=$(stats connect)

echo "$app: iperf3 -u -b $RATE -l $LEN -t $SECS"
printf '%-8s %12s %10s %10s %8s %11s\n' run Mbit/s packets lost loss% jitter_ms
for n in direct tunnel; do
	pk=$(field $n packets)
	[ -n "$pk" ] || fail "no sum_received in the $n run's JSON"
	printf '%-8s %12.2f %10d %10d %8.3f %11.4f\n' $n \
	    "$(awk -v b="$(field $n bits_per_second)" 'BEGIN { print b / 1e6 }')" \
	    "$pk" "$(field $n lost_packets)" "$(field $n lost_percent)" \
	    "$(field $n jitter_ms)"
done
echo "$app: connect side: $through"

# The assertions: datagrams arrived, through the tunnel, and few were lost.
pk=$(field tunnel packets)
lost=$(field tunnel lost_packets)
got=$((pk - lost))
[ "$got" -gt 0 ] || fail "no datagram reached the server through the tunnel"
in=$(counter "$through" "udp in")
[ "${in:-0}" -ge "$got" ] ||
    fail "the connect side took in ${in:-?} datagrams, the server got $got:" \
        "they did not all go through the tunnel"
awk -v l="$(field tunnel lost_percent)" -v m=$MAX_LOSS \
    'BEGIN { exit !(l <= m) }' ||
    fail "the tunnel lost $(field tunnel lost_percent) % (at most $MAX_LOSS %)"
echo "$app: ok: $got of $pk datagrams through the tunnel," \
    "$(field tunnel lost_percent) % lost"
