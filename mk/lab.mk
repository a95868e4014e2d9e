# ---- lab scenarios over many seeds (tests/test_lab_scenarios.c) -----------------------------------
# Every fault scenario runs a few seeds in `make test` (the defaults in the test file, so the
# sanitizer build stays short), LAB_CHECK_SEEDS each in `make lab-check` (a `make check` stage, release
# build) and LAB_SEEDS each in `make lab-long`:
#   make lab-check                     every lab scenario over 200 seeds (~10,000 runs, ~2 min)
#   make lab-long                      over 2000 seeds from seed base 100000 (~100,000 runs, ~20 min)
#   make lab-long LAB_SEEDS=5000 LAB_SEED_BASE=1000000   more, and other seeds
# VQ_LAB_VERBOSE=1 prints every run, VQ_LAB_TRACE=1 every connection event (for one failing seed:
# VQ_LAB_SEEDS=1 VQ_LAB_SEED_BASE=<seed - scenario base>).
LAB_CHECK_SEEDS ?= 200
LAB_SEEDS ?= 2000
LAB_SEED_BASE ?= 100000
.PHONY: lab-check lab-long
lab-check: $(BUILD)/bin/vq-test
	@mkdir -p $(BUILD)/results
	VQ_LAB_SEEDS=$(LAB_CHECK_SEEDS) VQ_LAB_SEED_BASE=0 $(BUILD)/bin/vq-test lab_ \
	  > $(BUILD)/results/lab.log 2>&1; rc=$$?; grep -E "seeds from|idle timeout|FAIL" $(BUILD)/results/lab.log; \
	  tail -1 $(BUILD)/results/lab.log | tee $(BUILD)/results/lab.txt; exit $$rc
lab-long: $(BUILD)/bin/vq-test
	@mkdir -p $(BUILD)/results
	VQ_LAB_SEEDS=$(LAB_SEEDS) VQ_LAB_SEED_BASE=$(LAB_SEED_BASE) $(BUILD)/bin/vq-test lab_ \
	  2>&1 | tee $(BUILD)/results/lab-long.txt; test $${PIPESTATUS[0]} -eq 0
CHECK_EXTRA += lab-check
