# ---- programs: vq-server and vq-client (src/app), built into build/bin ------------------------------
APP_COMMON := $(BUILD)/rel/src/app/app.o $(BUILD)/rel/src/app/qlog.o
PROGRAMS := $(BUILD)/bin/vq-server $(BUILD)/bin/vq-client
all: $(PROGRAMS) $(BUILD)/bin/vq-qpack
programs: $(PROGRAMS) $(BUILD)/bin/vq-qpack

$(BUILD)/bin/vq-server: $(BUILD)/rel/src/app/vq-server.o $(APP_COMMON) $(BUILD)/lib/libvquic.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/vq-client: $(BUILD)/rel/src/app/vq-client.o $(APP_COMMON) $(BUILD)/lib/libvquic.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)

# vq-qpack: the offline QPACK interop format on the command line (decode / encode, doc/vq-qpack.1).
$(BUILD)/bin/vq-qpack: $(BUILD)/rel/src/app/vq-qpack.o $(BUILD)/lib/libvquic.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)

# make run: the main job. Builds, serves a generated directory over HTTP/3 on loopback with the
# server's built-in defaults (self-signed certificate, 127.0.0.1), fetches from it with the client
# (trusting the server's certificate) and checks the bytes.
RUN_PORT ?= 4433
run: $(PROGRAMS)
	@bash harness/run.sh $(BUILD) $(RUN_PORT)

.PHONY: programs run

# In make check: the same end-to-end run on an ephemeral port, recorded for the summary.
CHECK_EXTRA += check-run
check-run: $(PROGRAMS)
	@mkdir -p $(BUILD)/results
	@if bash harness/run.sh $(BUILD) 0 > $(BUILD)/results/run.log 2>&1; then \
	   tail -1 $(BUILD)/results/run.log; echo "run: 1 passed, 0 failed" > $(BUILD)/results/run.txt; \
	 else cat $(BUILD)/results/run.log; echo "run: 0 passed, 1 failed" > $(BUILD)/results/run.txt; exit 1; fi
.PHONY: check-run
