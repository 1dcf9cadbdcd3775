#!/bin/sh
#
# app_dns.sh - many DNS clients at once through an auto-mode tunnel to
# dnsmasq; every client must get its own answer.
#
#   N x dig @127.0.0.1 -p U hostK.test  (each from its own UDP port)
#     -> connect side -u 127.0.0.1:U -p 127.0.0.1:auto
#        == TCP 127.0.0.1:T ==
#        listen side -u auto (a socket per client) -> dnsmasq 127.0.0.1:D
#
# dnsmasq answers only from its command line (no resolv.conf, no hosts
# file, no configuration file): hostK.test is 198.51.100.K, and anything
# under example.test is 192.0.2.1. Client K asks for hostK.test, so an
# answer that reached the wrong client shows as the wrong address.
#
# Environment: UOT_BINARY, UOT_PROBE (set by make check); DNS_CLIENTS
# (default 100, at most 250) sets how many clients ask at once.

set -eu

here=$(dirname "$0")
# shellcheck source=tests/apps/lib.sh
. "$here/lib.sh"
app_init app_dns
need dnsmasq dig

N=${DNS_CLIENTS:-100}
if [ "$N" -lt 1 ] || [ "$N" -gt 250 ]; then
	fail "DNS_CLIENTS must be 1 to 250"
fi

# dnsmasq serves TCP on its port too: D must be free for both.
D=$(freeports both 1)
U=$(freeports udp 1)
while [ "$U" = "$D" ]; do
	U=$(freeports udp 1)
done
T=$(freeports tcp 1)

records=
k=1
while [ "$k" -le "$N" ]; do
	records="$records --host-record=host$k.test,198.51.100.$k"
	k=$((k + 1))
done

# As root dnsmasq would switch to its own user; staying who we are
# works for root and non-root alike (the port is not privileged).
# shellcheck disable=SC2086 # $records is one word a record
start dnsmasq dnsmasq --keep-in-foreground --log-facility=- \
    --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address=127.0.0.1 --bind-interfaces --port="$D" \
    --pid-file="$dir/dnsmasq.pid.own" --user="$(id -un)" \
    --group="$(id -gn)" --address=/example.test/192.0.2.1 $records
wait_log dnsmasq "started, version"

# ask PORT NAME: the answer to an A query, or nothing.
ask() {
	dig @127.0.0.1 -p "$1" +short +tries=3 +time=2 A "$2" 2>&1 || true
}

# dnsmasq answers directly first: the records are what we think.
a=$(ask "$D" host1.test)
[ "$a" = 198.51.100.1 ] ||
    fail "dnsmasq itself answered '$a' for host1.test, not 198.51.100.1"

start listen "$UOT_BINARY" -v -l "127.0.0.1:$T" -u auto -p "127.0.0.1:$D"
wait_log listen "listening on"
start connect "$UOT_BINARY" -v -t "127.0.0.1:$T" -u "127.0.0.1:$U" \
    -p 127.0.0.1:auto
wait_log connect "-> up"

a=$(ask "$U" www.example.test)
[ "$a" = 192.0.2.1 ] ||
    fail "through the tunnel www.example.test is '$a', not 192.0.2.1"

# All the clients at once, each asking for its own name.
t0=$(now_ms)
k=1
while [ "$k" -le "$N" ]; do
	spawn "dig$k" dig @127.0.0.1 -p "$U" +short +tries=3 +time=2 \
	    A "host$k.test"
	k=$((k + 1))
done
k=1
while [ "$k" -le "$N" ]; do
	wait "$(pid_of "dig$k")" || true
	k=$((k + 1))
done
took=$(($(now_ms) - t0))

right=0 wrong=0 none=0
k=1
while [ "$k" -le "$N" ]; do
	a=$(cat "$dir/dig$k.out")
	if [ "$a" = "198.51.100.$k" ]; then
		right=$((right + 1))
	elif [ -z "$a" ] || grep -q 'timed out' "$dir/dig$k.out"; then
		none=$((none + 1))
		echo "$app: host$k.test: no answer: $a"
	else
		wrong=$((wrong + 1))
		echo "$app: host$k.test: wrong answer: $(echo "$a" | tr '\n' ' ')"
	fi
	k=$((k + 1))
done
through=$(stats connect)
echo "$app: connect side: $through"
# The listen side logs (-v) each flow it opens, one a client address;
# only reported, as a client may reuse the port of one that has finished.
flows=$(grep -c '): new, socket' "$dir/listen.log" || true)
echo "$app: $N clients in $took ms: $right answered right," \
    "$wrong wrong, $none unanswered; the listen side opened $flows flows"
[ "$wrong" -eq 0 ] || fail "$wrong clients got another client's answer"
[ "$none" -eq 0 ] || fail "$none clients got no answer"
in=$(counter "$through" "udp in")
[ "${in:-0}" -ge $((N + 1)) ] ||
    fail "the connect side took in ${in:-?} datagrams for $((N + 1))" \
        "queries: the queries did not go through the tunnel"
echo "$app: ok: every one of $N clients got its own answer"
