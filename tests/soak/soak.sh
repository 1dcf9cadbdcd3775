#!/usr/bin/env bash
#
# soak.sh - a long run of mixed traffic through one auto-mode listen side
# that is killed (SIGKILL) and restarted every 30 s, with misbehaving raw
# TCP peers mixed in. Not part of 'make check'.
#
#   clients (udp-probe ping, 2 x N) --> connect side A -u B1 --\
#                                   --> connect side B -u B2 ---+--TCP--> listen side --> udp-probe echo
#   hostile raw peers (bash /dev/tcp: garbage, oversized,    --/          -l T -u auto
#   truncated, malformed, slow) --------------------------------/
#
# Every round, each connect side's clients (fresh sockets, so fresh flows
# that later expire: --flow-timeout keeps the flow count steady) send a
# numbered exchange with one datagram in flight per client. At the end it
# prints a summary:
#
#   - the connect sides' VmRSS and open descriptors after the warm-up and
#     at the end, at the same point of the kill cycle, and whether they
#     are equal (RSS within a tolerance);
#   - what the clients lost, split into rounds a kill overlapped (each
#     client has one datagram in flight, so a kill explains at most one
#     lost datagram per client of a round it overlaps) and quiet rounds
#     (where nothing may be lost);
#   - the connect sides' SIGUSR1 counters (drops other than the bytes
#     unsent when the listen side died must be zero) and the listen
#     sides' counters just before each kill;
#   - the listen sides' log: lines per life (bounded) and printable only.
#
# Environment: UOT_BINARY (the binary), UOT_PROBE (tests/udp-probe),
# SOAK_SECONDS (600), SOAK_CLIENTS (clients per connect side, 25),
# SOAK_KILL_EVERY (30), SOAK_WARMUP (75), SOAK_RSS_TOL_KB (512),
# SOAK_DIR (keep the logs there; default a temporary directory, removed).
# Linux only (/proc). Exit status 0 when every check holds, 1 otherwise,
# 99 on a setup error.

set -u

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
: "${UOT_PROBE:?set UOT_PROBE to tests/udp-probe}"
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_CLIENTS=${SOAK_CLIENTS:-25}
SOAK_KILL_EVERY=${SOAK_KILL_EVERY:-30}
SOAK_WARMUP=${SOAK_WARMUP:-75}
SOAK_RSS_TOL_KB=${SOAK_RSS_TOL_KB:-512}
FLOW_TIMEOUT=15
WAIT_MS=3000		# a ping's wait for its echo; longer than an outage
ROUND_PAUSE=0.3		# seconds between two rounds of one connect side
ROUND_N=100		# datagrams per client per round
LOG_LINES_PER_LIFE=400	# bound on listen-side log lines in one life

for f in "$UOT_BINARY" "$UOT_PROBE"; do
	if [ ! -x "$f" ]; then
		echo "soak: $f is not executable" >&2
		exit 99
	fi
done
if [ ! -d /proc/self ]; then
	echo "soak: needs /proc (Linux)" >&2
	exit 99
fi
if [ "$SOAK_WARMUP" -ge "$SOAK_SECONDS" ]; then
	SOAK_WARMUP=$((SOAK_SECONDS / 2))
fi

if [ -n "${SOAK_DIR:-}" ]; then
	dir=$SOAK_DIR
	mkdir -p "$dir" || exit 99
	keep=1
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-soak.XXXXXX") || exit 99
	keep=0
fi

pids=""		# every background process or loop started here
lpid=""		# the current listen side

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	status=$?
	trap - EXIT
	touch "$dir/stop" 2>/dev/null
	for pid in $pids $lpid; do kill -9 "$pid" 2>/dev/null; done
	for pid in $pids $lpid; do wait "$pid" 2>/dev/null; done
	[ "$keep" = 1 ] || rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}
start_ms=$(now_ms)
elapsed() {
	echo $(( ($(now_ms) - start_ms) / 1000 ))
}
say() {
	printf 'soak: [%4ds] %s\n' "$(elapsed)" "$*"
}

