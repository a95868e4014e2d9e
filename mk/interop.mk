# ---- interop: vq-client / vq-server against ngtcp2 (gtlsserver, gtlsclient) and headless Chromium ----
#   make interop        every case (harness/interop/run.sh): ngtcp2 both ways (small, parallel, Retry,
#                       NEW_TOKEN, 10 MB, 5 % loss, key update, and the interop-runner cases chacha20,
#                       handshakeloss, handshakecorruption, transfercorruption, blackhole, 200 files
#                       multiplexed, small flow-control windows: faults from harness/interop/udpfault.py)
#                       and Chromium loading a page with sub-resources; captures checked with tshark;
#                       results in $(BUILD)/results/interop.txt
#   make interop-short  the quick cases (ngtcp2 both ways, small and parallel, Retry, 0-RTT, NEW_TOKEN,
#                       ChaCha20)
# Both run in a network namespace of their own (unshare -n) with only lo up. The peers come from
# Debian packages (ci/install-deps.sh: ngtcp2-client ngtcp2-server tshark chromium ethtool).
#
# `make check` runs the short cases (interop-check) as one of its CHECK_EXTRA stages; its result file
# is counted by ci/summary.py like every stage, and a failure there fails the check's summary without
# stopping the other stages. CHECK_EXTRA= (empty) on the command line leaves the extra stages out.
INTEROP_TOOLS := gtlsserver gtlsclient tshark ethtool chromium
.PHONY: interop interop-short interop-check interop-deps

interop-deps:
	@missing=""; for t in $(INTEROP_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	 if [ -n "$$missing" ]; then echo "interop: missing$$missing -> ci/install-deps.sh"; bash ci/install-deps.sh; fi

interop: $(PROGRAMS) interop-deps
	@bash harness/interop/run.sh --build $(BUILD)

interop-short: $(PROGRAMS) interop-deps
	@bash harness/interop/run.sh --build $(BUILD) --short

# for check: the same, its failures counted in the summary rather than stopping the other stages
interop-check: $(PROGRAMS) interop-deps
	-@bash harness/interop/run.sh --build $(BUILD) --short

CHECK_EXTRA += interop-check
