#!/usr/bin/env bash
# gpu-check.sh - everything issue 14 asks of a GPU machine, in one go:
# the facts of the machine, `make test-gpu`'s tests (NM_TEST_GPU=1: a
# missing GPU fails them), the dmabuf tests against real exporters, the
# GPU-checked split stream through the command, and `netmem bench gpu`.
#
#   scripts/gpu-check.sh BUILD_DIR OUT_DIR
#
# BUILD_DIR holds a build's netmem and tests/ (a copy of one is enough:
# the tests find netmem at tests/../netmem); OUT_DIR gets a few logs (the
# device machine returns at most 8 files): facts.log, tests.log, rx.log,
# bench.log, bench.json and summary.txt.  Every step runs, under a
# timeout, whatever the earlier ones did; summary.txt says how each ended.
set -u
B=$(cd "${1:?BUILD_DIR}" && pwd)
OUT=${2:?OUT_DIR}
mkdir -p "$OUT"
here=$(cd "$(dirname "$0")" && pwd)
runner=$here/run-tests.sh
[ -x "$runner" ] || runner=$here/../tests/run-tests.sh
: >"$OUT/summary.txt"

# step NAME LOG TIMEOUT CMD...: run CMD, its output appended to LOG.
step() {
	local name=$1 log=$OUT/$2 tmo=$3 t0 rc
	shift 3
	t0=$(date +%s)
	{ echo; echo "=== $name ($(date -u +%H:%M:%S)): $*"; } >>"$log"
	timeout -k 5 "$tmo" "$@" >>"$log" 2>&1
	rc=$?
	echo "=== $name: exit $rc after $(( $(date +%s) - t0 )) s" >>"$log"
	printf '%-28s exit %3d  %4d s  (%s)\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" "${log##*/}" \
		>>"$OUT/summary.txt"
	return 0
}

facts() {
	date -u; uname -a; nproc; free -g | head -2
	cat /proc/driver/nvidia/version 2>&1
	nvidia-smi 2>&1 | head -20
	nvidia-smi --query-gpu=name,driver_version,pci.bus_id,memory.total --format=csv 2>&1
	echo "--- dmabuf exporters"; ls -l /dev/dma_heap /dev/udmabuf 2>&1
	echo "--- io_uring"; cat /proc/sys/kernel/io_uring_disabled 2>&1
	echo "--- libraries"; ldconfig -p | grep -E 'libcuda\.so|libnvrtc' 2>&1
	echo "NM_NVRTC_LIB=${NM_NVRTC_LIB:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
	ldd "$B/netmem"
	echo "--- netmem probe"; "$B/netmem" probe
}

# NVRTC and libcuda may sit outside the loader's path.
for d in $(find / -xdev \( -name 'libcuda.so.1' -o -name 'libnvrtc.so*' \) \
		-not -path '/proc/*' 2>/dev/null | xargs -r -n1 dirname | sort -u); do
	case ":${LD_LIBRARY_PATH:-}:" in *":$d:"*) ;; *) LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d ;; esac
done
export LD_LIBRARY_PATH
if [ -z "${NM_NVRTC_LIB:-}" ]; then
	NM_NVRTC_LIB=$(find / -xdev -name 'libnvrtc.so.1[0-9]*' -not -name '*alt*' \
		-not -path '/proc/*' 2>/dev/null | sort -V | tail -1)
	export NM_NVRTC_LIB
fi
command -v bc >/dev/null || export PATH=$here/bin:$PATH	# run-tests.sh's timing

export -f facts
export B
step facts facts.log 60 bash -c facts
# make test-gpu: every CUDA/GPU test, a missing GPU a failure.
step test-gpu tests.log 200 env NM_TEST_GPU=1 "$runner" "$B" '(cuda|gpu)' 60
# What they print, for the record (the runner shows output on failure only).
step gpu_dmabuf tests.log 60 env NM_TEST_GPU=1 "$B/tests/test_gpu_dmabuf"
step provider_dmabuf tests.log 60 "$B/tests/test_provider_dmabuf"
step gpu_checksum tests.log 60 env NM_TEST_GPU=1 "$B/tests/test_gpu_checksum"
# The GPU-checked stream through the command, 4 x 1 GiB, both engines.
for eng in socket uring; do
	step "rx_verify_$eng" rx.log 60 bash -c '
		B=$1 eng=$2
		"$B/netmem" rx --listen 127.0.0.1:0 --engine $eng --split --provider cuda \
			--verify seq --once --expect 4 --timeout 50 --no-stats 2>"$3.err" &
		rx=$!
		for i in $(seq 100); do port=$(grep -o "listening on 127.0.0.1:[0-9]*" "$3.err" |
			cut -d: -f2); [ -n "$port" ] && break; sleep 0.1; done
		cat "$3.err"
		[ -n "$port" ] || { wait $rx; exit 1; }
		"$B/netmem" tx --connect 127.0.0.1:$port --bytes 1G --conns 4 --framed \
			--msg-size 1M --quiet; txrc=$?
		wait $rx; rc=$?; cat "$3.err" | grep -v "listening on\|live stats"
		echo "tx exit $txrc, rx exit $rc"; exit $(( rc || txrc ))' _ "$B" "$eng" "$OUT/.rx-$eng"
done
rm -f "$OUT"/.rx-*.err
# The benchmark: JSON (the figures), then text (the same, readable).
step bench_gpu_json bench.log 150 bash -c '"$1/netmem" bench gpu --json | tee "$2"' _ "$B" "$OUT/bench.json"
step bench_gpu_text bench.log 90 "$B/netmem" bench gpu --reps 3 --seconds 2
step bench_gpu_socket bench.log 90 "$B/netmem" bench gpu --reps 3 --seconds 2 --engine socket
# The same without batch copies (each copy its own driver call), to A/B.
step bench_gpu_nobatch bench.log 90 env NM_CUDA_NO_BATCH=1 "$B/netmem" bench gpu --reps 3 --seconds 2
# Payload chunks of 64 KiB (the default is 256 KiB): more places, more copies.
step bench_gpu_order4 bench.log 90 "$B/netmem" bench gpu --reps 3 --seconds 2 --chunk-order 4
echo "done $(date -u +%H:%M:%S)" >>"$OUT/summary.txt"
cat "$OUT/summary.txt"
