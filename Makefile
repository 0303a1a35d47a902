# sandboxd: the two commands are `make run` and `make test`.
# Everything is installed by `make deps` (Debian packages + npm), built into build/.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
DATA_DIR ?= data
LISTEN ?= 127.0.0.1:8080

DEB_PACKAGES := build-essential cmake pkg-config libboost1.81-dev libboost-json1.81-dev \
	libboost-url1.81-dev libsqlite3-dev libpq-dev libssl-dev libcurl4-openssl-dev \
	libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev \
	runc nginx-light wrk postgresql sqlite3 python3 curl chromium \
	nftables slirp4netns e2fsprogs iproute2 util-linux \
	clang-16 libfuzzer-16-dev libclang-rt-16-dev \
	prometheus jq

# The libFuzzer targets (fuzz/, docs/security.md "Fuzzing"): clang-16 with
# ASan + UBSan in their own build directory. `make fuzz` runs each target for
# FUZZ_SECONDS; `make test` runs each for FUZZ_SMOKE_SECONDS over its seeds.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
# Unit tests under sanitizers (`make test-sanitize`): GCC with ASan + UBSan,
# then with TSan, each in its own build directory.
ASAN_BUILD_DIR ?= build-asan
TSAN_BUILD_DIR ?= build-tsan

.PHONY: deps build web run test test-unit test-integration bench clean fuzz fuzz-build test-sanitize

# Idempotent and quick when everything is present: apt runs only for missing packages.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Node.js 20+ (the machine image ships it; Debian's own nodejs is 18 and
	@# too old for Vite 8, so it is installed only when node is missing).
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@if [ ! -d web/node_modules ]; then cd web && npm ci --no-audit --no-fund; fi
	@if [ ! -d tests/e2e/node_modules ]; then cd tests/e2e && npm ci --no-audit --no-fund; fi
	@if [ ! -d src/runtime_api/sdk_check/node_modules ]; then cd src/runtime_api/sdk_check && npm ci --no-audit --no-fund; fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)
	cd web && npm run build --silent

run: build
	$(BUILD_DIR)/sandboxd serve --listen $(LISTEN) --data-dir $(DATA_DIR)

# Every test: web unit tests (Vitest), browser tests (Chromium against a real
# sandboxd), then every ctest: unit, integration (real sandboxd), runc (real
# containers, as root) and postgres (each run gets a throwaway cluster from
# tools/with_postgres). Before them, the shipped alert rules and Grafana
# dashboard are checked (promtool, jq) and every fuzz target runs briefly
# over its seed corpus (a crash fails the run). ctest runs last so its summary
# closes the output.
test: build fuzz-build
	tools/check_banned
	tools/check_monitoring
	fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SMOKE_SECONDS)
	cd web && npm test --silent
	# The browser tests time the daemon to the second: the build's gigabytes
	# go to disk first, not while the daemon's store writes wait behind them.
	sync
	cd tests/e2e && SANDBOXD_BUILD_DIR=$(abspath $(BUILD_DIR)) npm test
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

$(FUZZ_BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++-16 -DSBX_FUZZ=ON

# Only the fuzz targets and the libraries they link.
fuzz-build: deps $(FUZZ_BUILD_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD_DIR) -j$(JOBS) --target sbx_fuzzers

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

# Unit tests only (label `unit`): the runc, postgres and integration tests
# need real daemons and take too long under a sanitizer. Any sanitizer report
# fails the test (halt_on_error; the ASan build also aborts on UBSan reports by
# itself, cmake/sandboxd.cmake).
test-sanitize: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSBX_ASAN=ON
	cmake --build $(ASAN_BUILD_DIR) -j$(JOBS) --target sbx_unit_tests
	cd $(ASAN_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest -L unit --output-on-failure -j$(JOBS) --timeout 600
	cmake -S . -B $(TSAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSBX_TSAN=ON
	cmake --build $(TSAN_BUILD_DIR) -j$(JOBS) --target sbx_unit_tests
	cd $(TSAN_BUILD_DIR) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest -L unit --output-on-failure -j$(JOBS) --timeout 600

bench: build
	bench/status.sh
	bench/webhooks.sh
	bench/sse.sh
	bench/sweep.sh
	bench/proxy.sh
	bench/policy.sh
	bench/policy_replay.sh

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR) $(ASAN_BUILD_DIR) $(TSAN_BUILD_DIR)
