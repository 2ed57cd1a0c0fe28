# Thin wrapper around CMake. `make scan` and `make test` install missing
# Debian packages first (scripts/deps.sh, needs root), then build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PACKS      ?= packs
# What `make scan` sweeps: this machine's software directories.
TARGET     ?= $(wildcard /usr/local /opt /usr/bin /usr/sbin /usr/lib /home /root /srv)
SCAN_ARGS  ?=

.PHONY: all deps build asan scan test test-release test-asan fuzz bench install deb clean

all: build

deps:
	@bash scripts/deps.sh test

build:
	@bash scripts/deps.sh build
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan:
	@bash scripts/deps.sh test
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCS_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Exit 1 from the scanner means findings, which is a result, not a failure.
scan: build
	@for p in $(PACKS)/*/; do set -- "$$@" --pack "$$p"; done; \
	./$(BUILD)/chainsweep scan "$$@" $(SCAN_ARGS) $(TARGET); rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "chainsweep: findings reported (exit 1)"; exit 0; fi; exit $$rc

# Every skipped test is named with its reason after each run
# (scripts/test-summary.py); CHAINSWEEP_NO_SKIP=1 makes a skip a failure.
CTEST = ctest --output-on-failure -j $(JOBS) --output-junit junit.xml

test: deps build asan
	cd $(BUILD) && $(CTEST)
	python3 scripts/test-summary.py $(BUILD)/junit.xml release
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1 $(CTEST)
	python3 scripts/test-summary.py $(ASAN_BUILD)/junit.xml asan

test-release: deps build
	cd $(BUILD) && $(CTEST)
	python3 scripts/test-summary.py $(BUILD)/junit.xml release

# Side-by-side benchmark (bench/run.sh); SIGBASE=DIR adds signature-base.
bench: build
	@bash scripts/deps.sh bench
	bash bench/run.sh

# GNU layout under PREFIX (default /usr/local); DESTDIR for staging.
PREFIX ?= /usr/local
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --install $(BUILD)

# A Debian package in $(BUILD): apt-get install ./$(BUILD)/chainsweep_*.deb
deb: build
	@bash scripts/deps.sh package
	cd $(BUILD) && cpack -G DEB

fuzz:
	@bash scripts/deps.sh fuzz
	CC=clang cmake -S . -B build-fuzz -DCS_FUZZ=ON -DCS_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
