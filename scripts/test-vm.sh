#!/usr/bin/env bash
# test-vm.sh - run the test suite on the kernel Debian 12 ships (linux-image-
# amd64, 6.1) under QEMU: KVM where /dev/kvm can be opened, TCG otherwise.
#
#   scripts/test-vm.sh [PATTERN]      (make test-vm)
#
# Everything lives under build-vm/ (ignored by git): the build (build/),
# the kernel package and what is unpacked from it (cache/), the initramfs
# (initramfs/, initramfs.cpio) and the serial console's log (console.log).
#
# The guest is a busybox initramfs holding the test programs, the netmem
# command and the examples at the same absolute paths as here (tests find
# the command next to themselves and some know their build folder by
# name), the shared libraries they link (copied from this host with ldd),
# and an /init that mounts proc/sys/devtmpfs/tmpfs, brings lo up, runs
# every test with a timeout (run-tests.sh's output, in busybox sh: the
# guest has neither bash nor bc) and powers off.  No kernel modules are
# needed: Debian's 6.1 has io_uring, TCP/IPv4/IPv6, unix sockets, tmpfs,
# memfd, hugetlbfs, devtmpfs and the 8250 console built in (checked below
# from the package's config); it has no udmabuf at all.  Tests that need a
# compiler, cmake or python (the toolchain tests) skip in the guest.
#
# Environment: NM_VM_MEM (MiB, 2048), NM_VM_CPUS (2), NM_VM_TIMEOUT (whole
# run, s, 3600), NM_TEST_TIMEOUT (per test, s, 300), NM_VM_HUGEPAGES
# (2 MiB pages reserved in the guest, 64), NM_VM_ACCEL (kvm or tcg),
# NM_VM_CPU (QEMU's -cpu).
# Exit status: 0 when the guest's last line says 0 failed; 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
vm=$root/build-vm
build=$vm/build
cache=$vm/cache
pattern=${1:-}
mem=${NM_VM_MEM:-2048}
cpus=${NM_VM_CPUS:-2}
run_tmo=${NM_VM_TIMEOUT:-3600}
test_tmo=${NM_TEST_TIMEOUT:-300}
hugepages=${NM_VM_HUGEPAGES:-64}

say() { echo "test-vm: $*" >&2; }
die() { say "$*"; exit 1; }

# --- tools ------------------------------------------------------------
pkgs=()
command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
command -v cpio >/dev/null || pkgs+=(cpio)
# the guest's busybox must be static: it is the whole userland
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
	pkgs+=(busybox-static)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
	say "installing ${pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${pkgs[@]}" >/dev/null || die "apt-get install ${pkgs[*]} failed"
fi

