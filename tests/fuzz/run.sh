#!/bin/sh
#
# run.sh - run one libFuzzer target for a while; used by 'make fuzz'.
#
# usage: run.sh NAME SECONDS FUZZDIR [LIBFUZZER-FLAG ...]
#
# Run from the tests directory of a build configured with
# --enable-fuzzing. The target is fuzz/NAME; its seed corpus,
# FUZZDIR/corpus/NAME, is only read (it may be a read-only source tree).
# New inputs go to fuzz/run/NAME, crashes to fuzz/artifacts/NAME-*, and
# libFuzzer's whole output to fuzz/NAME.log. The last lines printed are
# libFuzzer's own final statistics: "Done N runs in S second(s)" and
# the stat:: lines (number_of_executed_units, average_exec_per_sec, ...),
# plus the last "#N ... cov: ... ft: ... corp: ..." status line.
#
# Exit status: 0 when the time ran out with nothing found, 1 otherwise
# (the tail of the log and the crashing input's path are shown).

set -u

if [ $# -lt 3 ]; then
	echo "usage: run.sh NAME SECONDS FUZZDIR [LIBFUZZER-FLAG ...]" >&2
	exit 2
fi
name=$1
secs=$2
src=$3
shift 3

bin=fuzz/$name
seeds=$src/corpus/$name
work=fuzz/run/$name
log=fuzz/$name.log

if [ ! -x "$bin" ]; then
	echo "fuzz: $bin is not built (configure --enable-fuzzing CC=clang)" >&2
	exit 1
fi
mkdir -p "$work" fuzz/artifacts || exit 1
set -- -max_total_time="$secs" -print_final_stats=1 -timeout=30 \
    -artifact_prefix="fuzz/artifacts/$name-" "$@"
if [ -f "$src/$name.dict" ]; then
	set -- -dict="$src/$name.dict" "$@"
fi

echo "fuzz: $name for $secs s: $bin $* $work $seeds"
start=$(date +%s)
"$bin" "$@" "$work" "$seeds" >"$log" 2>&1
rc=$?
took=$(($(date +%s) - start))

if [ "$rc" -ne 0 ]; then
	echo "fuzz: $name FAILED (exit status $rc after $took s); the end of $log:"
	tail -n 60 "$log"
	for f in fuzz/artifacts/"$name"-*; do
		[ -f "$f" ] && echo "fuzz: $name: crashing input: $f" \
		    "(reproduce: $bin $f)"
	done
	exit 1
fi

# The last status line, then the final statistics.
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
echo "fuzz: $name: $last"
grep -E '^(Done [0-9]+ runs|stat::)' "$log" | sed "s/^/fuzz: $name: /"
echo "fuzz: $name: $(find "$work" -type f | wc -l) new inputs in $work," \
    "nothing found in $took s"
exit 0
