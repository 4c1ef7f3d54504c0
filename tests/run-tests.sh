#!/usr/bin/env bash
# Run every test program in a build's tests/ folder with a timeout; print a
# line per test and, last, "N passed, N failed, N skipped".
#   tests/run-tests.sh BUILD_DIR [PATTERN] [TIMEOUT_S]
set -u
build=${1:-build}
pattern=${2:-}
tmo=${3:-${NM_TEST_TIMEOUT:-300}}
pass=0 fail=0 skip=0 failed=()
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if [ -n "$pattern" ] && ! [[ "$name" =~ $pattern ]]; then continue; fi
	log=$(mktemp)
	start=$(date +%s.%N)
	timeout --kill-after=10 "$tmo" "$t" >"$log" 2>&1
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
	case $rc in
	0)  pass=$((pass + 1)); printf 'PASS  %-32s %6ss\n' "$name" "$secs" ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-32s %6ss  %s\n' "$name" "$secs" \
		"$(grep -m1 '^SKIP' "$log" | sed 's/^SKIP: *//')" ;;
	124|137) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-32s %6ss  (timed out after %ss)\n' "$name" "$secs" "$tmo"; tail -n 20 "$log" | sed 's/^/      /' ;;
	*)  fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-32s %6ss  (exit %d)\n' "$name" "$secs" "$rc"; tail -n 30 "$log" | sed 's/^/      /' ;;
	esac
	rm -f "$log"
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
