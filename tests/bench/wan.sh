#!/bin/sh
#
# wan.sh - 'make bench-wan': what users see on a full path (issue 12).
#
# Two network namespaces of our own, joined by a veth pair whose two
# ends each send through tbf (RATE, 20mbit by default, with a short
# bottleneck queue: latency 5ms):
#
#   ns S: echo server, listen side   10.213.57.1/30 === 10.213.57.2/30
#                                           ns C: load, connect side
#
# The load (bench/wan-load.c) runs in C: a light flow (100-byte
# datagrams, 50/s) and bulk flows (1200-byte datagrams at a multiple of
# the link rate), each from its own socket, all echoed by udp-probe in S.
# Every workload runs twice in one invocation: straight across the link
# ("direct", UDP to 10.213.57.1) and through an auto-mode tunnel of
# $UOT_BINARY (listen side in S with --udp-bind auto, connect side in C
# with --udp-sendto 127.0.0.1:auto, TCP across the link), started fresh
# for each run. The workloads:
#
#   light         the light flow alone
#   bulk075       the light flow beside one bulk flow at 0.75x the link
#   bulk150       the light flow beside one bulk flow at 1.5x the link
#   two150        two bulk flows from two client sockets, 0.75x each
#                 (1.5x together): each one's goodput, Jain's index
#   uneven150     two bulk flows at 1.0x and 0.5x (1.5x together): a
#                 fair queue gives each half the link (index 1.0), a
#                 FIFO gives each its share of the offered load (0.9)
#   loss-*        bulk075, bulk150 and two150 (or uneven150) again,
#                 with LOSS% of the packets (1 by default) dropped at
#                 random as they leave each namespace (nftables numgen
#                 random); needs nft
#
# For each flow: datagrams sent, lost (no echo by the end of the drain
# time), RTT p50/p99/max in ms, and goodput (echoed payload received in
# the last 80% of the send window; it reads low when the queue delay is
# a good part of the run, so use a longer -d then) in Mbit/s.
# People-readable rows, then one JSON line per workload
# ({"bench":"wan",...,"tunnel":{...},"direct":{...}}).
#
# Usage (from tests/, after make):
#
#   make bench-wan [BENCH_WAN_ARGS='-r 4mbit -d 5 -w bulk150,two150']
#
#   -r RATE       tbf rate of each direction (tc units: 20mbit, 500kbit)
#   -d SECONDS    send time of each run (10; $BENCH_WAN_SECONDS too)
#   -D MS         drain time after sending (3000; 8000 below 10mbit,
#                 where today's tunnel queues for seconds: a reply later
#                 than this counts as lost)
#   -w LIST       workloads, comma-separated (all of the above)
#   -p PERCENT    random loss of the loss-* workloads (1; whole number)
#
# The default run takes about 3.5 minutes. Needs root, ip(8) with netns,
# tc with tbf: exits 77 (SKIP) with one line saying why otherwise. The
# addresses never leave the two namespaces; an EXIT trap kills every
# process started here and deletes the nftables tables and namespaces.
# Finds its programs through $UOT_BINARY, $UOT_PROBE and $UOT_WAN_LOAD.

set -u

rate=20mbit
secs=${BENCH_WAN_SECONDS:-10}
drain=
workloads=light,bulk075,bulk150,two150,uneven150,loss-bulk075,loss-bulk150,
workloads=${workloads}loss-two150
losspct=1

usage() {
	echo "usage: wan.sh [-r rate] [-d seconds] [-D drain-ms]" \
	    "[-w workload,...] [-p loss-percent]" >&2
	exit 2
}
while getopts r:d:D:w:p: opt; do
	case $opt in
	r) rate=$OPTARG ;;
	d) secs=$OPTARG ;;
	D) drain=$OPTARG ;;
	w) workloads=$OPTARG ;;
	p) losspct=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

isnum() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	return 0
}
bad() {
	echo "wan.sh: $*" >&2
	exit 2
}
if ! isnum "$secs" || [ "$secs" -lt 1 ] || [ "$secs" -gt 600 ]; then
	bad "bad duration (1 to 600 s): $secs"
fi
if [ -n "$drain" ] && { ! isnum "$drain" || [ "$drain" -gt 60000 ]; }; then
	bad "bad drain time (0 to 60000 ms): $drain"
fi
if ! isnum "$losspct" || [ "$losspct" -gt 100 ]; then
	bad "bad loss percentage: $losspct"
fi

# The rate in bit/s, for the flows' datagram rates.
r=$(echo "$rate" | tr '[:upper:]' '[:lower:]')
case $r in
*gbit) mult=1000000000; n=${r%gbit} ;;
*mbit) mult=1000000; n=${r%mbit} ;;
*kbit) mult=1000; n=${r%kbit} ;;
*bit) mult=1; n=${r%bit} ;;
*) mult=1; n=$r ;;
esac
isnum "$n" || bad "bad rate (e.g. 20mbit, 500kbit): $rate"
bps=$((n * mult))
[ "$bps" -ge 100000 ] || bad "rate below 100kbit: $rate"
if [ -z "$drain" ]; then
	drain=3000
	[ "$bps" -ge 10000000 ] || drain=8000
