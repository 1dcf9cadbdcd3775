#!/bin/sh
#
# demo.sh - udp-over-tcp in fixed mode on 127.0.0.1, end to end:
#
#   udp-probe ping -> connect side ==TCP==> listen side -> udp-probe echo
#   (client)       <-              <=====              <-  (server)
#
# Run by 'make demo', which sets UOT_BINARY and UOT_PROBE. Exits with the
# status of the pings: 0 when every datagram came back whole.

set -u

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
: "${UOT_PROBE:?set UOT_PROBE to the udp-probe binary}"

dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-demo.XXXXXX") || exit 1
pids=

# On any exit: stop every process started here, remove the logs.
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	status=$?
	for pid in $pids; do kill "$pid" 2>/dev/null; done
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for FILE TEXT PID: until FILE holds TEXT, for at most 10 seconds,
# and only while process PID, which writes FILE, is alive.
wait_for() {
	tries=0
	until grep -F -q -e "$2" "$1" 2>/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ] || ! kill -0 "$3" 2>/dev/null; then
			grep -F -q -e "$2" "$1" 2>/dev/null && return 0
			echo "demo: no \"$2\" in $(basename "$1"); it says:" >&2
			sed 's/^/    /' "$1" >&2
			exit 1
		fi
		sleep 0.1 2>/dev/null || sleep 1
	done
}

lo=127.0.0.1
tcp=$("$UOT_PROBE" freeport tcp) || exit 1
# shellcheck disable=SC2046 # three words, split on purpose
set -- $("$UOT_PROBE" freeport udp 3)
[ "$#" -eq 3 ] || exit 1
listen_udp=$1 connect_udp=$2 client=$3

"$UOT_PROBE" echo -b "$lo:0" >"$dir/echo.log" 2>&1 &
echo_pid=$!
pids="$pids $echo_pid"
wait_for "$dir/echo.log" "echo listening on" "$echo_pid"
server=$(sed -n 's/^echo listening on //p' "$dir/echo.log")

"$UOT_BINARY" --tcp-listen "$lo:$tcp" --udp-bind "$lo:$listen_udp" \
    --udp-sendto "$server" 2>"$dir/listen.log" &
listen_pid=$!
pids="$pids $listen_pid"
"$UOT_BINARY" --tcp-connect "$lo:$tcp" --udp-bind "$lo:$connect_udp" \
    --udp-sendto "$lo:$client" --backoff-min 20 --backoff-max 200 \
    2>"$dir/connect.log" &
connect_pid=$!
pids="$pids $connect_pid"

echo "udp-over-tcp demo, fixed mode on $lo"
echo "  client        $lo:$client, sends to the connect side"
echo "  connect side  UDP $lo:$connect_udp, TCP to $lo:$tcp"
echo "  listen side   TCP $lo:$tcp, UDP $lo:$listen_udp, sends to the server"
echo "  echo server   $server"
wait_for "$dir/connect.log" "-> up" "$connect_pid"
wait_for "$dir/listen.log" "-> up" "$listen_pid"
echo "Both ends are up. 20 datagrams of each size, client to server and back:"

result=0
for size in 64 1200 8000; do
	"$UOT_PROBE" ping -b "$lo:$client" -n 20 -s "$size" \
	    "$lo:$connect_udp" >"$dir/ping.log" 2>&1 || result=1
	awk -v size="$size" '
	/^total:/ {
		for (i = 1; i < NF; i++)
			v[$i] = $(i + 1)
		line = sprintf("  %5d bytes: %d sent, %d back whole", size,
		    v["sent"], v["received"])
		if (v["lost"] > 0)
			line = line sprintf(", %d lost", v["lost"])
		bad = v["corrupted"] + v["misrouted"] + v["late"]
		if (bad > 0)
			line = line sprintf(", %d damaged, misrouted or late",
			    bad)
		if (v["received"] > 0)
			line = line sprintf("; round trip median %s us," \
			    " %s..%s us", v["p50"], v["min"], v["max"])
		print line
		found = 1
	}
	END { if (!found) exit 1 }' "$dir/ping.log" ||
	    sed 's/^/    /' "$dir/ping.log"
done

# The echo server says on exit how much it saw: that is what went through.
kill "$echo_pid" 2>/dev/null
wait "$echo_pid" 2>/dev/null
sed -n 's/^echo: \([0-9]*\) datagrams (\([0-9]*\) bytes).*/\1 \2/p' \
    "$dir/echo.log" | while read -r count bytes; do
	echo "The echo server received and returned $count datagrams" \
	    "($bytes bytes)."
done

if [ "$result" -eq 0 ]; then
	echo "Every datagram made the round trip whole."
else
	echo "Some datagrams did not come back whole; the logs:"
	for f in listen connect; do
		echo "  $f side:"
		sed 's/^/    /' "$dir/$f.log"
	done
fi
exit "$result"