# --- kernel: the package linux-image-amd64 depends on -------------------
mkdir -p "$cache"
kpkg_of() { apt-cache depends linux-image-amd64 2>/dev/null |
	    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
kpkg=$(kpkg_of)
if [ -z "$kpkg" ]; then
	apt-get update >/dev/null 2>&1 || true
	kpkg=$(kpkg_of)
fi
[ -n "$kpkg" ] || die "cannot tell which package linux-image-amd64 depends on"
kdir=$cache/$kpkg
if ! ls "$kdir"/boot/vmlinuz-* >/dev/null 2>&1; then
	deb=$(ls "$cache/${kpkg}"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		say "downloading $kpkg"
		(cd "$cache" && apt-get download "$kpkg" >/dev/null 2>&1) ||
			die "apt-get download $kpkg failed"
		deb=$(ls "$cache/${kpkg}"_*.deb | head -n1)
	fi
	# only /boot (kernel and config): no module is needed (see above)
	rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir.tmp" ./boot
	mv "$kdir.tmp" "$kdir"
fi
kernel=$(ls "$kdir"/boot/vmlinuz-* | head -n1)
kconfig=$(ls "$kdir"/boot/config-* | head -n1)
for opt in IO_URING INET IPV6 UNIX TMPFS MEMFD_CREATE HUGETLBFS DEVTMPFS \
	   SERIAL_8250_CONSOLE BLK_DEV_INITRD; do
	grep -q "^CONFIG_$opt=y" "$kconfig" || die "$kpkg: CONFIG_$opt is not built in"
done

# --- build --------------------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" >/dev/null
fi
cmake --build "$build" -j "$(nproc)" >"$vm/build.log" 2>&1 ||
	{ tail -n 30 "$vm/build.log" >&2; die "build failed (build-vm/build.log)"; }

# --- initramfs ------------------------------------------------------------
ir=$vm/initramfs
rm -rf "$ir"
mkdir -p "$ir"/{bin,dev,proc,sys,tmp,etc,root} "$ir$build"/{tests,examples}
cp /bin/busybox "$ir/bin/busybox"
for app in $("$ir/bin/busybox" --list); do
	[ -e "$ir/bin/$app" ] || ln -s busybox "$ir/bin/$app"
done
bins=("$build/netmem")
for t in "$build"/tests/test_* "$build"/examples/* "$build"/*.so*; do
	[ -f "$t" ] && [ -x "$t" ] && bins+=("$t")
done
for b in "${bins[@]}"; do
	strip --strip-debug -o "$ir$b" "$b"
done
# what tests read beside the programs: the build's generated files (man
# pages, netmem.pc) and the sources' text (docs/cli.md is found from a
# test's __FILE__), at the same paths
find "$build" -maxdepth 1 -type f ! -name '*.a' ! -name 'CMakeCache.txt' \
	-exec cp -n {} "$ir$build/" \;
[ -d "$build/man" ] && cp -r "$build/man" "$ir$build/"
mkdir -p "$ir$root"
for d in docs include tests scripts tools src; do
	[ -d "$root/$d" ] && cp -r "$root/$d" "$ir$root/"
done
# Programs the tests run where the host has them (bash for scripts, bc,
# socat and OpenBSD nc for the CLI tests, iperf3 for bench rx), ahead of
# busybox's applets on the guest's PATH: busybox's nc is not the nc the
# tests expect.  Compilers, cmake and python stay out: those tests skip.
mkdir -p "$ir/usr/bin"
for p in bash bc socat nc iperf3; do
	src=$(command -v "$p" 2>/dev/null) || continue
	src=$(readlink -f "$src")
	cp "$src" "$ir/usr/bin/$p"
	ln -sf ../usr/bin/"$p" "$ir/bin/$p"	# for #!/bin/bash
	bins+=("$src")
done
ln -s ../../bin/busybox "$ir/usr/bin/env"	# for #!/usr/bin/env
# the shared libraries they load (liburing, libc, ld.so, ...), same paths
ldd "${bins[@]}" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' |
	sort -u | while read -r lib; do
		mkdir -p "$ir$(dirname "$lib")"
		cp -L "$lib" "$ir$lib"
	done
[ -e "$ir/lib64" ] || { mkdir -p "$ir/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$ir/lib64/"; }
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ir/etc/passwd"
printf 'root:x:0:\n' >"$ir/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$ir/etc/hosts"

cat >"$ir/init" <<EOF
#!/bin/sh
# The guest: set up, run the suite as tests/run-tests.sh would, power off.
export PATH=/usr/bin:/bin HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm /dev/hugepages /dev/pts
# /tmp stays on the rootfs (RAM already): a tmpfs there would hide a
# build folder under /tmp
mount -t tmpfs shm /dev/shm
mount -t hugetlbfs none /dev/hugepages
echo $hugepages >/proc/sys/vm/nr_hugepages
ip link set lo up
ulimit -n 65536
exec </dev/console >/dev/console 2>&1
echo "test-vm: kernel \$(uname -r), \$(nproc) CPUs, \$(awk '/MemTotal/ {print \$2 / 1024 " MiB"}' /proc/meminfo)"
$build/netmem probe 2>&1 | sed 's/^/test-vm: probe: /'
if grep -q 'nm_slow=1' /proc/cmdline; then
	# no KVM: every instruction emulated, as slow as a sanitizer build,
	# so the tests shrink their work as they do under one
	# (the pool model's 1 M operations alone take over 300 s)
	export NM_SANITIZED=1 NM_MODEL_OPS=\${NM_MODEL_OPS:-100000}
	echo "test-vm: emulated CPU (TCG): NM_SANITIZED=1 NM_MODEL_OPS=\$NM_MODEL_OPS, tests shrink their work"
fi
cd $build
pattern='$pattern'
pass=0 fail=0 skip=0 failed=
for t in tests/test_*; do
	[ -x "\$t" ] || continue
	name=\${t##*/}
	if [ -n "\$pattern" ] && ! echo "\$name" | grep -Eq "\$pattern"; then continue; fi
	start=\$(date +%s)
	timeout -s KILL $test_tmo "\$t" >/tmp/log 2>&1
	rc=\$?
	secs=\$((\$(date +%s) - start))
	case \$rc in
	0)  pass=\$((pass + 1)); printf 'PASS  %-32s %6ss\n' "\$name" "\$secs" ;;
	77) skip=\$((skip + 1)); printf 'SKIP  %-32s %6ss  %s\n' "\$name" "\$secs" \
		"\$(grep -m1 '^SKIP' /tmp/log | sed 's/^SKIP: *//')" ;;
	137) fail=\$((fail + 1)); failed="\$failed \$name"
	    printf 'FAIL  %-32s %6ss  (timed out after %ss)\n' "\$name" "\$secs" $test_tmo
	    tail -n 20 /tmp/log | sed 's/^/      /' ;;
	*)  fail=\$((fail + 1)); failed="\$failed \$name"
	    printf 'FAIL  %-32s %6ss  (exit %d)\n' "\$name" "\$secs" \$rc
	    if [ \$(wc -l </tmp/log) -gt 40 ]; then
		head -n 10 /tmp/log | sed 's/^/      /'; echo '      ...'
	    fi
	    tail -n 30 /tmp/log | sed 's/^/      /' ;;
	esac