fi

for w in $(echo "$workloads" | tr ',' ' '); do
	case $w in
	light | bulk075 | bulk150 | two150 | uneven150 | loss-bulk075 | \
	    loss-bulk150 | loss-two150 | loss-uneven150) ;;
	*) bad "unknown workload: $w" ;;
	esac
done

for v in UOT_BINARY UOT_PROBE UOT_WAN_LOAD; do
	eval "p=\${$v:-}"
	if [ -z "$p" ] || [ ! -x "$p" ]; then
		echo "wan.sh: set $v to an executable (make bench-wan does)" >&2
		exit 99
	fi
done

skip() {
	echo "bench-wan: SKIP: $*"
	exit 77
}
[ "$(id -u 2>/dev/null)" = 0 ] || skip "needs root for network namespaces"
if ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	skip "no 'ip netns' here"
fi
command -v tc >/dev/null 2>&1 || skip "no tc(8) here"

nss="uot-wan-s-$$"
nsc="uot-wan-c-$$"
vs="uotws$$"
vc="uotwc$$"
as=10.213.57.1
ac=10.213.57.2
echo_port=9000
tcp_port=7878
tun_port=9100
dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-wan.XXXXXX") || exit 99
pids=
made=
tunpids=

# On any exit: every process started here, the nftables tables, both
# namespaces (deleting a namespace deletes its veth end, and the pair).
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	status=$?
	trap - EXIT
	for pid in $pids $tunpids; do kill -9 "$pid" 2>/dev/null; done
	for pid in $pids $tunpids; do wait "$pid" 2>/dev/null; done
	for ns in $made; do
		ip netns exec "$ns" nft delete table inet uot_wan 2>/dev/null
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
trap 'exit 141' PIPE

fail() {
	echo "bench-wan: FAIL: $*" >&2
	for f in "$dir"/*.log; do
		[ -f "$f" ] || continue
		echo "---- ${f##*/} ----" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

now_ms() {
	t=$(date +%s%N 2>/dev/null)
	case $t in
	*N* | '') echo $(($(date +%s) * 1000)) ;;
	*) echo $((t / 1000000)) ;;
	esac
}

# wait_for FILE TEXT PID MS: until FILE holds TEXT, for at most MS ms,
# and only while PID, which writes FILE, is alive.
wait_for() {
	deadline=$(($(now_ms) + $4))
	until grep -F -q -e "$2" "$1" 2>/dev/null; do
		if [ "$(now_ms)" -ge "$deadline" ] ||
		    ! kill -0 "$3" 2>/dev/null; then
			grep -F -q -e "$2" "$1" 2>/dev/null && return 0
			return 1
		fi
		sleep 0.05 2>/dev/null || sleep 1
	done
}

ip netns add "$nss" 2>/dev/null || skip "cannot create a network namespace"
made="$nss"
ip netns add "$nsc" 2>/dev/null || skip "cannot create a network namespace"
made="$made $nsc"
ip link add "$vs" netns "$nss" type veth peer name "$vc" netns "$nsc" ||
    skip "cannot create a veth pair"
for cmd in "$nss link set lo up" "$nsc link set lo up" \
    "$nss addr add $as/30 dev $vs" "$nsc addr add $ac/30 dev $vc" \
    "$nss link set $vs up" "$nsc link set $vc up"; do
	# shellcheck disable=SC2086 # words of an ip(8) command
	ip -n $cmd || fail "cannot set up the veth pair: ip -n $cmd"
done

# tbf on each end's egress: a burst of 5 ms at the rate (at least two
# full frames), and at most 5 ms of queue behind it.
burst=$((bps / 1600))
[ "$burst" -ge 3028 ] || burst=3028
for pair in "$nss $vs" "$nsc $vc"; do
	# shellcheck disable=SC2086 # a namespace and its veth end
	set -- $pair
	ip netns exec "$1" tc qdisc add dev "$2" root tbf rate "$rate" \
	    burst "$burst" latency 5ms 2>"$dir/tc.log" ||
	    skip "no tbf qdisc here ($(head -n 1 "$dir/tc.log"))"
done

havenft=yes
command -v nft >/dev/null 2>&1 || havenft=no

# Random loss as packets leave each namespace's veth end; and back.
loss_on() {
	for pair in "$nss $vs" "$nsc $vc"; do
		# shellcheck disable=SC2086 # a namespace and its veth end
		set -- $pair
		ip netns exec "$1" nft -f - <<EOF || return 1
table inet uot_wan {
	chain out {
		type filter hook postrouting priority 0; policy accept;
		oifname "$2" numgen random mod 100 < $losspct drop
	}
}
EOF
	done
}
loss_off() {
	for ns in $nss $nsc; do
		ip netns exec "$ns" nft delete table inet uot_wan 2>/dev/null
	done
}

