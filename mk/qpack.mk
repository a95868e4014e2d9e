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
