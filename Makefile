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
	runc nginx-light wrk postgresql curl nodejs npm chromium

.PHONY: deps build web run test test-unit test-integration bench clean

# Idempotent and quick when everything is present: apt runs only for missing packages.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@if [ -f web/package-lock.json ] && [ ! -d web/node_modules ]; then cd web && npm ci --no-audit --no-fund; fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)
	@if [ -f web/package.json ]; then cd web && npm run build --silent; fi

run: build
	$(BUILD_DIR)/sandboxd serve --listen $(LISTEN) --data-dir $(DATA_DIR)

# Every test: unit, integration (real sandboxd), runc (real containers, as root),
# postgres (a throwaway cluster), web (Vitest) and browser (Chromium).
test: build
	tools/check_banned
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600
	@if [ -f web/package.json ]; then cd web && npm test --silent; fi

bench: build
	bench/status.sh

clean:
	rm -rf $(BUILD_DIR)
