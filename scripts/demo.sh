#!/usr/bin/env bash
# demo.sh BUILD_DIR - a real loopback receive into pooled buffers (`make demo`).
#
#  1. `netmem rx --once --verify seq` (engine uring, provider host) takes
#     about five seconds of `netmem tx` and checks every byte against the
#     pattern; both sides print their figures.
#  2. The same with header/data split: tx --framed, rx --split.
#  3. A file of random bytes goes through socat into `netmem rx --out`, and
#     cmp says whether what landed is what was sent.
#
# Ports are picked by rx itself (--listen 127.0.0.1:0) and read from its
# "listening on" line, so nothing races for a port.  Whatever happens, the
# background receivers are killed and the temporary files removed.
set -euo pipefail

build=${1:-build}
bin=$build/netmem
secs=${NM_DEMO_SECONDS:-5}
[ -x "$bin" ] || { echo "demo: $bin not found; run make first" >&2; exit 1; }

tmp=$(mktemp -d /tmp/netmem-demo.XXXXXX)
rx_pid=
cleanup() {
	if [ -n "$rx_pid" ] && kill -0 "$rx_pid" 2>/dev/null; then
		kill "$rx_pid" 2>/dev/null || true
		wait "$rx_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_rx ARGS...: netmem rx in the background; sets rx_pid and port.
start_rx() {
	: >"$tmp/rx.err"
	"$bin" rx --listen 127.0.0.1:0 --once --timeout 60 "$@" \
		>"$tmp/rx.out" 2>"$tmp/rx.err" &
	rx_pid=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$tmp/rx.err")
		[ -n "$port" ] && return 0
		kill -0 "$rx_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "demo: netmem rx did not start:" >&2
	cat "$tmp/rx.err" >&2
	exit 1
}

# finish_rx: wait for rx to exit; print what it said; fail if it failed.
finish_rx() {
	local rc=0
	wait "$rx_pid" || rc=$?
	rx_pid=
	sed 's/^/  /' "$tmp/rx.out"
	grep -v '^rx: [0-9.]* s:' "$tmp/rx.err" | grep -v 'listening on' | sed 's/^/  /' || true
	if [ "$rc" -ne 0 ]; then
		echo "demo: netmem rx failed (exit $rc)" >&2
		exit 1
	fi
}

echo "== 1. ${secs} s of netmem tx -> netmem rx (engine uring, provider host), every byte verified"
start_rx --verify seq
"$bin" tx --connect "127.0.0.1:$port" --seconds "$secs" --msg-size 64K --pattern seq \
	--wait 5 | sed 's/^/  /'
finish_rx
grep -q '^rx: verify seq: ok' "$tmp/rx.out" || { echo "demo: verify did not pass" >&2; exit 1; }

echo
echo "== 2. header/data split: tx --framed (64 KiB frames) -> rx --split, 2 s"
start_rx --split --verify random:99
"$bin" tx --connect "127.0.0.1:$port" --seconds 2 --msg-size 64K --pattern random 99 \
	--framed --wait 5 | sed 's/^/  /'
finish_rx

echo
if command -v socat >/dev/null; then
	echo "== 3. 256 MiB of random bytes: socat -> rx --out FILE, compared with cmp"
	head -c 256M /dev/urandom >"$tmp/sent"
	start_rx --out "$tmp/received"
	socat -u "OPEN:$tmp/sent,rdonly" "TCP:127.0.0.1:$port"
	finish_rx
	if cmp "$tmp/sent" "$tmp/received"; then
		echo "  cmp: the received file is identical to the sent one ($(stat -c %s "$tmp/sent") bytes)"
	else
		echo "demo: the received file differs from the sent one" >&2
		exit 1
	fi
else
	echo "== 3. skipped: socat is not installed (apt-get install socat)"
fi
echo
echo "demo: ok"
