#!/usr/bin/env bash
# Run the fuzzers of a fuzz build, each for a while, from the seed corpus
# in the tree plus what earlier runs found (kept in BUILD/fuzz/corpus/).
#   fuzz/run.sh BUILD SECONDS [HARNESS...]     (default: every fuzz_*)
# Known bugs (fuzz/known-bugs) are stepped around; NM_FUZZ_SKIP set in the
# environment replaces that list ("" checks everything).  A crash, a
# sanitizer report or a model mismatch stops the run with exit 1 and the
# reproducer's path; rerun it with BUILD/fuzz/HARNESS FILE.
# Last line per harness: runs, seconds, exec/s, coverage, corpus size.
set -u
build=${1:?usage: fuzz/run.sh BUILD SECONDS [HARNESS...]}
secs=${2:?usage: fuzz/run.sh BUILD SECONDS [HARNESS...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${NM_FUZZ_SKIP+set}" ]; then
	NM_FUZZ_SKIP=$(grep -v '^#' "$here/known-bugs" | awk 'NF { printf "%s%s", s, $1; s = "," }')
fi
export NM_FUZZ_SKIP
[ -n "$NM_FUZZ_SKIP" ] && echo "fuzz: stepping around known bugs: $NM_FUZZ_SKIP"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$build"/fuzz/fuzz_*; do
		[ -x "$f" ] && names+=("$(basename "$f")")
	done
fi
[ ${#names[@]} -gt 0 ] || { echo "fuzz: no fuzzers in $build/fuzz" >&2; exit 1; }
fail=0
for n in "${names[@]}"; do
	bin=$build/fuzz/$n
	work=$build/fuzz/corpus/$n
	log=$build/fuzz/$n.log
	mkdir -p "$work"
	# Each harness's longest input: long enough for its sequences, short
	# enough to stay fast.
	case $n in
	fuzz_cli)   extra=(-max_len=256 -close_fd_mask=3) ;;
	fuzz_split) extra=(-max_len=1024) ;;
	*)          extra=(-max_len=512) ;;
	esac
	nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$build/fuzz/$n-" "${extra[@]}" \
		"$work" "$here/corpus/$n" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
	corp=$(ls "$work" | wc -l)
	if [ $rc -ne 0 ]; then
		fail=1
		echo "FAIL  $n: exit $rc after ${runs:-?} runs; last lines of $log:"
		grep -E 'ERROR|SUMMARY|runtime error|check failed|expected|Test unit written|fuzz_[a-z]+\.c:[0-9]+: ' "$log" | tail -n 8 | sed 's/^/      /'
	else
		printf 'PASS  %-11s %10s runs in %ss, %s/s, %s, corpus %s\n' "$n" "${runs:-?}" "$secs" \
			"${rate:-?}" "${cov:-cov: ?}" "$corp"
	fi
done
exit $fail
