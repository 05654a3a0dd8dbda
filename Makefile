# Sluice: the two set-up commands are `make demo` and `make test`; both
# install whatever is missing first (scripts/bootstrap is idempotent).
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
PYTEST ?= .venv/bin/python -m pytest
DEMO_DIR ?= demo-out
BENCH_SCALE ?= small

.PHONY: all bootstrap build build-asan demo test unit-test asan-test interop-test fuzz-smoke bench fuzz format clean

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON

build-asan: bootstrap $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@rm -rf $(DEMO_DIR)
	@echo "== generating a Datastream stream (MySQL + PostgreSQL tables, backfill then CDC) into $(DEMO_DIR)/stream"
	.venv/bin/python tools/datastream_gen/generate.py --out $(DEMO_DIR)/stream --format avro \
	  --tables 4 --rows-per-table 5000 --changes-per-table 10000 --codec deflate --quiet
	@echo "== ingesting it with sluice run --once (configuration from the environment only)"
	SOURCE_PATH=$(DEMO_DIR)/stream DELTA_TABLE_PATH=$(DEMO_DIR)/lake NAME=demo \
	  $(BUILD)/sluice run --once
	@echo
	$(BUILD)/sluice inspect $(DEMO_DIR)/lake/shop/orders_log

unit-test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan-test: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

interop-test: build
	SLUICE_BIN=$(abspath $(BUILD))/sluice $(PYTEST) tests/tools tests/e2e tests/interop -q -p no:cacheprovider

fuzz-smoke: bootstrap
	scripts/fuzz-smoke

fuzz: bootstrap
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} scripts/fuzz-smoke

test: unit-test asan-test fuzz-smoke interop-test
	@echo "make test: unit, sanitizer and interop suites passed"

bench: build
	@bench/run $(BENCH_SCALE)

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'fuzz/*.cc')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz $(DEMO_DIR)
