# ---- programs: vq-server and vq-client (src/app), built into build/bin ------------------------------
APP_COMMON := $(BUILD)/rel/src/app/app.o
PROGRAMS := $(BUILD)/bin/vq-server $(BUILD)/bin/vq-client
all: $(PROGRAMS)
programs: $(PROGRAMS)

$(BUILD)/bin/vq-server: $(BUILD)/rel/src/app/vq-server.o $(APP_COMMON) $(BUILD)/lib/libvquic.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/vq-client: $(BUILD)/rel/src/app/vq-client.o $(APP_COMMON) $(BUILD)/lib/libvquic.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LDLIBS)

# make run: the main job. Builds, serves a generated directory over HTTP/3 on loopback with the
# server's built-in defaults (self-signed certificate, 127.0.0.1), fetches from it with the client
# (trusting the server's certificate) and checks the bytes.
RUN_PORT ?= 4433
run: $(PROGRAMS)
	@bash harness/run.sh $(BUILD) $(RUN_PORT)

.PHONY: programs run