# Wait up to $3 s for the regular expression $2 in file $1 (from byte $4).
wait_for() {
	local f=$1 re=$2 t=$3 from=${4:-0} i=0
	while [ "$i" -lt $((t * 20)) ]; do
		if tail -c +$((from + 1)) "$f" 2>/dev/null | grep -q -- "$re"; then
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

size_of() {
	wc -c <"$1" 2>/dev/null || echo 0
}

vm_kb() {	# pid field
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null
}

nfds() {
	# shellcheck disable=SC2012 # counting entries, names do not matter
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# Ports: the probe asks the kernel for free ones.
read -r tport < <("$UOT_PROBE" freeport tcp 1)
mapfile -t uports < <("$UOT_PROBE" freeport udp 3)
eport=${uports[0]} b1=${uports[1]} b2=${uports[2]}
if [ -z "$tport" ] || [ -z "$b2" ]; then
	echo "soak: no free ports" >&2
	exit 99
fi

"$UOT_PROBE" echo -b "127.0.0.1:$eport" >"$dir/echo.out" 2>&1 &
epid=$!
pids="$pids $epid"

life=0
start_listen() {
	life=$((life + 1))
	"$UOT_BINARY" -l "127.0.0.1:$tport" -u auto -p "127.0.0.1:$eport" \
	    --flow-timeout "$FLOW_TIMEOUT" --max-peers 16 \
	    2>"$dir/listen.$life.log" &
	lpid=$!
	if ! wait_for "$dir/listen.$life.log" "listening on" 10; then
		echo "soak: listen side $life did not start:" >&2
		cat "$dir/listen.$life.log" >&2
		exit 99
	fi
}

start_listen
if ! grep -q "echo listening" "$dir/echo.out"; then
	sleep 0.5
fi
"$UOT_BINARY" -t "127.0.0.1:$tport" -u "127.0.0.1:$b1" -p 127.0.0.1:auto \
    --flow-timeout "$FLOW_TIMEOUT" --backoff-min 50 --backoff-max 400 \
    2>"$dir/connect.A.log" &
apid=$!
pids="$pids $apid"
"$UOT_BINARY" -t "127.0.0.1:$tport" -u "127.0.0.1:$b2" -p 127.0.0.1:auto \
    --flow-timeout "$FLOW_TIMEOUT" --backoff-min 50 --backoff-max 400 \
    2>"$dir/connect.B.log" &
bpid=$!
pids="$pids $bpid"
for s in A B; do
	if ! wait_for "$dir/connect.$s.log" "-> up" 10; then
		echo "soak: connect side $s did not come up" >&2
		cat "$dir/connect.$s.log" >&2
		exit 99
	fi
done
say "listen side 127.0.0.1:$tport -> echo 127.0.0.1:$eport; connect sides A (pid $apid, udp $b1) and B (pid $bpid, udp $b2); $SOAK_CLIENTS clients each; ${SOAK_SECONDS}s"

# One connect side's traffic: rounds until told to stop. Each round's
# line: start_ms end_ms size sent received lost corrupted misrouted late.
traffic() {
	local port=$1 out=$2 sizes=(32 200 512 1200 1400 4000) i=0 s t0 t1 line
	while [ ! -e "$dir/stop" ]; do
		s=${sizes[$((i % ${#sizes[@]}))]}
		t0=$(now_ms)
		line=$("$UOT_PROBE" ping -c "$SOAK_CLIENTS" -n "$ROUND_N" -s "$s" \
		    -w "$WAIT_MS" "127.0.0.1:$port" 2>&1 | grep '^total:')
		t1=$(now_ms)
		# total: clients C size S sent N received N lost N corrupted N
		# misrouted N late N ...
		set -- $line
		echo "$t0 $t1 $s ${7:-0} ${9:-0} ${11:-0} ${13:-0} ${15:-0} ${17:-0}" >>"$out"
		i=$((i + 1))
		sleep "$ROUND_PAUSE"
	done
}
traffic "$b1" "$dir/rounds.A" &
pids="$pids $!"
traffic "$b2" "$dir/rounds.B" &
pids="$pids $!"

# Misbehaving raw peers of the listen side, one after another.
hostile_one() {
	local kind=$1 i
	exec 3<>"/dev/tcp/127.0.0.1/$tport" || return 0
	case $kind in
	garbage)
		head -c $((RANDOM % 4000 + 1)) /dev/urandom >&3 2>/dev/null ;;
	oversized)
		printf '\xff\xff\xff\x7f\x00\x00' >&3 2>/dev/null
		sleep 0.2 ;;
	truncated)
		# LEN 1018: a 1000-byte datagram, but only 100 bytes of it.
		printf '\xfa\x03\x00\x00\x39\x30\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x7f\x00\x00\x09' >&3 2>/dev/null
		head -c 100 /dev/zero >&3 2>/dev/null ;;
	malformed)
		# LEN 5 (< 18): skipped, counted, warned about (rate-limited).
		for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
			printf '\x05\x00\x00\x00hello' >&3 2>/dev/null
		done
		sleep 0.2 ;;
	slow)
		for i in 1 2 3 4 5 6; do
			printf '\x01' >&3 2>/dev/null || break
			sleep 0.5
		done ;;
	esac
	exec 3>&- 3<&-
	return 0
}
hostile() {
	local kinds=(garbage oversized truncated malformed slow) i=0
	trap '' PIPE
	while [ ! -e "$dir/stop" ]; do
		hostile_one "${kinds[$((i % ${#kinds[@]}))]}" 2>/dev/null
		echo "${kinds[$((i % ${#kinds[@]}))]}" >>"$dir/hostile"
		i=$((i + 1))
		sleep 1
	done
}
hostile &
pids="$pids $!"

# Both connect sides report their link up now (no "up ->" after the last
# "-> up").
both_up() {
	local s last
	for s in A B; do
		last=$(grep -E -- '-> up|up -> ' "$dir/connect.$s.log" | tail -n 1)
		case $last in *"-> up"*) ;; *) return 1 ;; esac
	done
	return 0
}

