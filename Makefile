# netmem: the project's commands.  CMake does the building; this file is
# the front door.
#   make            build (build/)
#   make test       build and run every test; last line "N passed, N failed, N skipped"
#   make demo       a real loopback receive into pooled buffers, figures printed
#   make bench      the benchmarks (pool, rx), baselines and ratios
#   make plots      the same, drawn: $(BUILD)/plots/bench-pool.svg, bench-rx.svg
#   make sanitize   the whole suite under ASan+UBSan (build-asan/)
#   make tsan       the concurrent tests under TSan (build-tsan/)
#   make test-gpu   the CUDA tests, on a machine with an NVIDIA GPU
#   make test-vm    the suite on Debian 12's own kernel (6.1) under QEMU (build-vm/)
#   make mutate     one-line bugs put into src/ one by one: which does the suite miss?
#   make fuzz       the libFuzzer harnesses (fuzz/), FUZZ_SECONDS each (build-fuzz/, clang)
#   make install PREFIX=/usr/local
PREFIX ?= /usr/local
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# bash: the build recipe needs pipefail (dash has none).
SHELL := /bin/bash

.PHONY: all deps build test demo bench plots sanitize tsan test-gpu test-vm install clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null

# The build's output without its progress lines and the sub-makes'
# "Entering directory": warnings and errors show.  pipefail, and a filter
# that cannot fail: the build's exit status is the recipe's, so a file that
# does not compile fails `make`, and `make test` never runs stale binaries.
build: deps $(BUILD)/CMakeCache.txt
	@set -o pipefail; cmake --build $(BUILD) -j $(JOBS) 2>&1 | \
		{ grep -vE '^\[|^-- |Consolidate compiler|^g?make\[[0-9]+\]: (Entering|Leaving) directory' || true; }
	@test -x $(BUILD)/netmem

test: build
	@tests/run-tests.sh $(BUILD)

demo: build
	@scripts/demo.sh $(BUILD)

bench: build
	@$(BUILD)/netmem bench pool
	@$(BUILD)/netmem bench rx

# Build output, not committed: docs/benchmarks.md says what they show.
plots: build
	@mkdir -p $(BUILD)/plots
	@$(BUILD)/netmem bench pool --plot $(BUILD)/plots/bench-pool.svg
	@$(BUILD)/netmem bench rx --plot $(BUILD)/plots/bench-rx.svg
	@echo "plots: $(BUILD)/plots/bench-pool.svg $(BUILD)/plots/bench-rx.svg"

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CMAKE_FLAGS="-DNM_SANITIZE=address,undefined" build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		NM_SANITIZED=1 tests/run-tests.sh build-asan

TSAN_TESTS ?= '(stress|concurrent|thread|put_slots|put_bulk|model|revoke|destroy|ring|frag|double_put|held|sync_hook|rx_|epoll_loop)'
tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan CMAKE_FLAGS="-DNM_SANITIZE=thread" build
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 NM_SANITIZED=1 \
		tests/run-tests.sh build-tsan $(TSAN_TESTS)

test-gpu: build
	@NM_TEST_GPU=1 tests/run-tests.sh $(BUILD) '(cuda|gpu)'

test-vm: deps
	@scripts/test-vm.sh

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-tsan build-fuzz

# Mutation testing: tests/mutations.txt applied one at a time to a copy of
# the tree (build-mut/); prints what the suite missed.  MUTATE_FILTER=pool
.PHONY: mutate
mutate:
	@python3 scripts/mutate.py --filter '$(MUTATE_FILTER)'

# Fuzzing: every fuzz/fuzz_*.c built with clang for libFuzzer, ASan and
# UBSan in build-fuzz/, then each run FUZZ_SECONDS from the seed corpus
# (FUZZERS="fuzz_pool fuzz_split" for some).  Fails on a crash, a sanitizer
# report or a model mismatch, with the reproducer's path.
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= build-fuzz
FUZZERS ?=
.PHONY: fuzz
$(FUZZ_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DNM_FUZZ=ON >/dev/null

fuzz: deps $(FUZZ_BUILD)/CMakeCache.txt
	@set -o pipefail; cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers 2>&1 | \
		{ grep -vE '^\[|^-- |Consolidate compiler|^g?make\[[0-9]+\]: (Entering|Leaving) directory' || true; }
	@fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZERS)
