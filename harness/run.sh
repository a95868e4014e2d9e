#!/bin/bash
# make run: vq-server serves a directory over HTTP/3 on 127.0.0.1, vq-client fetches from it.
set -u
BUILD=${1:-build}
PORT=${2:-4433}
D=$BUILD/run
rm -rf "$D" && mkdir -p "$D/www"
printf '<!doctype html><title>vquic</title><p>Hello over HTTP/3 from vquic.</p>\n' > "$D/www/index.html"
head -c 10000000 /dev/urandom > "$D/www/10MB.bin"
mkdir -p "$D/qlog"
"$BUILD/bin/vq-server" --listen "127.0.0.1:$PORT" --root "$D/www" --cert-out "$D/cert.pem" --qlog-dir "$D/qlog" \
  2> "$D/server.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null' EXIT
for i in $(seq 50); do [ -s "$D/cert.pem" ] && grep -q serving "$D/server.log" && break; sleep 0.1; done
if ! kill -0 $SRV 2>/dev/null; then echo "run: vq-server did not start:"; cat "$D/server.log"; exit 1; fi
if [ "$PORT" = 0 ]; then  # an ephemeral port: read the one the server got
  PORT=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$D/server.log" | head -1)
fi
mkdir -p "$D/out"
start=$(date +%s.%N)
"$BUILD/bin/vq-client" --cafile "$D/cert.pem" --output-dir "$D/out" --stats -q --qlog-dir "$D/qlog" \
  "https://localhost:$PORT/" "https://localhost:$PORT/10MB.bin"
rc=$?
end=$(date +%s.%N)
kill -INT $SRV; wait $SRV 2>/dev/null; trap - EXIT
echo "--- server log"; cat "$D/server.log"
if [ $rc -ne 0 ]; then echo "run: vq-client failed ($rc)"; exit 1; fi
cmp "$D/www/index.html" "$D/out/index.html" && cmp "$D/www/10MB.bin" "$D/out/10MB.bin" || {
  echo "run: the fetched files differ from the served ones"; exit 1; }
# the qlog files (one per side) are JSON-SEQ records that parse
python3 - "$D/qlog" <<'PY' || { echo "run: qlog output is not valid JSON-SEQ"; exit 1; }
import glob, json, sys
files = glob.glob(sys.argv[1] + "/*.sqlog")
assert len(files) == 2, files
for f in files:
    recs = open(f, "rb").read().split(b"\x1e")[1:]
    names = [json.loads(r).get("name") for r in recs[1:]]
    assert "transport:packet_sent" in names and "transport:packet_received" in names, f
PY
printf 'run: fetched index.html and 10MB.bin over HTTP/3 from 127.0.0.1:%s, byte-exact, in %.2f s\n' \
  "$PORT" "$(awk "BEGIN{print $end - $start}")"
