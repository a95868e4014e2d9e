# Spec conformance: requirement extraction, status matrix and citation audit (spec/README.md).
#   make audit       counts per RFC and per keyword, HTML report in $(BUILD)/audit/index.html
#   make check-spec  re-extracts the requirements (when $(RFC_DIR) is at hand) and diffs them with the
#                    committed spec/requirements.tsv and spec/sections.tsv, runs the audit's self-test,
#                    then the audit in check mode (dangling citations, bad status rows, warnings and a
#                    drop below spec/audit-floor.txt fail). Writes $(BUILD)/results/spec.txt.
#   make audit-floor prints the current number of tested MUST/MUST NOT requirements.
.PHONY: audit check-spec audit-floor requirements

AUDIT_DIR := $(BUILD)/audit

audit:
	python3 spec/audit.py --html $(AUDIT_DIR)

audit-floor:
	@python3 spec/audit.py --print-floor

# Regenerates the committed spec/requirements.tsv and spec/sections.tsv from the RFC texts.
requirements:
	python3 spec/extract-requirements.py --rfc-dir $(RFC_DIR) --out spec

check-spec:
	@mkdir -p $(BUILD)/spec $(BUILD)/results; pass=0; fail=0; \
	if [ -d $(RFC_DIR) ]; then \
	  if python3 spec/extract-requirements.py --rfc-dir $(RFC_DIR) --out $(BUILD)/spec >/dev/null && \
	     diff -u spec/requirements.tsv $(BUILD)/spec/requirements.tsv && \
	     diff -u spec/sections.tsv $(BUILD)/spec/sections.tsv; then \
	    echo "check-spec: spec/requirements.tsv and spec/sections.tsv match the RFC texts"; pass=$$((pass+1)); \
	  else echo "check-spec: FAILED: the committed requirements differ from the RFC texts (make requirements)"; \
	    fail=$$((fail+1)); fi; \
	else echo "check-spec: $(RFC_DIR) not present, using the committed spec/requirements.tsv"; fi; \
	if python3 spec/audit.py --self-test; then pass=$$((pass+1)); else fail=$$((fail+1)); fi; \
	if python3 spec/audit.py --check; then pass=$$((pass+1)); else fail=$$((fail+1)); fi; \
	echo "check-spec: $$pass passed, $$fail failed" | tee $(BUILD)/results/spec.txt; [ $$fail -eq 0 ]