ip netns exec "$nss" "$UOT_PROBE" echo -b "0.0.0.0:$echo_port" \
    >"$dir/echo.log" 2>&1 &
epid=$!
pids="$pids $epid"
wait_for "$dir/echo.log" "echo listening on" "$epid" 10000 ||
    fail "udp-probe echo did not start"

tunnel_start() {
	: >"$dir/listen.log"
	: >"$dir/connect.log"
	ip netns exec "$nss" "$UOT_BINARY" --tcp-listen "$as:$tcp_port" \
	    --udp-bind auto --udp-sendto "127.0.0.1:$echo_port" -v \
	    2>"$dir/listen.log" &
	lpid=$!
	tunpids="$lpid"
	wait_for "$dir/listen.log" "listening on" "$lpid" 10000 ||
	    fail "the listen side did not say \"listening on\""
	ip netns exec "$nsc" "$UOT_BINARY" --tcp-connect "$as:$tcp_port" \
	    --udp-bind "127.0.0.1:$tun_port" --udp-sendto 127.0.0.1:auto \
	    -v 2>"$dir/connect.log" &
	cpid=$!
	tunpids="$tunpids $cpid"
	wait_for "$dir/connect.log" "-> up" "$cpid" 10000 ||
	    fail "the connect side did not come up across the link"
}
tunnel_stop() {
	for pid in $tunpids; do kill "$pid" 2>/dev/null; done
	for pid in $tunpids; do wait "$pid" 2>/dev/null; done
	tunpids=
}

light=light:100:50
b075=bulk:1200:$((bps * 3 / 4 / 9600))
b150=bulk:1200:$((bps * 3 / 2 / 9600))
half1=bulk1:1200:$((bps * 3 / 4 / 9600))
half2=bulk2:1200:$((bps * 3 / 4 / 9600))
big1=bulk1:1200:$((bps / 9600))
small2=bulk2:1200:$((bps / 2 / 9600))

# run WORKLOAD PATH: one run, its rows to stdout, its JSON to a file.
run() {
	case ${1#loss-} in
	light) flows="-f $light" ;;
	bulk075) flows="-f $light -f $b075" ;;
	bulk150) flows="-f $light -f $b150" ;;
	two150) flows="-f $half1 -f $half2" ;;
	uneven150) flows="-f $big1 -f $small2" ;;
	esac
	if [ "$2" = tunnel ]; then
		tunnel_start
		to=127.0.0.1:$tun_port
	else
		to=$as:$echo_port
	fi
	# In the background, so that a signal ends the run at once.
	# shellcheck disable=SC2086 # $flows is a list of options
	ip netns exec "$nsc" "$UOT_WAN_LOAD" -d "$secs" -w "$drain" \
	    -l "$1 $2" $flows "$to" >"$dir/out" 2>"$dir/load.log" &
	wpid=$!
	pids="$pids $wpid"
	wait "$wpid" || fail "wan-load failed in $1 $2"
	pids=${pids% "$wpid"}
	[ "$2" = tunnel ] && tunnel_stop
	grep -v '^{' "$dir/out"
	grep '^{' "$dir/out" >"$dir/$2.json"
	sleep 1
}

echo "bench-wan: tbf $rate each way (burst $burst B, latency 5ms)," \
    "$secs s per run + up to $drain ms drain; loss-*: $losspct% each way"
echo "bench-wan: light 100 B x 50/s; bulk 1200 B at 0.75x/1.5x the link;" \
    "binary $UOT_BINARY"
echo "bench-wan: numbers from a shared machine are noisy; repeat to compare"
printf '  %-26s %-7s %5s %5s %7s %7s %9s %9s %9s %8s\n' \
    "workload path" flow size pps sent lost "p50 ms" "p99 ms" "max ms" \
    "Mbit/s"
: >"$dir/all.json"
for w in $(echo "$workloads" | tr ',' ' '); do
	lossval=0
	case $w in
	loss-*)
		if [ "$havenft" = no ]; then
			echo "  $w: skipped: no nft(8) here"
			continue
		fi
		loss_on || fail "cannot add the nftables loss rules"
		lossval=$losspct
		;;
	esac
	run "$w" direct
	run "$w" tunnel
	[ "$lossval" = 0 ] || loss_off
	printf '{"bench":"wan","workload":"%s","rate":"%s","rate_bps":%s,' \
	    "$w" "$rate" "$bps" >>"$dir/all.json"
	printf '"wire_loss_pct":%s,"tunnel":%s,"direct":%s}\n' "$lossval" \
	    "$(cat "$dir/tunnel.json")" "$(cat "$dir/direct.json")" \
	    >>"$dir/all.json"
done
echo
cat "$dir/all.json"
exit 0
