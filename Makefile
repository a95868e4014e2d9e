# vquic — build, tests, proofs, fuzzing. `make check` is CI's entry point (see README.md).
# Non-recursive: every source under src/ is found by wildcard, every VQ_TEST in tests/ is collected.

SHELL := /bin/bash
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang
PREFIX ?= /usr/local
BUILD ?= build
VERSION := 0.1.0

WARN := -std=c11 -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-missing-field-initializers
CPPFLAGS_ALL := -Iinclude -Isrc -Isrc/core -D_POSIX_C_SOURCE=200809L
CFLAGS_REL := -O2 -g -fPIC $(WARN)
CFLAGS_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(WARN)
LDLIBS := $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
# Test-only oracle (tests/test_h3_nghttp3.c): linked into the test binaries, never into libvquic.
TEST_LDLIBS := $(shell pkg-config --libs libnghttp3 2>/dev/null || echo -lnghttp3)

LIB_SRCS := $(sort $(wildcard src/core/*.c src/rt/*.c src/rt/lab/*.c src/rt/posix/*.c src/tls/*.c src/transport/*.c src/h3/*.c))
TEST_SRCS := $(sort $(wildcard tests/*.c))
HDRS := $(wildcard include/vquic/*.h src/*/*.h tests/*.h)

REL_OBJS := $(LIB_SRCS:%.c=$(BUILD)/rel/%.o)
SAN_OBJS := $(LIB_SRCS:%.c=$(BUILD)/san/%.o)

.PHONY: all lib check test test-san prove fuzz fuzz-smoke fuzz-build vectors deps install clean audit \
        check-format

all: lib $(BUILD)/bin/vq-test

# ---- dependencies: installed from Debian packages when a tool is missing --------------------------
DEPS_STAMP := $(BUILD)/.deps-ok
REQUIRED_TOOLS := frama-c why3 z3 cvc4 clang afl-clang-fast python3 pkg-config valgrind
deps: $(DEPS_STAMP)
$(DEPS_STAMP): ci/install-deps.sh
	@mkdir -p $(BUILD)
	@missing=""; for t in $(REQUIRED_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	 pkg-config --exists libcrypto 2>/dev/null || missing="$$missing libcrypto"; \
	 pkg-config --exists libnghttp3 2>/dev/null || missing="$$missing libnghttp3"; \
	 if [ -n "$$missing" ] || ! why3 config list-provers 2>/dev/null | grep -q Z3; then \
	   echo "deps: missing$$missing -> ci/install-deps.sh"; bash ci/install-deps.sh; fi
	@touch $@

# ---- library ---------------------------------------------------------------------------------------
lib: $(BUILD)/lib/libvquic.a $(BUILD)/lib/libvquic.so $(BUILD)/lib/pkgconfig/vquic.pc

$(BUILD)/rel/%.o: %.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_REL) -c $< -o $@
$(BUILD)/san/%.o: %.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_SAN) -c $< -o $@

$(BUILD)/lib/libvquic.a: $(REL_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/lib/libvquic.so: $(REL_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libvquic.so.0 -o $@ $^ $(LDLIBS)
$(BUILD)/lib/pkgconfig/vquic.pc: Makefile
	@mkdir -p $(@D)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: vquic\nDescription: QUIC and HTTP/3 with proved parsers\nVersion: %s\nRequires.private: libcrypto\nLibs: -L$${libdir} -lvquic\nCflags: -I$${includedir}\n' \
	  '$(PREFIX)' '$(VERSION)' > $@

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/vquic
	install -m 644 $(BUILD)/lib/libvquic.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/lib/libvquic.so $(DESTDIR)$(PREFIX)/lib/libvquic.so.0
	ln -sf libvquic.so.0 $(DESTDIR)$(PREFIX)/lib/libvquic.so
	install -m 644 $(BUILD)/lib/pkgconfig/vquic.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 include/vquic/*.h $(DESTDIR)$(PREFIX)/include/vquic/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 doc/vq-server.1 doc/vq-client.1 doc/vq-qpack.1 $(DESTDIR)$(PREFIX)/share/man/man1/

# ---- tests -----------------------------------------------------------------------------------------
# Always re-listed (cheap), so a deleted test file drops out; written only when the list changes.
$(BUILD)/gen/vq_tests.inc: $(TEST_SRCS) FORCE
	@mkdir -p $(@D)
	@grep -ho '^VQ_TEST([A-Za-z0-9_]*)' $(TEST_SRCS) | sed 's/^VQ_TEST(\(.*\))/X(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/rel/tests/%.o: tests/%.c $(HDRS) $(BUILD)/gen/vq_tests.inc | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests -I$(BUILD)/gen $(CFLAGS_REL) -c $< -o $@
$(BUILD)/san/tests/%.o: tests/%.c $(HDRS) $(BUILD)/gen/vq_tests.inc | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests -I$(BUILD)/gen $(CFLAGS_SAN) -c $< -o $@

$(BUILD)/bin/vq-test: $(TEST_SRCS:%.c=$(BUILD)/rel/%.o) $(REL_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)
$(BUILD)/bin/vq-test-san: $(TEST_SRCS:%.c=$(BUILD)/san/%.o) $(SAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

test: $(BUILD)/bin/vq-test
	@mkdir -p $(BUILD)/results
	$(BUILD)/bin/vq-test | tee $(BUILD)/results/test.txt
test-san: $(BUILD)/bin/vq-test-san
	@mkdir -p $(BUILD)/results
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(BUILD)/bin/vq-test-san | tee $(BUILD)/results/test-san.txt

# ---- spec-derived vectors: extracted from the RFC texts, never retyped ------------------------------
# The workplace's shared material (RFC texts, QPACK interop files, Huffman table): ../shared beside this
# repository or beside the one it was cloned from (ci/find-shared.sh); VQ_SHARED_DIR=... overrides.
ifeq ($(origin SHARED_DIR),undefined)
SHARED_DIR := $(or $(shell sh ci/find-shared.sh),../shared)
endif
export VQ_SHARED_DIR := $(SHARED_DIR)
RFC_DIR ?= $(SHARED_DIR)/rfc
vectors:
	python3 spec/extract-vectors.py --rfc-dir $(RFC_DIR) --out spec/vectors
# In check: re-extract when the RFC texts are at hand and fail if the committed vectors differ.
check-vectors: | $(DEPS_STAMP)
	@if [ -d $(RFC_DIR) ] && [ -f spec/extract-vectors.py ]; then \
	   rm -rf $(BUILD)/vectors && python3 spec/extract-vectors.py --rfc-dir $(RFC_DIR) --out $(BUILD)/vectors >/dev/null && \
	   diff -r $(BUILD)/vectors spec/vectors && echo "vectors: spec/vectors matches the RFC texts"; \
	 else echo "vectors: $(RFC_DIR) not present, using committed spec/vectors"; fi

# ---- fuzzing: libFuzzer and AFL++ builds of each harness/fuzz/fuzz_*.c -------------------------------
FUZZ_SRCS := $(sort $(wildcard harness/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:harness/fuzz/%.c=%)
FUZZ_SECONDS ?= 15
FUZZ_CFLAGS := -std=c11 -g -O1 $(CPPFLAGS_ALL) -Wall -Wextra -Werror
FUZZ_HDRS := $(wildcard harness/fuzz/*.h)
# The library is compiled once per flavour (instrumented objects), then linked into every harness.
FUZZ_LF_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzz/lfobj/%.o)
FUZZ_AFL_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzz/aflobj/%.o)
FUZZ_LF_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
# Pattern-rule objects are intermediate to make: keep them, or building one harness deletes them all.
.SECONDARY: $(FUZZ_LF_OBJS) $(FUZZ_AFL_OBJS)
fuzz-build: $(FUZZ_NAMES:%=$(BUILD)/fuzz/libfuzzer/%) $(FUZZ_NAMES:%=$(BUILD)/fuzz/afl/%)
$(BUILD)/fuzz/lfobj/%.o: %.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_LF_SAN) -c $< -o $@
$(BUILD)/fuzz/aflobj/%.o: %.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	AFL_QUIET=1 afl-clang-fast $(FUZZ_CFLAGS) -c $< -o $@
$(BUILD)/fuzz/libfuzzer/%: harness/fuzz/%.c $(FUZZ_LF_OBJS) $(HDRS) $(FUZZ_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_LF_SAN) -o $@ $< $(FUZZ_LF_OBJS) $(LDLIBS)
$(BUILD)/fuzz/afl/%: harness/fuzz/%.c $(FUZZ_AFL_OBJS) $(HDRS) $(FUZZ_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	AFL_QUIET=1 afl-clang-fast $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_AFL_OBJS) $(LDLIBS)
# Smoke: each libFuzzer harness for FUZZ_SECONDS from its seed corpus (a scratch copy, so the committed
# corpus only changes on purpose), and each AFL++ binary replays the seeds.
fuzz-smoke: fuzz-build
	@mkdir -p $(BUILD)/results; pass=0; fail=0; \
	for f in $(FUZZ_NAMES); do \
	  c=corpus/$${f#fuzz_}; w=$(BUILD)/fuzz/work/$$f; rm -rf $$w; mkdir -p $$w; \
	  [ -d $$c ] && cp -r $$c/. $$w/; \
	  if $(BUILD)/fuzz/libfuzzer/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	       -artifact_prefix=$(BUILD)/fuzz/ $$w $$c > $(BUILD)/fuzz/$$f.log 2>&1; then \
	    echo "fuzz $$f: ok ($$(grep -o 'stat::number_of_executed_units: [0-9]*' $(BUILD)/fuzz/$$f.log | tail -1; grep -c . /dev/null) $$(tail -1 $(BUILD)/fuzz/$$f.log))"; pass=$$((pass+1)); \
	  else echo "fuzz $$f: FAILED, see $(BUILD)/fuzz/$$f.log"; tail -30 $(BUILD)/fuzz/$$f.log; fail=$$((fail+1)); fi; \
	  if [ -d $$c ] && ! find $$c -type f -print0 | xargs -0 -r -n 50 $(BUILD)/fuzz/afl/$$f > /dev/null 2>&1; then \
	    echo "fuzz $$f: AFL++ build failed on a seed"; fail=$$((fail+1)); fi; \
	done; echo "fuzz: $$pass passed, $$fail failed" | tee $(BUILD)/results/fuzz.txt; [ $$fail -eq 0 ]
FUZZ_TARGET ?= fuzz_frame
fuzz: fuzz-build
	$(BUILD)/fuzz/libfuzzer/$(FUZZ_TARGET) -max_total_time=$${FUZZ_TIME:-600} corpus/$(FUZZ_TARGET:fuzz_%=%)

# ---- proofs ----------------------------------------------------------------------------------------
include proofs/modules.mk
PROOF_OUT := $(BUILD)/proofs
prove: | $(DEPS_STAMP)
	@mkdir -p $(PROOF_OUT)
	@$(foreach m,$(if $(PROVE_ONLY),$(PROVE_ONLY),$(PROVE_MODULES)),\
	  echo "prove: $(m) ($(PROVE_SRCS_$(m)))"; s=$$(date +%s); \
	  proofs/prove-module.sh $(m) $(PROOF_OUT) $(PROVE_SRCS_$(m)); \
	  echo "prove: $(m) done in $$(( $$(date +%s) - s ))s";) true
	python3 proofs/ledger.py --out $(PROOF_OUT) --modules "$(PROVE_MODULES)" --ledger proofs/ledger.tsv \
	  --exceptions proofs/exceptions $(if $(PROVE_ONLY),--only "$(PROVE_ONLY)") $(if $(UPDATE_LEDGER),--update)

# ---- fragments: each layer or tool may add targets in mk/*.mk ----------------------------------
-include $(sort $(wildcard mk/*.mk))

# ---- the whole check -------------------------------------------------------------------------------
check: $(DEPS_STAMP)
	$(MAKE) all
	$(MAKE) lib
	$(MAKE) test
	$(MAKE) test-san
	$(MAKE) check-vectors
	$(MAKE) check-spec
	$(MAKE) qpack-gen-check
	$(MAKE) fuzz-smoke
	@for t in $(CHECK_EXTRA); do $(MAKE) $$t || exit 1; done
	$(MAKE) prove
	@python3 ci/summary.py $(BUILD)/results

FORCE:

clean:
	rm -rf $(BUILD)
