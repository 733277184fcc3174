# swmrbus — the two commands (make demo, make test) and their friends.
# Each target does its own set-up: installs missing Debian packages (as root),
# configures and builds.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DEBS = build-essential cmake pkg-config libhdf5-dev hdf5-tools libzmq3-dev \
       libmsgpack-dev libcyaml-dev libyaml-dev libcmocka-dev hdf5-filter-plugin bitshuffle \
       python3-h5py python3-zmq python3-msgpack python3-numpy libmicrohttpd-dev \
       libcbor-dev libjansson-dev
# Only for `make test` / `make check-asan`: promtool (checks the /metrics text),
# valgrind (tests/fault: memcheck runs), cbor2 and lz4 (the Dectris senders of
# test_dectris2.py, test_dectris1.py).
TEST_DEBS = prometheus valgrind python3-cbor2 python3-lz4
# ... and the Karabo bridge tests' real senders, clients and file checker
# (karabo-bridge-serve-files, karabo_bridge.Client, extra-data-validate).
TEST_DEBS += python3-karabo-bridge python3-extra-data
# ... and silx (test_dectris_silx.py: silx opens a Dectris NXmx file; 85 new
# packages with its Qt deps here, 33 s with --no-install-recommends).
TEST_DEBS += python3-silx
FUZZ_DEBS = clang libclang-rt-14-dev
# Only for `make bench`: the picture (bench/results/latest.png).
BENCH_DEBS = python3-matplotlib

.PHONY: all deps build demo test check-asan fuzz bench bench-scale clean

all: build

deps:
	@./tools/install-deps.sh $(DEBS)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	rm -rf $(BUILD)/demo
	./$(BUILD)/bin/swmrbus demo --dir $(BUILD)/demo

test: build
	@./tools/install-deps.sh $(TEST_DEBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan: deps
	@./tools/install-deps.sh $(TEST_DEBS)
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSWMRBUS_SANITIZE=address,undefined
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

fuzz: deps
	@./tools/install-deps.sh $(FUZZ_DEBS)
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSWMRBUS_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	./tools/run-fuzz.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-60}

bench: build
	@./tools/install-deps.sh $(BENCH_DEBS)
	/usr/bin/python3 bench/run.py --bin $(BUILD)/bin/swmrbus

# Scale-out (issue 12): throughput against the number of sinks S.
bench-scale: build
	/usr/bin/python3 bench/scale.py --bin $(BUILD)/bin/swmrbus

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
