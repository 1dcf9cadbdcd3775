#!/bin/sh
#
# flows-rss.sh - peak memory of each tunnel end with many live flows.
#
# An auto-mode pair on loopback (listen side -u auto, connect side
# -p 127.0.0.1:auto) in front of udp-probe's echo server; FLOWS clients
# (default 10000, in processes of 1000) each send ROUNDS datagrams of
# 200 bytes, so FLOWS flows are live at once on both ends (the flow
# timeout is 600 s). Prints each end's VmHWM (peak resident memory)
# idle and after, the flows each end holds (from its SIGUSR1 counters)
# and its open descriptors. The kernel's socket buffers are not in
# VmHWM. A burst this wide overflows the connect side's one UDP socket
# (see --udp-buffer), so some first datagrams are lost before the
# tunnel sees them; what it took in, it delivered (compare udp in/out).
#
# usage: make -C tests bench-rss [FLOWS=N]   (Linux: reads /proc)
#
# Environment: UOT_BINARY, UOT_PROBE; FLOWS, ROUNDS.

set -eu

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
: "${UOT_PROBE:?set UOT_PROBE to the udp-probe binary}"
FLOWS=${FLOWS:-10000}
ROUNDS=${ROUNDS:-3}
procs=$(((FLOWS + 999) / 1000))

# Room for FLOWS flow sockets on the listen side, and the clients.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((FLOWS + 100)) ]; then
	echo "flows-rss: open-files limit $(ulimit -n) is below $((FLOWS + 100))" >&2
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-rss.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# shellcheck disable=SC2046 # one word a port
set -- $("$UOT_PROBE" freeport udp 2) $("$UOT_PROBE" freeport tcp 1)
echo_port=$1 client_port=$2 tcp=$3

"$UOT_PROBE" echo -b "127.0.0.1:$echo_port" >"$dir/echo.log" 2>&1 &
pids="$pids $!"
"$UOT_BINARY" -l "127.0.0.1:$tcp" -u auto -p "127.0.0.1:$echo_port" \
    --max-flows $((FLOWS + 1000)) 2>"$dir/listen.log" &
listen=$!
pids="$pids $listen"
"$UOT_BINARY" -t "127.0.0.1:$tcp" -u "127.0.0.1:$client_port" \
    -p 127.0.0.1:auto --max-flows $((FLOWS + 1000)) 2>"$dir/connect.log" &
connect=$!
pids="$pids $connect"
i=0
until grep -q -- '-> up' "$dir/connect.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 400 ] || { cat "$dir"/*.log >&2; exit 1; }
	sleep 0.05
done

vm() {	# PID FIELD
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
idle_l=$(vm $listen VmHWM) idle_c=$(vm $connect VmHWM)

left=$FLOWS
n=0
while [ $left -gt 0 ]; do
	c=$left
	[ $c -le 1000 ] || c=1000
	"$UOT_PROBE" ping -c $c -n "$ROUNDS" -s 200 -w 3000 \
	    "127.0.0.1:$client_port" >"$dir/ping.$n" 2>&1 &
	left=$((left - c))
	n=$((n + 1))
done
wait_pings() {
	for f in "$dir"/ping.*; do
		until grep -q '^total:' "$f" 2>/dev/null; do sleep 0.1; done
	done
}
wait_pings

stats() {	# PID LOG: the flows line and the link line of SIGUSR1
	before=$(grep -c 'stats' "$2" || true)
	kill -USR1 "$1"
	until [ "$(grep -c 'stats' "$2" || true)" -gt "$before" ] &&
	    grep 'stats flows' "$2" | tail -n 1 | grep -q .; do
		sleep 0.05
	done
	sleep 0.2
	grep 'stats flows' "$2" | tail -n 1 | sed 's/^udp-over-tcp: //'
}

echo "flows-rss: $FLOWS clients in $procs processes, $ROUNDS datagrams of 200 bytes each"
printf '%-8s %12s %12s %10s  %s\n' end "idle kB" "peak kB" descriptors counters
printf '%-8s %12s %12s %10s  %s\n' listen "$idle_l" "$(vm $listen VmHWM)" \
    "$(ls /proc/$listen/fd | wc -l)" "$(stats $listen "$dir/listen.log")"
printf '%-8s %12s %12s %10s  %s\n' connect "$idle_c" "$(vm $connect VmHWM)" \
    "$(ls /proc/$connect/fd | wc -l)" "$(stats $connect "$dir/connect.log")"
sent=$(cat "$dir"/ping.* | awk '/^total:/ { for (i = 1; i < NF; i++) { if ($i == "sent") s += $(i + 1); if ($i == "received") r += $(i + 1) } } END { print s + 0, r + 0 }')
echo "flows-rss: clients sent and received: $sent"
grep 'stats 127' "$dir/connect.log" | tail -n 1 | sed 's/^udp-over-tcp: /connect: /'
