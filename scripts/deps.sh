#!/usr/bin/env bash
# Install the Debian packages netmem uses to build, test and benchmark, if
# any is missing: says which and why, then shows apt's progress (a line per
# step of 5 %, the whole log on failure).  Needs root for apt-get; says
# what to install otherwise.  Each package is here because something in
# the tree uses it:
pkgs=(
	build-essential "gcc, make, binutils (readelf, nm: tests/test_install*, test_man_pages)"
	cmake           "the build"
	pkg-config      "finding liburing and libdpdk; tests/test_install.c"
	liburing-dev    "the io_uring receive engine (src/rx/uring.c)"
	libdpdk-dev     "bench pool's DPDK baseline (bench/dpdk/, a module the bench loads)"
	python3         "man pages from the headers and --help (scripts/gen-man.py)"
	man-db          "man(1), to read them (tests/test_man_install.c)"
	iperf3          "bench rx's iperf3 baseline (bench/bench_rx.c)"
	socat           "make demo, tests/test_cli_rx_socat.c"
	netcat-openbsd  "tests/test_cli_rx_socat.c"
	libxdp-dev      "the xdp engine (src/rx/xdp.c) and bench pkt's libxdp reference receiver"
	libbpf-dev      "libxdp's headers include libbpf's (the xdp engine, bench pkt)"
	iproute2        "bench rx's 'ip tcp_metrics delete'; the packet rig's namespaces and veths (tests/netns_rig.h)"
	bc              "tests/run-tests.sh's timings"
	clang           "the fuzzers (fuzz/, cmake -DNM_FUZZ=ON)"
)
set -eu
missing=() why=()
for ((i = 0; i < ${#pkgs[@]}; i += 2)); do
	p=${pkgs[i]}
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
	missing+=("$p")
	why+=("$(printf '  %-16s %s' "$p" "${pkgs[i + 1]}")")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: ${#missing[@]} Debian package(s) missing, for:"
printf '%s\n' "${why[@]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install them with: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/netmem-deps.XXXXXX)
trap 'rm -f "$log"' EXIT

# apt's own lines for the package lists (a few), then its status lines
# (APT::Status-Fd: "dlstatus:N:PERCENT:what" while downloading,
# "pmstatus:PKG:PERCENT:what" while unpacking and setting up) shown each
# time the percentage passes a multiple of 5.
echo "deps: apt-get update"
if ! apt-get update -q >"$log" 2>&1; then
	cat "$log" >&2
	echo "deps: apt-get update failed" >&2
	exit 1
fi
echo "deps: apt-get install --no-install-recommends ${missing[*]}"
start=$SECONDS
set +e
apt-get install -y -q --no-install-recommends -o APT::Status-Fd=3 "${missing[@]}" \
	3>&1 >"$log" 2>&1 | {
	last=-5 phase=
	while IFS=: read -r kind _ pct what; do
		case $kind in
		dlstatus) now="download" ;;
		pmstatus) now="install " ;;
		*) continue ;;
		esac
		p=${pct%%.*}
		if [ "$now" != "$phase" ]; then
			phase=$now last=-5
		fi
		if [ "$p" -ge $((last + 5)) ] || { [ "$p" -eq 100 ] && [ "$last" -ne 100 ]; }; then
			last=$p
			printf 'deps: %s %3d%%  %s\n' "$phase" "$p" "$what"
		fi
	done
}
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
	cat "$log" >&2
	echo "deps: apt-get install failed (exit $rc)" >&2
	exit 1
fi
echo "deps: installed ${#missing[@]} package(s) and what they need in $((SECONDS - start)) s"