done
[ -n "\$failed" ] && echo "failed:\$failed"
echo "\$pass passed, \$fail failed, \$skip skipped"
sync
poweroff -f
EOF
chmod +x "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet) >"$vm/initramfs.cpio"

# --- boot ---------------------------------------------------------------
# boot ACCEL CPU: run the guest, its console into console.log (and here).
# Return qemu's status, or 200 when the guest's init has not spoken within
# BOOT_WAIT seconds (qemu is then stopped).
boot() {
	local accel=$1 cpu=$2 qpid tpid rc i
	: >"$vm/console.log"
	timeout --kill-after=10 "$run_tmo" qemu-system-x86_64 \
		-accel "$accel" -cpu "$cpu" -smp "$cpus" -m "$mem" \
		-nographic -no-reboot -nic none \
		-kernel "$kernel" -initrd "$vm/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 nm_slow=$([ "$accel" = tcg ] && echo 1 || echo 0)" \
		</dev/null >"$vm/console.log" 2>&1 &
	qpid=$!
	tail -n +1 -f --pid=$qpid "$vm/console.log" | sed -u 's/\r$//' &
	tpid=$!
	for ((i = 0; i < BOOT_WAIT; i++)); do
		grep -aq 'test-vm: kernel' "$vm/console.log" && break
		kill -0 $qpid 2>/dev/null || break
		sleep 1
	done
	if ! grep -aq 'test-vm: kernel' "$vm/console.log" && kill -0 $qpid 2>/dev/null; then
		kill $qpid 2>/dev/null
		wait $qpid 2>/dev/null
		kill $tpid 2>/dev/null
		return 200
	fi
	wait $qpid
	rc=$?
	sleep 1
	kill $tpid 2>/dev/null
	return $rc
}

# KVM when /dev/kvm opens and the guest boots with it; else TCG.  Under KVM
# the host's CPU less IA32_ARCH_CAPABILITIES: QEMU 7.2 aborts ("failed to
# set MSR 0x10a") where the host kernel (nested, or newer than QEMU)
# refuses the value it computes.  Nested KVM can also hang the guest
# before its first line (seen here): then it falls back to TCG.
accel=${NM_VM_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm
fi
cpu=${NM_VM_CPU:-max}
[ "$accel" = kvm ] && cpu=${NM_VM_CPU:-host,-arch-capabilities}
say "booting $(basename "$kernel") ($kpkg) with $accel, $cpus vCPUs, $mem MiB"
start=$(date +%s)
set +e
BOOT_WAIT=60
[ "$accel" = tcg ] && BOOT_WAIT=600
boot "$accel" "$cpu"
qrc=$?
if [ $qrc -eq 200 ] && [ "$accel" = kvm ] && [ -z "${NM_VM_ACCEL:-}" ]; then
	say "the guest did not boot under KVM within ${BOOT_WAIT}s: again with TCG"
	accel=tcg cpu=${NM_VM_CPU:-max} BOOT_WAIT=600
	start=$(date +%s)
	boot "$accel" "$cpu"
	qrc=$?
fi
set -e
secs=$(($(date +%s) - start))
line=$(tr -d '\r' <"$vm/console.log" | grep -aE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n1 || true)
if [ -z "$line" ]; then
	die "no result line from the guest after ${secs}s (qemu exit $qrc; build-vm/console.log)"
fi
say "guest on $kpkg ($accel): $line (${secs}s)"
failed=$(echo "$line" | awk '{ print $3 }')
passed=$(echo "$line" | awk '{ print $1 }')
[ "$passed" -gt 0 ] || die "the guest ran no test"
[ "$failed" -eq 0 ]
