# shellcheck shell=sh
# lib.sh - shared by the real-application tests in tests/apps (sourced).
#
# Each test calls app_init NAME first. It gets:
#   $dir              a temporary directory, removed at exit
#   need PROG...      exit 77 (SKIP) if a program is missing, or 1 when
#                     CI=true (CI installs them, so missing is a failure)
#   start NAME CMD... run CMD in the background, output to $dir/NAME.log;
#                     every process so started is killed at exit
#   spawn NAME CMD... the same, output to $dir/NAME.out, which fail does
#                     not print (for the many clients of a test)
#   wait_log NAME TEXT [MS]  until $dir/NAME.log holds TEXT
#   freeports PROTO N N ports free on 127.0.0.1, one a line (PROTO tcp,
#                     udp, or both: free for TCP and UDP on every address)
#   fail MSG          print MSG and every log, exit 1
#   stats NAME        ask udp-over-tcp started as NAME for its counters,
#                     print its first "stats" line
# Only 127.0.0.x and ::1 are ever used.

app_init() {
	app=$1
	: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
	: "${UOT_PROBE:?set UOT_PROBE to the udp-probe binary}"
	for f in "$UOT_BINARY" "$UOT_PROBE"; do
		if [ ! -x "$f" ]; then
			echo "$app: $f is not executable" >&2
			exit 99
		fi
	done
	dir=$(mktemp -d "${TMPDIR:-/tmp}/uot-$app.XXXXXX") || exit 99
	names=
	trap app_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	t_start=$(now_ms)
}

# Every process we started, newest first (an ssh client before its
# sshd, a tunnel end before what it points at): TERM, then KILL for any
# that did not go within 2 s, then the directory.
# shellcheck disable=SC2317 # called from the trap
app_cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	set +e
	for n in $names; do
		pid=$(cat "$dir/$n.pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null
	done
	deadline=$(($(now_ms) + 2000))
	for n in $names; do
		pid=$(cat "$dir/$n.pid" 2>/dev/null) || continue
		while kill -0 "$pid" 2>/dev/null &&
		    [ "$(now_ms)" -lt "$deadline" ]; do
			nap
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$dir"
	[ "$status" = 77 ] ||
	    echo "$app: $(( $(now_ms) - t_start )) ms, exit $status"
	exit "$status"
}

# Milliseconds from some fixed point; seconds * 1000 without %N.
now_ms() {
	t=$(date +%s%N 2>/dev/null)
	case $t in
	*N* | '') echo $(($(date +%s) * 1000)) ;;
	*) echo $((t / 1000000)) ;;
	esac
}

nap() {
	sleep 0.05 2>/dev/null || sleep 1
}

need() {
	for prog in "$@"; do
		command -v "$prog" >/dev/null 2>&1 && continue
		if [ "${CI:-}" = true ]; then
			echo "$app: FAIL: $prog is not installed (CI=true: it must be)"
			exit 1
		fi
		echo "$app: SKIP: $prog is not installed"
		exit 77
	done
}

fail() {
	echo "$app: FAIL: $*" >&2
	for n in $names; do
		[ -s "$dir/$n.log" ] || continue
		echo "---- $n.log (last 30 lines) ----" >&2
		tail -n 30 "$dir/$n.log" >&2
	done
	exit 1
}

# start NAME CMD...: newest first in $names, so cleanup stops it first.
start() {
	n=$1
	shift
	"$@" >"$dir/$n.log" 2>&1 &
	echo $! >"$dir/$n.pid"
	names="$n $names"
}

spawn() {
	n=$1
	shift
	"$@" >"$dir/$n.out" 2>&1 &
	echo $! >"$dir/$n.pid"
	names="$n $names"
}

pid_of() {
	cat "$dir/$1.pid"
}

# wait_log NAME TEXT [MS]: until NAME's log holds TEXT (a fixed string),
# for at most MS ms (default 20000: generous for a loaded machine), and
# only while NAME is alive.
wait_log() {
	pid=$(pid_of "$1")
	deadline=$(($(now_ms) + ${3:-20000}))
	until grep -F -q -e "$2" "$dir/$1.log" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			grep -F -q -e "$2" "$dir/$1.log" 2>/dev/null && return 0
			fail "$1 exited before saying \"$2\""
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			fail "$1 did not say \"$2\" within ${3:-20000} ms"
		fi
		nap
	done
}

freeports() {
	# shellcheck disable=SC2046,SC2005 # one line, one word a port
	echo $("$UOT_PROBE" freeport "$1" "$2")
}

# stats NAME: SIGUSR1 makes udp-over-tcp log its counters.
stats() {
	before=$(grep -c 'stats ' "$dir/$1.log" || true)
	kill -USR1 "$(pid_of "$1")"
	deadline=$(($(now_ms) + 10000))
	while [ "$(grep -c 'stats ' "$dir/$1.log" || true)" -le "$before" ]; do
		[ "$(now_ms)" -lt "$deadline" ] ||
		    fail "$1 logged no counters on SIGUSR1"
		nap
	done
	grep 'stats ' "$dir/$1.log" | sed -n "$((before + 1))p"
}

# counter LINE NAME: the number after NAME ("udp in", "udp out") in a
# stats line.
counter() {
	echo "$1" | sed -n "s/.*[:,] $2 \([0-9][0-9]*\).*/\1/p"
}
