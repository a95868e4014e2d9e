# ---- make bench: vquic side by side with ngtcp2 (Debian's gtlsserver / gtlsclient) ------------------
# A benchmark, never a timed test: it fails only when a transfer fails or a tool is missing.
#   make bench                 R=5 repetitions of every case, 1 GB bulk transfers
#   BENCH_QUICK=1 make bench   a short smoke run (R=1 unless BENCH_R is given, 50 MB)
#   BENCH_R=N BENCH_CASES=bulk,conns,warm,streams,idle,loss
# Output: a table on stdout, $(BUILD)/bench/results.json, $(BUILD)/bench/ratios.png.
BENCH_IDLE := $(BUILD)/bin/vq-bench-idle
# Debian's python3-matplotlib lives in /usr/bin/python3's site-packages (not in a pyenv python).
BENCH_PY ?= $(shell for p in /usr/bin/python3 python3; do $$p -c 'import matplotlib' 2>/dev/null && { echo $$p; exit; }; done; echo python3)

$(BUILD)/rel/harness/bench/%.o: harness/bench/%.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Isrc/app $(CFLAGS_REL) -c $< -o $@
$(BENCH_IDLE): $(BUILD)/rel/harness/bench/idle_conns.o $(APP_COMMON) $(BUILD)/lib/libvquic.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)

# The lossy case's packet filter (harness/bench/loss_drop.c), eBPF for tc clsact.
BENCH_LOSS_OBJ := $(BUILD)/bench/loss_drop.o
$(BENCH_LOSS_OBJ): harness/bench/loss_drop.c
	@mkdir -p $(@D)
	$(CLANG) -O2 -target bpf -I/usr/include/$(shell $(CC) -print-multiarch) -c $< -o $@

bench-tools:
	@missing=""; for t in gtlsserver gtlsclient openssl ip tc $(CLANG); do \
	   command -v $$t >/dev/null || [ -x /usr/sbin/$$t ] || missing="$$missing $$t"; done; \
	 $(BENCH_PY) -c 'import matplotlib' 2>/dev/null || missing="$$missing matplotlib"; \
	 if [ -n "$$missing" ]; then echo "bench: missing$$missing -> ci/install-deps.sh"; bash ci/install-deps.sh; fi

bench: $(PROGRAMS) $(BENCH_IDLE) bench-tools $(BENCH_LOSS_OBJ)
	PATH="$$PATH:/usr/sbin" $(BENCH_PY) harness/bench/bench.py --build $(BUILD)

.PHONY: bench bench-tools

# In make check: BENCH_SMOKE (one repetition of tiny bulk / connection / stream cases) only to see that
# the bench runs and every transfer succeeds; no number is judged.
CHECK_EXTRA += bench-smoke
bench-smoke: $(PROGRAMS) $(BENCH_IDLE) bench-tools
	@mkdir -p $(BUILD)/results
	@if BENCH_SMOKE=1 BENCH_CASES=bulk,conns,warm,streams PATH="$$PATH:/usr/sbin" $(BENCH_PY) harness/bench/bench.py \
	     --build $(BUILD) > $(BUILD)/results/bench.log 2>&1; then \
	   echo "bench-smoke: 1 passed, 0 failed" | tee $(BUILD)/results/bench.txt; \
	 else tail -20 $(BUILD)/results/bench.log; echo "bench-smoke: 0 passed, 1 failed" | tee $(BUILD)/results/bench.txt; fi
.PHONY: bench-smoke
