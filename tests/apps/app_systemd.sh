#!/bin/sh
#
# app_systemd.sh - the shipped systemd units, run by a real systemd.
#
# This machine's PID 1 is not systemd, so the test boots one: a
# systemd-nspawn container of this very system (--volatile=yes: /usr
# read-only from the host, everything else a fresh tmpfs), sharing the
# host's network, with contrib/systemd's units, a configuration file per
# instance and the binary under test bound in. Then, from the host:
#
#   udp-over-tcp@fixed.service  enabled; /etc/udp-over-tcp/fixed.conf
#       sets a fixed-mode listen side. It must be active (Type=notify:
#       READY=1 came), run as its dynamic user, show the start-up line
#       as its status, and carry datagrams from a connect side on the
#       host to an echo server on the host and back.
#   udp-over-tcp@sock.socket    enabled, its ListenStream= moved by a
#       drop-in. The service must not run before the first peer; a
#       connect side on the host connects, systemd starts the service,
#       which takes the socket over and carries datagrams.
#   SIGUSR1 through systemctl kill: the counters reach the journal.
#   systemctl stop: the service flushes and exits 0 (inactive, not
#       failed).
#
# systemctl and journalctl run inside the container through nsenter.
# Needs root, systemd-nspawn (package systemd-container) and a binary
# built with libsystemd (Type=notify). Exit 77 (SKIP) without them, or
# 1 when CI=true for a missing program; a container that cannot boot
# here (no usable cgroups, say) is a SKIP with the reason.
#
# Environment: UOT_BINARY, UOT_PROBE (set by make check); srcdir.

set -eu

here=$(dirname "$0")
# shellcheck source=tests/apps/lib.sh
. "$here/lib.sh"
app_init app_systemd
units=${srcdir:-$here/..}/../contrib/systemd
[ -r "$units/udp-over-tcp@.service" ] || units=$here/../../contrib/systemd

if [ "$(id -u)" != 0 ]; then
	echo "app_systemd: SKIP: needs root to boot a container"
	exit 77
fi
need systemd-nspawn nsenter
# The unit's sandbox (SystemCallFilter, MemoryDenyWriteExecute) is not
# made for a sanitizer's runtime, and systemd gives the service a clean
# environment without its options: this is a test of the plain build.
if [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ]; then
	echo "app_systemd: SKIP: a sanitizer build (see the comment)"
	exit 77
fi
if ! "$UOT_BINARY" --version | grep -q 'systemd'; then
	echo "app_systemd: SKIP: the binary is built without libsystemd"
	exit 77
fi

# shellcheck disable=SC2046 # one word a port
set -- $(freeports tcp 2) $(freeports udp 3)
tcp_fixed=$1 tcp_sock=$2 udp_fixed=$3 echo_port=$4 client=$5

# The container's /etc, as far as the test needs one.
etc=$dir/etc
mkdir -p "$etc/udp-over-tcp" "$etc/wants" "$etc/sockets" \
    "$etc/udp-over-tcp@sock.socket.d" "$dir/bin"
cp "$units/udp-over-tcp@.service" "$units/udp-over-tcp@.socket" "$etc/"
# /usr is the host's, read-only: the binary goes to /opt instead.
sed -i 's|^ExecStart=/usr/bin/udp-over-tcp |ExecStart=/opt/uot/udp-over-tcp |' \
    "$etc/udp-over-tcp@.service"
grep -q '^ExecStart=/opt/uot/' "$etc/udp-over-tcp@.service" ||
    fail "the service's ExecStart does not name /usr/bin/udp-over-tcp"