measure() {	# label
	local i=0
	while ! both_up && [ "$i" -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	echo "$1 A $(vm_kb "$apid" VmRSS) $(nfds "$apid") B $(vm_kb "$bpid" VmRSS) $(nfds "$bpid") L $(vm_kb "$lpid" VmRSS) $(nfds "$lpid")" >>"$dir/measure"
	say "$1: A rss $(vm_kb "$apid" VmRSS) kB fds $(nfds "$apid"); B rss $(vm_kb "$bpid" VmRSS) kB fds $(nfds "$bpid"); listen rss $(vm_kb "$lpid" VmRSS) kB fds $(nfds "$lpid")"
}

# SIGUSR1 to pid whose stderr is file; the stats lines it logs go to out.
stats_of() {	# pid file out label
	local from
	from=$(size_of "$2")
	kill -USR1 "$1" 2>/dev/null || return 1
	if wait_for "$2" "stats flows:" 5 "$from"; then
		tail -c +$((from + 1)) "$2" | grep 'stats ' | sed "s/^/$4 /" >>"$3"
	fi
}

kills=0
t=0
end_measured=0
next_kill=$SOAK_KILL_EVERY
last_kill_t=0
while [ "$(elapsed)" -lt "$SOAK_SECONDS" ]; do
	t=$(elapsed)
	if [ "$t" -ge "$next_kill" ] && [ "$t" -lt $((SOAK_SECONDS - 5)) ]; then
		stats_of "$lpid" "$dir/listen.$life.log" "$dir/listen.stats" \
		    "life $life:"
		echo "life $life rss $(vm_kb "$lpid" VmRSS) hwm $(vm_kb "$lpid" VmHWM) fds $(nfds "$lpid")" >>"$dir/listen.vm"
		kill -9 "$lpid"
		wait "$lpid" 2>/dev/null
		echo "$(now_ms)" >>"$dir/kills"
		kills=$((kills + 1))
		start_listen
		say "killed and restarted the listen side (life $life)"
		last_kill_t=$t
		next_kill=$((next_kill + SOAK_KILL_EVERY))
	fi
	# Warm-up and end measured at the same point of the kill cycle.
	if [ ! -e "$dir/warm" ] && [ "$t" -ge "$SOAK_WARMUP" ]; then
		measure warm
		touch "$dir/warm"
		warm_phase=$((t - last_kill_t))
	fi
	if [ -e "$dir/warm" ] && [ ! -e "$dir/endm" ] &&
	    [ "$t" -ge $((SOAK_SECONDS - SOAK_KILL_EVERY)) ] &&
	    [ $((t - last_kill_t)) -ge "$warm_phase" ]; then
		measure end
		touch "$dir/endm"
		end_phase=$((t - last_kill_t))
	fi
	sleep 0.2
done
if [ ! -e "$dir/endm" ]; then
	measure end
	end_phase=$(( $(elapsed) - last_kill_t ))
fi

# Stop the traffic and the hostile peers; let the last rounds finish.
touch "$dir/stop"
sleep $((WAIT_MS / 1000 + 2))
for s in A B; do
	pid=$apid
	[ "$s" = B ] && pid=$bpid
	stats_of "$pid" "$dir/connect.$s.log" "$dir/connect.stats" "$s:"
done
stats_of "$lpid" "$dir/listen.$life.log" "$dir/listen.stats" "life $life:"
echo "life $life rss $(vm_kb "$lpid" VmRSS) hwm $(vm_kb "$lpid" VmHWM) fds $(nfds "$lpid")" >>"$dir/listen.vm"
alive=1
for pid in $apid $bpid $lpid $epid; do
	kill -0 "$pid" 2>/dev/null || alive=0
done

# ---------------------------------------------------------------- summary
ok=1
bad() {
	echo "soak: FAIL: $*"
	ok=0
}

echo
echo "==== soak summary: ${SOAK_SECONDS}s, $kills kills of the listen side, $(wc -l <"$dir/hostile" 2>/dev/null || echo 0) hostile peers ===="
[ "$alive" = 1 ] || bad "a process died (connect sides $apid $bpid, listen $lpid, echo $epid)"

read -r _ _ wa_rss wa_fd _ wb_rss wb_fd _ _ _ <<<"$(grep '^warm ' "$dir/measure")"
read -r _ _ ea_rss ea_fd _ eb_rss eb_fd _ _ _ <<<"$(grep '^end ' "$dir/measure")"
echo "connect side A: after warm-up (${SOAK_WARMUP}s, ${warm_phase:-?}s after a kill) rss ${wa_rss:-?} kB, fds ${wa_fd:-?}; at the end (${end_phase:-?}s after a kill) rss ${ea_rss:-?} kB, fds ${ea_fd:-?}"
echo "connect side B: after warm-up rss ${wb_rss:-?} kB, fds ${wb_fd:-?}; at the end rss ${eb_rss:-?} kB, fds ${eb_fd:-?}"
for s in A B; do
	if [ "$s" = A ]; then w=${wa_rss:-0} e=${ea_rss:-0} wf=${wa_fd:-0} ef=${ea_fd:-1}
	else w=${wb_rss:-0} e=${eb_rss:-0} wf=${wb_fd:-0} ef=${eb_fd:-1}; fi
	if [ "$wf" = "$ef" ]; then
		echo "  $s: descriptors equal ($wf)"
	else
		bad "connect side $s: $wf descriptors after warm-up, $ef at the end"
	fi
	d=$((e - w))
	if [ "$d" -le "$SOAK_RSS_TOL_KB" ]; then
		echo "  $s: RSS equal within ${SOAK_RSS_TOL_KB} kB (change ${d} kB)"
	else
		bad "connect side $s: RSS grew by $d kB (warm $w kB, end $e kB; tolerance $SOAK_RSS_TOL_KB kB)"
	fi
done
echo "listen side lives (just before each kill): $(awk '{ printf "%s%s/%s/%s", (NR > 1 ? " " : ""), $4, $6, $8 } END { print "" }' "$dir/listen.vm") (rss/hwm kB/fds)"

# The rounds: those a kill overlapped, and the quiet ones.
kill_list=$(tr '\n' ' ' <"$dir/kills" 2>/dev/null)
for s in A B; do
	awk -v kills="$kill_list" -v wait="$WAIT_MS" -v clients="$SOAK_CLIENTS" -v side="$s" '
	BEGIN { nk = split(kills, k, " ") }
	{
		hit = 0
		for (i = 1; i <= nk; i++)
			if (k[i] >= $1 - 1000 && k[i] <= $2 + 1000) hit++
		rounds++; sent += $4; recv += $5; lost += $6
		corrupt += $7; misr += $8; late += $9
		if (hit) {
			krounds++; klost += $6; klate += $9
			if ($6 > hit * clients) over++
		} else {
			qlost += $6; qlate += $9
			if ($6 > 0) qbad++
		}
	}
	END {
		printf "clients of %s: %d rounds, sent %d, received %d, lost %d, late %d, corrupted %d, misrouted %d\n", side, rounds, sent, recv, lost, late, corrupt, misr
		printf "  %d rounds overlapped a kill: lost %d, late %d (at most %d per kill: one in flight per client)%s\n", krounds, klost, klate, clients, (over ? "; EXCEEDED in " over " rounds" : "")
		printf "  %d quiet rounds: lost %d, late %d\n", rounds - krounds, qlost, qlate
		print "RESULT", (qlost == 0 && corrupt == 0 && misr == 0 && !over && rounds > 0 && recv > 0) ? "ok" : "bad"
	}' "$dir/rounds.$s" >"$dir/rounds.$s.sum"
	grep -v '^RESULT' "$dir/rounds.$s.sum"
	grep -q '^RESULT ok' "$dir/rounds.$s.sum" || bad "connect side $s: loss in quiet rounds, damage, misrouting or more loss than the kills explain"
done

# Connect-side counters (cumulative over every listen-side life).
field() {	# line name
	sed -n "s/.*[ ;(,]$2 \([0-9][0-9]*\).*/\1/p" <<<"$1" | head -n 1
}
for s in A B; do
	line=$(grep "^$s: " "$dir/connect.stats" | grep 'udp in' | tail -n 1)
	echo "connect side $s counters: ${line#"$s: "}"
	if [ -z "$line" ]; then
		bad "connect side $s logged no stats"
		continue
	fi
	for f in "queue full" "link down" malformed "udp send" "no flow" "no socket"; do
		v=$(field "$line" "$f")
		[ "${v:-1}" = 0 ] || bad "connect side $s: dropped \"$f\" $v"
	done
	reconn=$(field "$line" reconnects)
	udpin=$(field "$line" "udp in")
	tcpout=$(field "$line" "tcp out")
	tcpin=$(field "$line" "tcp in")
	udpout=$(field "$line" "udp out")
	unsent=$(field "$line" "unsent")
	echo "  reconnects $reconn (kills $kills); udp in - tcp out = $((udpin - tcpout)); tcp out - tcp in = $((tcpout - tcpin)) frames not answered (lost with the killed listen sides, unsent $unsent); tcp in - udp out = $((tcpin - udpout))"
	[ "$((udpin - tcpout))" = 0 ] || bad "connect side $s: $((udpin - tcpout)) datagrams taken but never framed onto a link"
	[ "$((tcpin - udpout))" = 0 ] || bad "connect side $s: $((tcpin - udpout)) frames received but not delivered"
	[ "$reconn" -le "$kills" ] 2>/dev/null || bad "connect side $s: $reconn reconnects for $kills kills"
	[ "$reconn" -ge 1 ] 2>/dev/null || [ "$kills" = 0 ] || bad "connect side $s: never reconnected"
done
grep -h 'stats flows' "$dir/connect.stats" | sed 's/^/  /'

# Listen sides: what each life counted before it was killed.
echo "listen side counters (per life, summed over its peers and closed peers):"
awk '
/stats flows:/ {
	l = $2; sub(":", "", l)
	for (i = 1; i <= NF; i++) {
		if ($i == "created") cr[l] = $(i + 1) + 0
		if ($i == "refused") rf[l] = $(i + 1) + 0
	}
	next
}
/udp in/ {
	l = $2; sub(":", "", l)
	for (i = 1; i <= NF; i++) {
		if ($i == "malformed") ml[l] += $(i + 1) + 0
		if ($i == "tcp" && $(i + 1) == "in") ti[l] += $(i + 2) + 0
		if ($i == "udp" && $(i + 1) == "send") us[l] += $(i + 2) + 0
		if ($i == "socket") ns[l] += $(i + 1) + 0
	}
}
END {
	for (l in ti) {
		n++; sti += ti[l]; sml += ml[l]; sus += us[l]; sns += ns[l]; scr += cr[l]; srf += rf[l]
	}
	printf "  %d lives: frames in %d, malformed %d, flows created %d, refused %d, udp send drops %d, no socket %d\n", n, sti, sml, scr, srf, sus, sns
	print "RESULT", (sus == 0 && sns == 0 && srf == 0) ? "ok" : "bad"
}' "$dir/listen.stats" >"$dir/listen.sum"
grep -v '^RESULT' "$dir/listen.sum"
grep -q '^RESULT ok' "$dir/listen.sum" || bad "the listen side dropped datagrams (udp send, no socket or refused flows)"

# Listen-side logs: bounded per life, printable ASCII only, no crash.
maxlines=0
maxlife=0
for f in "$dir"/listen.*.log; do
	n=$(wc -l <"$f")
	if [ "$n" -gt "$maxlines" ]; then maxlines=$n; maxlife=$f; fi
	if LC_ALL=C grep -q '[^[:print:]]' "$f"; then
		bad "$f holds unprintable bytes"
	fi
	if grep -q 'fatal' "$f"; then
		bad "$f: $(grep fatal "$f" | head -n 1)"
	fi
done
warn=$(cat "$dir"/listen.*.log | grep -c 'malformed frame\|oversized frame')
supp=$(cat "$dir"/listen.*.log | grep -c 'similar warnings suppressed')
echo "listen-side logs: $life lives, at most $maxlines lines in one ($(basename "$maxlife")); $warn malformed/oversized warnings, $supp \"suppressed\" lines; all printable"
[ "$maxlines" -le "$LOG_LINES_PER_LIFE" ] || bad "a listen side wrote $maxlines lines in one life"
for s in A B; do
	if LC_ALL=C grep -q '[^[:print:]]' "$dir/connect.$s.log"; then
		bad "connect side $s: unprintable bytes in its log"
	fi
done

echo
if [ "$ok" = 1 ]; then
	echo "soak: PASS: RSS and descriptors of both connect sides at the end equal those after warm-up; no loss beyond what the $kills kills explain"
	[ "$keep" = 1 ] && echo "soak: logs in $dir"
	exit 0
fi
echo "soak: logs in $dir"
keep=1
exit 1
