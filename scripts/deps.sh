#!/usr/bin/env bash
# Install the Debian packages netmem needs to build, test and benchmark, if
# any is missing.  Needs root for apt-get; says what is missing otherwise.
set -eu
pkgs=(build-essential cmake pkg-config liburing-dev libdpdk-dev libnuma-dev
      iperf3 socat netcat-openbsd iproute2 bc valgrind clang)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install these with apt-get: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
