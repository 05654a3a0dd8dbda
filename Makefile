# Sluice: the two set-up commands are `make demo` and `make test`; both
# install whatever is missing first (scripts/bootstrap is idempotent).
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
PYTEST ?= .venv/bin/python -m pytest
DEMO_DIR ?= demo-out
BENCH_SCALE ?= small
# Compiler cache under ~/.cache; paths relative to the checkout so that any
# clone of the repository hits the same entries.
export CCACHE_DIR ?= $(HOME)/.cache/ccache
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
CMAKE_LAUNCHER = $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

.PHONY: all bootstrap build build-asan demo test unit-test asan-test interop-test fuzz-smoke bench bench-size fuzz format clean

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_LAUNCHER)

build: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON $(CMAKE_LAUNCHER)

build-asan: bootstrap $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@rm -rf $(DEMO_DIR)
	@echo "== generating a Datastream stream (MySQL + PostgreSQL tables, backfill then CDC) into $(DEMO_DIR)/stream"
	.venv/bin/python tools/datastream_gen/generate.py --out $(DEMO_DIR)/stream --format avro \
	  --tables 4 --rows-per-table 5000 --changes-per-table 10000 --codec deflate --quiet
	@echo "== ingesting it with sluice run --once (configuration from the environment only)"
	SOURCE_PATH=$(DEMO_DIR)/stream DELTA_TABLE_PATH=$(DEMO_DIR)/lake NAME=demo \
	  SLUICE_SINK_HISTORY_TABLES=true $(BUILD)/sluice run --once
	@echo
	$(BUILD)/sluice inspect $(DEMO_DIR)/lake/shop/orders_log
	@echo
	$(BUILD)/sluice inspect $(DEMO_DIR)/lake/shop/orders
	@echo
	$(BUILD)/sluice inspect $(DEMO_DIR)/lake/shop/orders_history

unit-test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan-test: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Each suite in its own pytest run: each has its own conftest.py/pytest.ini.
PY_SUITES := tests/tools tests/merge_reference tests/dms_reference tests/e2e tests/interop tests/ops tests/objstore tests/kafka
interop-test: build
	@set -e; for suite in $(PY_SUITES); do \
	  echo "== pytest $$suite"; \
	  (cd $$suite && SLUICE_BIN=$(abspath $(BUILD))/sluice $(abspath .venv/bin/python) -m pytest -q -p no:cacheprovider); \
	done

fuzz-smoke: bootstrap
	scripts/fuzz-smoke

fuzz: bootstrap
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} scripts/fuzz-smoke

test: unit-test asan-test fuzz-smoke interop-test
	@echo "make test: unit, sanitizer and interop suites passed"

bench: build
	@bench/run $(BENCH_SCALE)

# The table-size sweep alone (1M, 10M, 100M rows; BENCH_TABLE_SIZES overrides).
bench-size: build
	@bench/run size

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'fuzz/*.cc' 'bench/*.cc')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz $(DEMO_DIR)
