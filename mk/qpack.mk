# QPACK (src/h3): generated tables. `make qpack-gen` regenerates them from the RFC 7541 Huffman code
# (RFC 7541 Appendix B); `make qpack-gen-check` regenerates into build/ and fails if the committed
# sources differ.
QPACK_HUFF_TSV ?= ../shared/spec-data/hpack-huffman.tsv
.PHONY: qpack-gen qpack-gen-check
qpack-gen:
	python3 src/h3/gen/huffman.py $(QPACK_HUFF_TSV) src/h3/qpack_huff_table.c
qpack-gen-check:
	@mkdir -p $(BUILD)/qpack-gen
	python3 src/h3/gen/huffman.py $(QPACK_HUFF_TSV) $(BUILD)/qpack-gen/qpack_huff_table.c
	diff -u src/h3/qpack_huff_table.c $(BUILD)/qpack-gen/qpack_huff_table.c
	@echo "qpack-gen: generated tables match their sources"
