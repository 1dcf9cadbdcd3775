#!/bin/sh
#
# check_docs.sh - the manual page, the program and the contrib files agree.
#
#  1. mandoc -Tlint -Wwarning finds nothing in man/udp-over-tcp.1.
#  2. Every option that --help prints, long and short, appears in the
#     manual page as "Fl name".
#  3. Every option in the manual's option list (its ".It Fl" lines) is
#     accepted by the program, and takes a value exactly when the manual
#     shows one: the program is run with the option, a plausible value if
#     the manual gives it an argument, and a required option deliberately
#     left out, and its complaint must be about that missing option, not
#     about an unknown option or a value it did not expect (--print-pin,
#     which needs nothing but --tls-cert, complains about that instead).
#     Every other "Fl" in the page must name an option of that list.
#     A build without TLS parses the TLS options as any other and refuses
#     them only after, so this holds for it too.
#  4. The bash and zsh completions in contrib/completion offer every long
#     option of --help (bash: by calling the completion function).
#  5. The options of every contrib/examples/*.conf are accepted (parsed
#     up to a final --help, so nothing is bound or dialled).
#
# Finds the program through $UOT_BINARY and the sources through $srcdir
# (both set by 'make check'); UOT_MANPAGE overrides the page.  Without
# mandoc, the lint is skipped and the test exits 77 (SKIP) if all else
# passed, unless CI=true: CI installs mandoc, so there it is a failure.

set -u

: "${UOT_BINARY:?set UOT_BINARY to the udp-over-tcp binary}"
top=${srcdir:-.}/..
man=${UOT_MANPAGE:-$top/man/udp-over-tcp.1}
contrib=$top/contrib

if [ ! -x "$UOT_BINARY" ]; then
	echo "check_docs: $UOT_BINARY is not executable" >&2
	exit 99
fi
if [ ! -r "$man" ]; then
	echo "check_docs: cannot read $man" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/uot-docs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

failed=0
skipped=0

fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

ok() {
	echo "ok: $*"
}

# Run the program with a time limit where timeout(1) exists: with a
# required option missing it never starts, but a regression must not hang
# the test suite.
run() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 10 "$UOT_BINARY" "$@"
	else
		"$UOT_BINARY" "$@"
	fi
}

# ---- 1. mandoc lint ---------------------------------------------------
if command -v mandoc >/dev/null 2>&1; then
	if mandoc -Tlint -Wwarning "$man" >"$tmp/lint" 2>&1; then
		ok "mandoc -Tlint -Wwarning is clean"
	else
		fail "mandoc -Tlint -Wwarning $man:"
		sed 's/^/    /' "$tmp/lint"
	fi
elif [ "${CI:-}" = true ]; then
	fail "mandoc is not installed (CI=true: it must be)"
else
	echo "SKIP: mandoc is not installed; manual page not linted"
	skipped=1
fi

# ---- 2. --help against the manual page ----------------------------------
if ! run --help >"$tmp/help" 2>&1; then
	fail "$UOT_BINARY --help exited non-zero"
fi
# Long options anywhere in the help text; short ones from "  -x, --..."
grep -o -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u >"$tmp/help-long"
sed -n 's/^ *-\([A-Za-z0-9]\), --.*/\1/p' "$tmp/help" | sort -u \
    >"$tmp/help-short"
if [ ! -s "$tmp/help-long" ]; then
	fail "no long options found in --help"
fi

# Every "Fl NAME" in the page, on a macro line or as a called macro.
awk '{
	sub(/^\./, "")
	for (i = 1; i < NF; i++)
		if ($i == "Fl" && $(i + 1) ~ /^-?[A-Za-z0-9]/)
			print $(i + 1)
}' "$man" | sort -u >"$tmp/man-fl"

n=0
while read -r opt; do
	name=${opt#--}
	if grep -qx -- "-$name" "$tmp/man-fl"; then
		n=$((n + 1))
	else
		fail "--help has $opt, the manual page has no 'Fl -$name'"
	fi
done <"$tmp/help-long"
while read -r c; do
	if grep -qx -- "$c" "$tmp/man-fl"; then
		n=$((n + 1))
	else
		fail "--help has -$c, the manual page has no 'Fl $c'"
	fi
done <"$tmp/help-short"
ok "$n options of --help found in the manual page"

# ---- 3. the manual's option list against the program --------------------
# From each ".It Fl ..." line, split at " , " into its forms, one line per
# form: the name as given to Fl, and "arg" if the form shows an argument.
awk '/^\.It Fl / {
	line = substr($0, 5)
	n = split(line, form, / , /)
	for (k = 1; k <= n; k++) {
		m = split(form[k], w, / +/)
		if (w[1] != "Fl" || m < 2)
			continue
		arg = "noarg"
		for (j = 3; j <= m; j++)
			if (w[j] == "Ar" || w[j] == "Cm" || w[j] == "Oo")
				arg = "arg"
		print w[2], arg
	}
}' "$man" >"$tmp/man-list"
if [ ! -s "$tmp/man-list" ]; then
	fail "no '.It Fl' option entries found in the manual page"
fi

