#!/bin/sh
#
# e2e_deadpeer.sh - a peer that vanishes without a word is noticed.
#
# Two network namespaces of our own, joined by a veth pair:
#
#   ns A (listen side)  veth A 169.254.213.1/30 === veth B 169.254.213.2/30
#                                                  ns B (connect side)
#
# Both ends run with --keepalive 4 -v. Once the link is up, the listen
# side's veth end is set down: no FIN, no RST, nothing more reaches the
# connect side. It must log "up -> backoff" within the keepalive budget
# (4 s) plus a margin (10 s in all). The listen side must drop its
# vanished peer within the same bound, and once the wire is mended the
# connect side must come back by itself.
#
# The addresses never leave the two namespaces; an EXIT trap kills every
# process and deletes both. Needs root and ip(8) with netns support:
# exit 77 (SKIP) otherwise.
#
# Finds the binary through $UOT_BINARY; with $UOT_PROBE (udp-probe),
# datagrams are also sent through the tunnel before the cut and after
# the mend, and must all come back.

set -u

KEEPALIVE=4
BOUND_MS=10000

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
if [ ! -x "$UOT_BINARY" ]; then
	echo "e2e_deadpeer: $UOT_BINARY is not executable" >&2
	exit 99
fi
# Without TCP_USER_TIMEOUT (a system that lacks it, or a build made with
# --disable-tcp-user-timeout) keepalive alone guards the link, and TCP
# sends no keepalive probe while sent data waits for its ACK: such data
# is bounded only by the system's retransmission timeout, minutes (the
# manual says so under --keepalive).  The last datagrams before the cut
# may still be unacknowledged (a delayed ACK), so in such a build the
# cut waits until neither end has anything in flight: what is tested is
# then what keepalive alone promises, on both sides.
case $("$UOT_BINARY" --version 2>/dev/null) in
*TCP_USER_TIMEOUT*) user_timeout=yes ;;
*) user_timeout=no ;;
esac
if [ "$(id -u 2>/dev/null)" != 0 ]; then
	echo "e2e_deadpeer: SKIP: needs root for network namespaces"
	exit 77
fi
if ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	echo "e2e_deadpeer: SKIP: no 'ip netns' here"
	exit 77
fi

nsl="uot-dp-l-$$"
nsc="uot-dp-c-$$"
vl="uotl$$"
vc="uotc$$"
al=169.254.213.1
ac=169.254.213.2
dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-deadpeer.XXXXXX") || exit 99
pids=
made=

# On any exit: every process started here, then both namespaces.
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	status=$?
	trap - EXIT
	for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	for ns in $made; do
		# Nothing started here may outlive its namespace.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns delete "$ns" 2>/dev/null
	done
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail() {
	echo "e2e_deadpeer: FAIL: $*" >&2
	for f in listen connect probe; do
		[ -f "$dir/$f.log" ] || continue
		echo "---- $f ----" >&2
		cat "$dir/$f.log" >&2
	done
	exit 1
}

# Milliseconds from some fixed point; seconds * 1000 without %N.
now_ms() {
	t=$(date +%s%N 2>/dev/null)
	case $t in
	*N*|'') echo $(($(date +%s) * 1000)) ;;
	*) echo $((t / 1000000)) ;;
	esac
}

nap() {
	sleep 0.05 2>/dev/null || sleep 1
}

# wait_for FILE TEXT PID MS: until FILE holds TEXT (fixed string), for at
# most MS ms, and only while process PID, which writes FILE, is alive.
wait_for() {
	deadline=$(($(now_ms) + $4))
	until grep -F -q -e "$2" "$1" 2>/dev/null; do
		if [ "$(now_ms)" -ge "$deadline" ] ||
		    ! kill -0 "$3" 2>/dev/null; then
			grep -F -q -e "$2" "$1" 2>/dev/null && return 0
			return 1
		fi
		nap
	done
}

# count FILE TEXT: how many lines of FILE hold TEXT (fixed string).
count() {
	grep -F -c -e "$2" "$1" 2>/dev/null || true
}

# wait_count FILE TEXT N PID MS: as wait_for, until N lines hold TEXT.
wait_count() {
	deadline=$(($(now_ms) + $5))
	until [ "$(count "$1" "$2")" -ge "$3" ]; do
		if [ "$(now_ms)" -ge "$deadline" ] ||
		    ! kill -0 "$4" 2>/dev/null; then
			[ "$(count "$1" "$2")" -ge "$3" ]
			return
		fi
		nap
	done
}

# ping_through: a few datagrams through the tunnel and back, when
# udp-probe is at hand (an echo server behind the listen side, the
# client in front of the connect side).
ping_through() {
	[ -n "$epid" ] || return 0
	ip netns exec "$nsc" "$UOT_PROBE" ping -b "127.0.0.1:$client" \
	    -n 5 -s 200 -w 3000 "127.0.0.1:$cu" >"$dir/probe.log" 2>&1 ||
	    fail "datagrams did not make the round trip through the tunnel" \
	        "($1)"
	echo "e2e_deadpeer: $1: $(grep '^total:' "$dir/probe.log")"
}

