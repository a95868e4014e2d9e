# QPACK (src/h3): generated tables. `make qpack-gen` regenerates them from the RFC 7541 Huffman code
# and RFC 9204 Appendix A; `make qpack-gen-check` regenerates into build/ and fails if the committed
# sources differ.
QPACK_HUFF_TSV ?= $(SHARED_DIR)/spec-data/hpack-huffman.tsv
.PHONY: qpack-gen qpack-gen-check
qpack-gen:
	python3 src/h3/gen/huffman.py $(QPACK_HUFF_TSV) src/h3/qpack_huff_table.c
	python3 src/h3/gen/static_table.py $(RFC_DIR)/rfc9204.txt src/h3/qpack_static_table.c
qpack-gen-check:
	@mkdir -p $(BUILD)/qpack-gen
	python3 src/h3/gen/huffman.py $(QPACK_HUFF_TSV) $(BUILD)/qpack-gen/qpack_huff_table.c
	python3 src/h3/gen/static_table.py $(RFC_DIR)/rfc9204.txt $(BUILD)/qpack-gen/qpack_static_table.c
	diff -u src/h3/qpack_huff_table.c $(BUILD)/qpack-gen/qpack_huff_table.c
	diff -u src/h3/qpack_static_table.c $(BUILD)/qpack-gen/qpack_static_table.c
	@echo "qpack-gen: generated tables match their sources"

# qpack-tool-check (in make check): build/bin/vq-qpack against the offline interop data — every
# encoded/{ls-qpack,nghttp3,examples} file decoded and compared with its QIF, every QIF encoded with
# several table sizes / blocked limits / ack modes and decoded back, encoded/errors and malformed files
# rejected (harness/qpack-tool-check.py). Skipped, with a message, only when the shared data is absent.
QPACK_INTEROP_DIR ?= $(SHARED_DIR)/qpack-interop
CHECK_EXTRA += qpack-tool-check
.PHONY: qpack-tool-check
qpack-tool-check: $(BUILD)/bin/vq-qpack
	@mkdir -p $(BUILD)/results
	@if [ ! -d $(QPACK_INTEROP_DIR)/encoded ] || [ ! -d $(QPACK_INTEROP_DIR)/qifs ]; then \
	   echo "qpack-tool-check: skipped: QPACK interop data not found at $(QPACK_INTEROP_DIR) (set VQ_SHARED_DIR)"; \
	   echo "qpack-tool: skipped (no interop data): 0 passed, 0 failed" > $(BUILD)/results/qpack-tool.txt; \
	 else python3 harness/qpack-tool-check.py $(BUILD)/bin/vq-qpack $(QPACK_INTEROP_DIR) $(BUILD)/results/qpack-tool.txt; fi