# A value the option should accept, by name.
plausible() {
	case $1 in
	-framing) echo flow ;;
	-syslog-facility) echo daemon ;;
	-allow) echo 192.0.2.0/24 ;;
	-queue-memory) echo 67108864 ;;
	-tls-pin) echo sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hr4ks= ;;
	l | -tcp-listen) echo 127.0.0.1:7878 ;;
	t | -tcp-connect) echo 127.0.0.1:7878 ;;
	u | -udp-bind) echo 127.0.0.1:9999 ;;
	p | -udp-sendto) echo 127.0.0.1:9998 ;;
	*) echo 1 ;;
	esac
}

n=0
while read -r name arg; do
	opt="-$name"		# "Fl -name" is --name, "Fl x" is -x
	# A side other than the one tested, so that only --udp-bind or
	# --udp-sendto is missing.
	case $name in
	l | t | -tcp-listen | -tcp-connect) side="" ;;
	*) side="--tcp-connect 127.0.0.1:7878" ;;
	esac
	if [ "$arg" = arg ]; then
		value=$(plausible "$name")
		tried="$opt $value $side"
		# shellcheck disable=SC2086
		run "$opt" "$value" $side >"$tmp/out" 2>"$tmp/err"
	else
		tried="$opt $side"
		# shellcheck disable=SC2086
		run "$opt" $side >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
	msg=$(head -n 1 "$tmp/err")
	case $rc:$msg in
	*unknown*|*ambiguous*)
		fail "the manual lists $opt, the program says: $msg" ;;
	*"needs a value"*)
		fail "the manual shows no argument for $opt, the program says: $msg" ;;
	*"takes no value"*|*"unexpected argument"*)
		fail "the manual shows an argument for $opt, the program says: $msg" ;;
	0:*)
		if [ -s "$tmp/out" ]; then
			n=$((n + 1))	# -h, -V: printed and exited
		else
			fail "$opt: exit 0 with no output"
		fi
		;;
	2:*required*)
		n=$((n + 1)) ;;
	2:*"--print-pin: needs --tls-cert"*)
		# Known, and took no value: all it lacks is the certificate.
		if [ "$name" = -print-pin ]; then
			n=$((n + 1))
		else
			fail "'$tried': exit $rc, not the missing option: $msg"
		fi
		;;
	124:*)
		fail "$opt: the program did not exit (it should not have started)" ;;
	*)
		fail "'$tried': exit $rc, not the missing option: $msg" ;;
	esac
done <"$tmp/man-list"
ok "$n option forms of the manual page accepted by the program"

# Every Fl in the page names an option of the list.
cut -d ' ' -f 1 "$tmp/man-list" | sort -u >"$tmp/man-known"
while read -r name; do
	if ! grep -qx -- "$name" "$tmp/man-known"; then
		fail "the manual page mentions 'Fl $name', which its option list lacks"
	fi
done <"$tmp/man-fl"

# ---- 4. completions -----------------------------------------------------
bashcomp=$contrib/completion/udp-over-tcp.bash
zshcomp=$contrib/completion/_udp-over-tcp
if [ ! -r "$bashcomp" ] || [ ! -r "$zshcomp" ]; then
	fail "completion files missing under $contrib/completion"
else
	if command -v bash >/dev/null 2>&1; then
		# shellcheck disable=SC2016
		if bash -c '. "$1" &&
		    COMP_WORDS=(udp-over-tcp --) COMP_CWORD=1 &&
		    _udp_over_tcp && printf "%s\n" "${COMPREPLY[@]}"' \
		    check_docs "$bashcomp" >"$tmp/bash-long" 2>&1; then
			missing=""
			while read -r opt; do
				grep -qx -- "$opt" "$tmp/bash-long" ||
				    missing="$missing $opt"
			done <"$tmp/help-long"
			if [ -n "$missing" ]; then
				fail "bash completion does not offer:$missing"
			else
				ok "bash completion offers every long option"
			fi
		else
			fail "bash completion failed:"
			sed 's/^/    /' "$tmp/bash-long"
		fi
	else
		echo "note: no bash here; bash completion not exercised"
	fi
	missing=""
	while read -r opt; do
		grep -q -- "${opt}[]=[}]" "$zshcomp" || missing="$missing $opt"
	done <"$tmp/help-long"
	if [ -n "$missing" ]; then
		fail "zsh completion does not describe:$missing"
	else
		ok "zsh completion describes every long option"
	fi
	if command -v zsh >/dev/null 2>&1; then
		if zsh -n "$zshcomp"; then
			ok "zsh -n $zshcomp"
		else
			fail "zsh -n $zshcomp"
		fi
	fi
fi

# ---- 5. example configurations -----------------------------------------
n=0
for conf in "$contrib"/examples/*.conf; do
	[ -r "$conf" ] || continue
	UOT_OPTS=""
	# shellcheck disable=SC1090
	. "$conf"
	if [ -z "$UOT_OPTS" ]; then
		fail "$conf sets no UOT_OPTS"
		continue
	fi
	# shellcheck disable=SC2086
	if run $UOT_OPTS --help >/dev/null 2>"$tmp/err"; then
		n=$((n + 1))
	else
		fail "$conf: $(head -n 1 "$tmp/err")"
	fi
done
if [ "$n" -eq 0 ] && [ "$failed" -eq 0 ]; then
	fail "no example configurations under $contrib/examples"
fi
ok "$n example configurations parse"

if [ "$failed" -ne 0 ]; then
	echo "check_docs: $failed check(s) failed"
	exit 1
fi
if [ "$skipped" -ne 0 ]; then
	exit 77
fi
exit 0
