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
"$BUILD/bin/vq-server" --listen "127.0.0.1:$PORT" --root "$D/www" --cert-out "$D/cert.pem" --qlog-dir "$D/qlog" --early-data \
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
  --session-file "$D/session" "https://localhost:$PORT/" "https://localhost:$PORT/10MB.bin"
rc=$?
end=$(date +%s.%N)
# resumption and 0-RTT: the first client stored its session; a second one resumes it and sends its
# request in 0-RTT (RFC 9001 §4.6), then a third one tries the same session file (now holding the
# second connection's newer ticket) to check the file was rewritten
rc2=0
if [ $rc -eq 0 ]; then
  for i in 2 3; do
    "$BUILD/bin/vq-client" --cafile "$D/cert.pem" --session-file "$D/session" --early-data --stats -q \
      -o "$D/out/index$i.html" "https://localhost:$PORT/" 2> "$D/client$i.log" || rc2=1
    grep -q "session resumed, 0-RTT accepted" "$D/client$i.log" || rc2=1
    # RFC 9114 §7.2.4.2: the session file holds the server's SETTINGS too, and the 0-RTT requests
    # were sent under them (the QPACK dynamic table included: inserts were sent)
    grep -q "h3 settings remembered, qpack inserts sent [1-9]" "$D/client$i.log" || rc2=1
    cmp -s "$D/www/index.html" "$D/out/index$i.html" || rc2=1
  done
fi
kill -INT $SRV; wait $SRV 2>/dev/null; trap - EXIT
echo "--- server log"; cat "$D/server.log"
if [ $rc -ne 0 ]; then echo "run: vq-client failed ($rc)"; exit 1; fi
if [ $rc2 -ne 0 ]; then
  echo "run: resumption with 0-RTT failed:"; cat "$D/client2.log" "$D/client3.log" 2>/dev/null; exit 1
fi
cmp "$D/www/index.html" "$D/out/index.html" && cmp "$D/www/10MB.bin" "$D/out/10MB.bin" || {
  echo "run: the fetched files differ from the served ones"; exit 1; }
# the qlog files (one per side) are JSON-SEQ records that parse
python3 - "$D/qlog" <<'PY' || { echo "run: qlog output is not valid JSON-SEQ"; exit 1; }
import glob, json, sys
files = glob.glob(sys.argv[1] + "/*.sqlog")
assert len(files) == 4, files  # the client of the first fetch, the server side of all three
for f in files:
    recs = open(f, "rb").read().split(b"\x1e")[1:]
    names = [json.loads(r).get("name") for r in recs[1:]]
    assert "transport:packet_sent" in names and "transport:packet_received" in names, f
PY
echo "run: two more connections resumed the session and sent their request in 0-RTT"
printf 'run: fetched index.html and 10MB.bin over HTTP/3 from 127.0.0.1:%s, byte-exact, in %.2f s\n' \
  "$PORT" "$(awk "BEGIN{print $end - $start}")"