cat >"$etc/udp-over-tcp/fixed.conf" <<EOF
UOT_OPTS="--tcp-listen 127.0.0.1:$tcp_fixed --udp-bind 127.0.0.1:$udp_fixed --udp-sendto 127.0.0.1:$echo_port"
EOF
cat >"$etc/udp-over-tcp/sock.conf" <<EOF
UOT_OPTS="--tcp-listen 127.0.0.1:$tcp_sock --udp-bind auto --udp-sendto 127.0.0.1:$echo_port -v"
EOF
cat >"$etc/udp-over-tcp@sock.socket.d/port.conf" <<EOF
[Socket]
ListenStream=
ListenStream=127.0.0.1:$tcp_sock
EOF
ln -s /etc/systemd/system/udp-over-tcp@.service \
    "$etc/wants/udp-over-tcp@fixed.service"
ln -s /etc/systemd/system/udp-over-tcp@.socket \
    "$etc/sockets/udp-over-tcp@sock.socket"

sd=/etc/systemd/system
start container systemd-nspawn --quiet -D / --volatile=yes \
    --register=no --keep-unit -M "uot-test-$$" -b --console=pipe \
    --bind-ro="$UOT_BINARY:/opt/uot/udp-over-tcp" \
    --bind-ro="$etc/udp-over-tcp:/etc/udp-over-tcp" \
    --bind-ro="$etc/udp-over-tcp@.service:$sd/udp-over-tcp@.service" \
    --bind-ro="$etc/udp-over-tcp@.socket:$sd/udp-over-tcp@.socket" \
    --bind-ro="$etc/udp-over-tcp@sock.socket.d:$sd/udp-over-tcp@sock.socket.d" \
    --bind-ro="$etc/wants:$sd/multi-user.target.wants" \
    --bind-ro="$etc/sockets:$sd/sockets.target.wants"

# ct_init: the container's PID 1, if it runs yet. systemd-nspawn forks
# a helper that sets the container up and forks its init, then exits,
# so "a child of systemd-nspawn" may be that helper: the init is the
# descendant that is process 1 of its own PID namespace.
ct_init() {
	for c in $(pgrep -P "$(pid_of container)" 2>/dev/null); do
		for p in "$c" $(pgrep -P "$c" 2>/dev/null); do
			if awk '$1 == "NSpid:" && NF > 2 && $NF == 1 { ok = 1 }
			    END { exit !ok }' "/proc/$p/status" 2>/dev/null; then
				echo "$p"
				return
			fi
		done
	done
}
init=
deadline=$(($(now_ms) + 30000))
while [ -z "$init" ]; do
	kill -0 "$(pid_of container)" 2>/dev/null || break
	init=$(ct_init)
	[ -n "$init" ] || [ "$(now_ms)" -ge "$deadline" ] || nap
	[ "$(now_ms)" -lt "$deadline" ] || break
done
in_ct() {
	nsenter -t "$init" -m -u -i -p -- "$@"
}
skip_boot() {
	echo "app_systemd: SKIP: no container boots here: $1"
	sed 's/^/  /' "$dir/container.log" | tail -n 5
	exit 77
}
[ -n "$init" ] || skip_boot "systemd-nspawn did not start one"
# Should the test stop early, the cleanup kills the container's PID 1
# too, and with it everything in the container.
echo "$init" >"$dir/ct-init.pid"
names="ct-init $names"
# Booted: the system manager says so (degraded is fine: the host's own
# units are not all meant for a container).
# Until PID 1 has its control socket, systemctl cannot ask it anything.
deadline=$(($(now_ms) + 60000))
while :; do
	state=$(in_ct timeout 60 systemctl is-system-running --wait \
	    2>/dev/null || true)
	case $state in
	running | degraded) break ;;
	esac
	kill -0 "$init" 2>/dev/null ||
	    skip_boot "the container's system manager exited"
	[ "$(now_ms)" -lt "$deadline" ] ||
	    skip_boot "the system manager says \"${state:-nothing}\" after 60 s"
	nap
done

show() {	# UNIT PROPERTY
	in_ct systemctl show -p "$2" --value "$1"
}

# 1. The enabled instance: up, notified, sandboxed, with its status line.
u=udp-over-tcp@fixed.service
[ "$(show $u ActiveState)/$(show $u SubState)" = active/running ] ||
    fail "$u is not running: $(in_ct systemctl status --no-pager $u 2>&1)"