# wait_idle MS: until no TCP connection in either namespace has sent
# data not yet acknowledged (Send-Q 0), for at most MS ms.
wait_idle() {
	if ! command -v ss >/dev/null 2>&1; then
		sleep 1
		return 0
	fi
	deadline=$(($(now_ms) + $1))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		busy=0
		for ns in "$nsl" "$nsc"; do
			ip netns exec "$ns" ss -Htn state established 2>/dev/null |
			    awk '$2 != 0 { n++ } END { exit n > 0 }' || busy=1
		done
		[ "$busy" -eq 0 ] && return 0
		nap
	done
	return 1
}

# Two namespaces and a veth pair between them, made in ns A and moved.
ip netns add "$nsl" || fail "ip netns add $nsl"
made="$nsl"
ip netns add "$nsc" || fail "ip netns add $nsc"
made="$made $nsc"
ip -n "$nsl" link add "$vl" type veth peer name "$vc" netns "$nsc" ||
    fail "cannot make a veth pair"
ip -n "$nsl" addr add "$al/30" dev "$vl" || fail "ip addr $vl"
ip -n "$nsc" addr add "$ac/30" dev "$vc" || fail "ip addr $vc"
for ns in "$nsl" "$nsc"; do
	ip -n "$ns" link set lo up || fail "lo up in $ns"
done
ip -n "$nsl" link set "$vl" up || fail "$vl up"
ip -n "$nsc" link set "$vc" up || fail "$vc up"

# Any ports do: the namespaces are ours alone.
tcp=7878
lu=40001
cu=40002
server=40003
client=40004

ip netns exec "$nsl" "$UOT_BINARY" --tcp-listen "$al:$tcp" \
    --udp-bind "127.0.0.1:$lu" --udp-sendto "127.0.0.1:$server" \
    --keepalive "$KEEPALIVE" -v 2>"$dir/listen.log" &
lpid=$!
pids="$pids $lpid"
wait_for "$dir/listen.log" "listening on" "$lpid" 15000 ||
    fail "the listen side did not say \"listening on\""

ip netns exec "$nsc" "$UOT_BINARY" --tcp-connect "$al:$tcp" \
    --udp-bind "127.0.0.1:$cu" --udp-sendto "127.0.0.1:$client" \
    --keepalive "$KEEPALIVE" --backoff-min 100 --backoff-max 1000 \
    -v 2>"$dir/connect.log" &
cpid=$!
pids="$pids $cpid"
wait_for "$dir/connect.log" "-> up" "$cpid" 15000 ||
    fail "the connect side did not come up over the veth pair"
wait_for "$dir/listen.log" "-> up" "$lpid" 15000 ||
    fail "the listen side did not log its peer up"

epid=
if [ -n "${UOT_PROBE:-}" ] && [ -x "$UOT_PROBE" ]; then
	ip netns exec "$nsl" "$UOT_PROBE" echo -b "127.0.0.1:$server" \
	    >"$dir/echo.log" 2>&1 &
	epid=$!
	pids="$pids $epid"
	wait_for "$dir/echo.log" "echo listening on" "$epid" 15000 ||
	    fail "udp-probe echo did not start"
fi
ping_through "before the cut"
if [ "$user_timeout" = no ]; then
	wait_idle 5000 || fail "data still unacknowledged 5000 ms after" \
	    "the last datagram, before the cut"
	echo "e2e_deadpeer: no TCP_USER_TIMEOUT in this build: keepalive" \
	    "alone; the cut waited until nothing was in flight"
fi

# Cut the wire at the listen side's end: the connect side hears nothing.
cut=$(now_ms)
ip -n "$nsl" link set "$vl" down || fail "cannot set $vl down"
if ! wait_for "$dir/connect.log" "up -> backoff" "$cpid" \
    $((BOUND_MS + 5000)); then
	fail "the connect side did not drop the link within" \
	    "$((BOUND_MS + 5000)) ms of the cut (--keepalive $KEEPALIVE)"
fi
took=$(($(now_ms) - cut))
line=$(grep -F -m 1 -e "up -> backoff" "$dir/connect.log")
echo "e2e_deadpeer: link dropped $took ms after the cut" \
    "(--keepalive $KEEPALIVE, bound $BOUND_MS ms): $line"
[ "$took" -le "$BOUND_MS" ] ||
    fail "$took ms to notice the dead peer, over $BOUND_MS ms"
kill -0 "$cpid" 2>/dev/null || fail "the connect side exited"

# The listen side has the same budget for its silent peer.
if wait_for "$dir/listen.log" "up -> " "$lpid" $((BOUND_MS + 5000)); then
	ltook=$(($(now_ms) - cut))
	line=$(grep -F -m 1 -e "up -> " "$dir/listen.log")
	echo "e2e_deadpeer: the listen side dropped its peer by $ltook ms" \
	    "after the cut: $line"
else
	fail "the listen side kept its vanished peer for over" \
	    "$((BOUND_MS + 5000)) ms (--keepalive $KEEPALIVE)"
fi
[ "$ltook" -le "$BOUND_MS" ] ||
    fail "the listen side took $ltook ms to drop its vanished peer"

# The wire mended, the connect side comes back by itself.
ip -n "$nsl" link set "$vl" up || fail "cannot set $vl up again"
mended=$(now_ms)
wait_count "$dir/connect.log" "-> up" 2 "$cpid" 15000 ||
    fail "the connect side did not come up again after the wire was mended"
echo "e2e_deadpeer: up again $(($(now_ms) - mended)) ms after the wire" \
    "was mended"
ping_through "after the wire was mended"
kill -0 "$lpid" 2>/dev/null || fail "the listen side exited"
exit 0
