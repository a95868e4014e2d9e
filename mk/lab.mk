# ---- lab scenarios, long run (tests/test_lab_scenarios.c) -----------------------------------------
#   make lab-long                      every lab scenario over LAB_SEEDS seeds each (default 200:
#                                      ~3,500 runs), release build
#   make lab-long LAB_SEEDS=1000 LAB_SEED_BASE=100000   more, and other seeds than make check's
# `make check` runs the same scenarios over a few seeds each (the defaults in the test file).
LAB_SEEDS ?= 200
LAB_SEED_BASE ?= 0
.PHONY: lab-long
lab-long: $(BUILD)/bin/vq-test
	@mkdir -p $(BUILD)/results
	VQ_LAB_SEEDS=$(LAB_SEEDS) VQ_LAB_SEED_BASE=$(LAB_SEED_BASE) $(BUILD)/bin/vq-test lab_ \
	  2>&1 | tee $(BUILD)/results/lab-long.txt; test $${PIPESTATUS[0]} -eq 0