[ "$(show $u Type)" = notify ] || fail "$u is not Type=notify"
status=$(show $u StatusText)
case $status in
"listening on 127.0.0.1:$tcp_fixed (tcp), udp 127.0.0.1:$udp_fixed -> 127.0.0.1:$echo_port, framing flow, fixed mode") ;;
*) fail "$u status is \"$status\"" ;;
esac
pid=$(show $u MainPID)
user=$(in_ct ps -o user= -p "$pid" | tr -d ' ')
if [ -z "$user" ] || [ "$user" = root ]; then
	fail "$u runs as \"$user\""
fi
echo "app_systemd: $u: active, Type=notify, user $user, status: $status"

start echo "$UOT_PROBE" echo -b "127.0.0.1:$echo_port"
wait_log echo "listening on"

ping_through() {	# NAME TCP-PORT
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(freeports udp 1)
	start "$1" "$UOT_BINARY" -t "127.0.0.1:$2" -u "127.0.0.1:$3" \
	    -p "127.0.0.1:$client"
	wait_log "$1" "-> up"
	"$UOT_PROBE" ping -b "127.0.0.1:$client" -n 100 -s 1200 -w 5000 \
	    "127.0.0.1:$3" >"$dir/$1.ping" 2>&1 ||
	    fail "ping through $1: $(cat "$dir/$1.ping")"
	line=$(tail -n 1 "$dir/$1.ping")
	case $line in
	*" received 100 lost 0 corrupted 0 misrouted 0 "*) ;;
	*) fail "through $1: $line" ;;
	esac
	echo "app_systemd: through $1: $line"
	kill "$(pid_of "$1")"
}
ping_through connect-fixed "$tcp_fixed"

# 2. Socket activation: systemd holds the port, the service waits.
s=udp-over-tcp@sock
[ "$(show $s.socket ActiveState)" = active ] ||
    fail "$s.socket is not listening: $(in_ct systemctl status --no-pager $s.socket 2>&1)"
[ "$(show $s.service ActiveState)" = inactive ] ||
    fail "$s.service started before any peer"
ping_through connect-sock "$tcp_sock"
[ "$(show $s.service ActiveState)" = active ] ||
    fail "$s.service is not running after a peer came"
in_ct journalctl -b -u $s.service --no-pager -o cat >"$dir/sock.journal"
grep -q "listening on 127.0.0.1:$tcp_sock (tcp)" "$dir/sock.journal" ||
    fail "$s.service did not log its start-up line: $(cat "$dir/sock.journal")"
echo "app_systemd: $s.socket: the service started with the first peer"

# 3. Counters on SIGUSR1, into the journal.
in_ct systemctl kill -s USR1 --kill-who=main $u
deadline=$(($(now_ms) + 10000))
until in_ct journalctl -b -u $u --no-pager -o cat | grep -q '^udp-over-tcp: stats .*udp out 100 '; do
	[ "$(now_ms)" -lt "$deadline" ] ||
	    fail "no stats line with the 100 datagrams in $u's journal"
	nap
done

# 4. A clean stop: SIGTERM, flush, exit 0.
in_ct systemctl stop $u
[ "$(show $u ActiveState)" = inactive ] ||
    fail "$u did not stop cleanly: $(show $u ActiveState) $(show $u Result)"
[ "$(show $u Result)" = success ] || fail "$u stopped with $(show $u Result)"
echo "app_systemd: $u: stopped, result success"

# Halt the container (SIGTERM to systemd-nspawn: an orderly shutdown)
# and wait for it, so nothing of it outlives the test.
kill "$(pid_of container)"
deadline=$(($(now_ms) + 30000))
while kill -0 "$(pid_of container)" 2>/dev/null; do
	if [ "$(now_ms)" -ge "$deadline" ]; then
		kill -9 "$init" 2>/dev/null || true
		fail "the container did not halt within 30 s"
	fi
	nap
done
echo "app_systemd: PASS"
