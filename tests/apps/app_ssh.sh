#!/bin/sh
#
# app_ssh.sh - the tunnel's TCP link carried by an ssh -L port forward,
# to a private sshd on loopback: the use the README recommends when the
# path is not trusted (listen side on 127.0.0.1, reached through SSH).
#
#   udp-probe ping -> connect side -t 127.0.0.1:F
#     == ssh -L 127.0.0.1:F:127.0.0.1:T == sshd 127.0.0.1:S ==
#     -> listen side -l 127.0.0.1:T -> udp-probe echo
#
# Two tunnel pairs share the one ssh connection (two -L forwards): one in
# fixed mode, pinged by one client, and one in auto mode, pinged by four
# clients at once. Every echo must come back whole and to the client
# that sent it: none lost, corrupted, misrouted or late.
#
# The sshd is our own: its configuration, host key, authorised client key
# and pid file are in a temporary directory, it listens on 127.0.0.1
# only, accepts only that key and stops at exit. It runs as the user
# running the test (root in CI) and lets only that user in.
#
# Environment: UOT_BINARY, UOT_PROBE (set by make check); SSH_PINGS
# (default 200) datagrams of 1200 bytes per client.

set -eu

here=$(dirname "$0")
# shellcheck source=tests/apps/lib.sh
. "$here/lib.sh"
app_init app_ssh
need ssh ssh-keygen
# sshd must be run by its absolute path; it is not on a user's PATH.
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || SSHD=$(command -v sshd 2>/dev/null || true)
[ -n "$SSHD" ] || need sshd

COUNT=${SSH_PINGS:-200}
SIZE=1200
user=$(id -un)

# As root, sshd needs its privilege separation directory. Made if it is
# missing and left in place (openssh-server's own setup would make it,
# and a concurrent run may be using it).
if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
	mkdir -p /run/sshd
	chmod 0755 /run/sshd
fi

# shellcheck disable=SC2046
set -- $(freeports tcp 5)
S=$1 F1=$2 F2=$3 T1=$4 T2=$5
# shellcheck disable=SC2046
set -- $(freeports udp 6)
L1=$1 U1=$2 E1=$3 P1=$4 E2=$5 U2=$6

ssh-keygen -q -t ed25519 -N '' -C uot-test-host -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N '' -C uot-test-client -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"
cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $S
HostKey $dir/host_key
PidFile $dir/sshd.pid.own
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $user
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowTcpForwarding local
PermitOpen 127.0.0.1:$T1 127.0.0.1:$T2
X11Forwarding no
PrintMotd no
EOF

start sshd "$SSHD" -D -e -f "$dir/sshd_config"
wait_log sshd "Server listening on 127.0.0.1 port $S"

start listen1 "$UOT_BINARY" -l "127.0.0.1:$T1" -u "127.0.0.1:$L1" \
    -p "127.0.0.1:$E1"
wait_log listen1 "listening on"
start listen2 "$UOT_BINARY" -l "127.0.0.1:$T2" -u auto -p "127.0.0.1:$E2"
wait_log listen2 "listening on"
start echo1 "$UOT_PROBE" echo -b "127.0.0.1:$E1"
wait_log echo1 "echo listening on"
start echo2 "$UOT_PROBE" echo -b "127.0.0.1:$E2"
wait_log echo2 "echo listening on"

# -F /dev/null: none of the user's own ssh configuration. -v prints the
# line that says the session, and so the forwards, are up.
start ssh ssh -v -N -F /dev/null -i "$dir/client_key" -p "$S" \
    -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes \
    -o ConnectTimeout=20 \
    -L "127.0.0.1:$F1:127.0.0.1:$T1" -L "127.0.0.1:$F2:127.0.0.1:$T2" \
    "$user@127.0.0.1"
wait_log ssh "Entering interactive session"
wait_log sshd "Accepted publickey for $user"

# The connect sides dial the local ends of the ssh forwards.
start connect1 "$UOT_BINARY" -t "127.0.0.1:$F1" -u "127.0.0.1:$U1" \
    -p "127.0.0.1:$P1"
start connect2 "$UOT_BINARY" -t "127.0.0.1:$F2" -u "127.0.0.1:$U2" \
    -p 127.0.0.1:auto
wait_log connect1 "-> up"
wait_log connect2 "-> up"
# The listen sides see their peer come from sshd, not from a connect side.
wait_log listen1 "-> up"
wait_log listen2 "-> up"

# ping_through NAME ARGS...: udp-probe ping, its output in $dir/NAME.out; the
# "total:" line must show every datagram back, whole, to its sender.
ping_through() {
	n=$1
	shift
	t0=$(now_ms)
	rc=0
	timeout 300 "$UOT_PROBE" ping -n "$COUNT" -s "$SIZE" -w 10000 "$@" \
	    >"$dir/$n.out" 2>&1 || rc=$?
	total=$(grep '^total:' "$dir/$n.out" || true)
	echo "$app: $n ($(($(now_ms) - t0)) ms): $total"
	[ -n "$total" ] || { cat "$dir/$n.out"; fail "$n: no total: line"; }
	for what in lost corrupted misrouted late; do
		v=$(echo "$total" | sed -n "s/.* $what \([0-9]*\).*/\1/p")
		[ "$v" = 0 ] || fail "$n: $what $v: $total"
	done
	clients=$(echo "$total" | sed -n 's/.* clients \([0-9]*\).*/\1/p')
	got=$(echo "$total" | sed -n 's/.* received \([0-9]*\).*/\1/p')
	[ "$got" = $((clients * COUNT)) ] ||
	    fail "$n: $got echoes of $((clients * COUNT)): $total"
	[ "$rc" = 0 ] || fail "$n: udp-probe ping exited $rc: $total"
}

ping_through fixed -b "127.0.0.1:$P1" "127.0.0.1:$U1"
ping_through auto -c 4 "127.0.0.1:$U2"

echo "$app: connect side, fixed: $(stats connect1)"
echo "$app: connect side, auto:  $(stats connect2)"
echo "$app: ok: $((5 * COUNT)) datagrams of $SIZE bytes each way" \
    "through ssh -L, all back to their senders"
