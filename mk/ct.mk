# ---- constant-time check of the packet protection path (RFC 9001 §9.5), the ctgrind technique -----
# tests/ct/ct_check.c marks the secret header bytes and packet numbers undefined and runs vquic's
# header protection removal, packet number recovery, key phase choice, packet number encoding and
# header protection under valgrind's memcheck, which reports any branch or memory address computed from
# them. src/tls/protect.c is compiled with -DVQ_CT_CHECK, which turns its declassification marks
# (src/tls/ct.h: before OpenSSL's AEAD, on argument checks) into memcheck client requests. A canary
# (ct_check --canary, a deliberate branch on a secret byte) must be reported, so the check cannot pass
# by seeing nothing. A `make check` stage (before `prove`).
CT_VALGRIND := valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes --leak-check=no -q
CT_OBJS := $(filter-out $(BUILD)/rel/src/tls/protect.o,$(REL_OBJS))
CHECK_EXTRA += ct-check
.PHONY: ct-check
$(BUILD)/ct/protect.o: src/tls/protect.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -DVQ_CT_CHECK $(CFLAGS_REL) -c $< -o $@
$(BUILD)/ct/ct_check.o: tests/ct/ct_check.c $(HDRS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_REL) -c $< -o $@
$(BUILD)/bin/vq-ct-check: $(BUILD)/ct/ct_check.o $(BUILD)/ct/protect.o $(CT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)
ct-check: $(BUILD)/bin/vq-ct-check
	@mkdir -p $(BUILD)/results
	@if ! command -v valgrind >/dev/null; then echo "ct-check: valgrind not found" >&2; exit 1; fi
	@$(CT_VALGRIND) $(BUILD)/bin/vq-ct-check --canary >$(BUILD)/ct/canary.log 2>&1; rc=$$?; \
	 if [ $$rc -ne 99 ]; then cat $(BUILD)/ct/canary.log; \
	   echo "ct-check: memcheck did not report the canary's branch on a secret byte (exit $$rc)" >&2; exit 1; fi
	@$(CT_VALGRIND) $(BUILD)/bin/vq-ct-check 2>&1 | tee $(BUILD)/ct/ct.log; rc=$${PIPESTATUS[0]}; \
	 if [ $$rc -eq 0 ]; then echo "ct-check: 1 passed, 0 failed" | tee $(BUILD)/results/ct.txt; \
	 else echo "ct-check: memcheck reported a secret-dependent branch or address, or a result was wrong (exit $$rc)"; \
	   echo "ct-check: 0 passed, 1 failed" > $(BUILD)/results/ct.txt; exit 1; fi
