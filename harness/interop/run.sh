#!/bin/bash
# vquic interop: vq-client and vq-server against ngtcp2 (gtlsserver / gtlsclient, GnuTLS) and headless
# Chromium, every pair on loopback, every capture checked with tshark.
#
#   harness/interop/run.sh [--build DIR] [--short] [--only REGEX] [--keep] [--no-netns]
#
# Each case prints PASS or FAIL with its reason and the tshark summary of its capture; the last line
# is `N passed, N failed`, also written to DIR/results/interop.txt (details in DIR/interop/<case>/),
# and DIR/results/interop.md has them as a markdown table (case x pairing, harness/interop/table.py).
# --short runs the quick cases only (what `make check` runs). The whole run happens in a network
# namespace of its own with only lo up when `unshare -n` works (so nothing, Chromium included, can
# reach beyond this machine, and the ports are ours); the Chromium cases never run outside one
# (--no-netns: run on the machine's loopback, Chromium case failing).
set -u
BUILD=build SHORT=0 ONLY= KEEP=0 IN_NS=0 NO_NS=0
while [ $# -gt 0 ]; do
  case $1 in
  --build) BUILD=$2; shift ;;
  --short) SHORT=1 ;;
  --only) ONLY=$2; shift ;;
  --keep) KEEP=1 ;;
  --in-netns) IN_NS=1 ;;
  --no-netns) NO_NS=1 ;;
  -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
  *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$BUILD" && pwd) || exit 2

if [ $IN_NS -eq 0 ] && [ $NO_NS -eq 0 ] && unshare -n true 2>/dev/null; then
  args=(--build "$BUILD" --in-netns)
  [ $SHORT -eq 1 ] && args+=(--short)
  [ -n "$ONLY" ] && args+=(--only "$ONLY")
  [ $KEEP -eq 1 ] && args+=(--keep)
  exec unshare -n -- bash "$0" "${args[@]}"
fi
if [ $IN_NS -eq 1 ]; then
  ip link set lo up || { echo "interop: cannot bring lo up in the namespace"; exit 1; }
fi
# UDP GSO trains (vq-server, ngtcp2) would reach the capture unsegmented, as one datagram tshark
# cannot split: segmentation offload goes off on this lo, so the kernel segments before the tap.
# Only inside our own namespace: the machine's lo is never touched.
# Elsewhere the peers are asked not to send GSO trains (vq-* --no-gso, gtlsserver --max-gso-dgrams=1).
NOGSO_VQ=(--no-gso) NOGSO_GTLS=--max-gso-dgrams=1
if [ $IN_NS -eq 1 ] && command -v ethtool > /dev/null &&
  ethtool -K lo tx-udp-segmentation off > /dev/null 2>&1; then
  NOGSO_VQ=() NOGSO_GTLS=
fi

. "$HERE/lib.sh"

W=$BUILD/interop
RES=$BUILD/results/interop.txt
mkdir -p "$W" "$BUILD/results"
: > "$RES"
PASS=0 FAIL=0
VQS=$BUILD/bin/vq-server VQC=$BUILD/bin/vq-client

say() { echo "$*" | tee -a "$RES"; }
result() { # case status detail...
  local name=$1 st=$2
  shift 2
  if [ "$st" = PASS ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); fi
  say "$st $name: $*"
}
want() { [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]; }

# ---- shared material ------------------------------------------------------------------------------
missing=
for t in gtlsserver gtlsclient tshark openssl python3; do
  command -v $t > /dev/null || missing="$missing $t"
done
[ -x "$VQS" ] && [ -x "$VQC" ] || missing="$missing vq-server/vq-client (make programs)"
WWW=$W/www
rm -rf "$WWW" && mkdir -p "$WWW"
printf '<!doctype html><title>vquic</title><p>Hello over HTTP/3 from vquic interop.</p>\n' > "$WWW/index.html"
[ $SHORT -eq 1 ] || head -c 10000000 /dev/urandom > "$WWW/10MB.bin"
for i in 1 2 3 4 5 6; do head -c $((i * 77777 + i)) /dev/urandom > "$WWW/f$i.bin"; done
head -c 2000000 /dev/urandom > "$WWW/2MB.bin"
# multiplexing: 200 small files (1..3000 bytes) fetched over one connection
MUX=()
if [ $SHORT -eq 0 ]; then
  for i in $(seq -w 1 200); do
    head -c $((1 + (10#$i * 7919) % 3000)) /dev/urandom > "$WWW/m$i.bin"
    MUX+=("m$i.bin")
  done
fi
# ngtcp2's server needs a key and certificate of its own (ECDSA P-256, for localhost)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/key.pem" \
  -out "$W/cert.pem" -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 > /dev/null 2>&1 || missing="$missing (openssl req)"

# ---- vq-client -> gtlsserver ----------------------------------------------------------------------
# case_vqc NAME MIN_STREAM "gtlsserver options" "files to compare" "generated NAME:LEN" URL-PATHS...
case_vqc() {
  local name=$1 min_stream=$2 sopts=$3 files=$4 sized=$5
  shift 5
  want "$name" || return 0
  local D=$W/$name port sport spid
  rm -rf "$D" && mkdir -p "$D/out"
  # port: where the client sends; sport: where the server listens (the same unless FAULT puts the
  # udpfault.py relay between them; the capture is of the server's leg)
  port=$(free_port) sport=$port FAULT_SUMMARY=
  [ -n "${FAULT:-}" ] && sport=$(free_port)
  if ! cap_start "$D/cap.pcapng" "$sport"; then result "$name" FAIL "tshark capture did not start"; return; fi
  # shellcheck disable=SC2086
  gtlsserver $sopts $NOGSO_GTLS --no-quic-dump --no-http-dump -d "$WWW" 127.0.0.1 "$sport" "$W/key.pem" "$W/cert.pem" \
    > "$D/server.log" 2>&1 &
  spid=$!
  [ -n "${FAULT:-}" ] && fault_start "$port" "$sport" "$D/fault.log"
  sleep 0.3
  local urls=() p
  for p in "$@"; do urls+=("https://localhost:$port$p"); done
  local t0 rc resume=()
  # VQC_RESUME=1: a first connection stores the session, the measured one resumes it and sends
  # its requests in 0-RTT (the capture holds both; the key log has the 0-RTT secret too)
  if [ "${VQC_RESUME:-0}" = 1 ]; then
    resume=(--session-file "$D/session" --early-data)
    SSLKEYLOGFILE=$D/keys.log timeout 60 "$VQC" "${NOGSO_VQ[@]}" --cafile "$W/cert.pem" -o "$D/first" -q \
      --session-file "$D/session" --timeout 10000 "${urls[0]}" > "$D/client0.log" 2>&1
  fi
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086 # VQC_EXTRA: vq-client options of a case, word-split on purpose
  # REPEAT=N: N connections one after the other (the key log collects all of them; the first failing
  # one ends the case)
  local r
  for ((r = 0; r < ${REPEAT:-1}; r++)); do
    [ "$r" -gt 0 ] && { cp "$D/client.log" "$D/client.$((r - 1)).log"; rm -f "$D/out/"*; }
    SSLKEYLOGFILE=$D/keys.log timeout 120 "$VQC" "${NOGSO_VQ[@]}" $VQC_EXTRA --cafile "$W/cert.pem" --output-dir "$D/out" --stats -q \
      --timeout "${VQC_TIMEOUT:-10000}" "${resume[@]}" "${urls[@]}" > "$D/client.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || break
    # every connection's files are compared, not only the last one's
    if [ -n "$files" ] && [ "$r" -lt $((${REPEAT:-1} - 1)) ] && ! same_files "$WWW" "$D/out" $files; then
      echo "connection $((r + 1)) of ${REPEAT:-1}: $CMP_ERR" >> "$D/client.log"; rc=99; break
    fi
  done
  local secs
  secs=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}")
  stop_pid "$spid"
  fault_stop "$D/fault.log"
  cap_stop
  local cmd="vq-client $VQC_EXTRA --cafile cert.pem --output-dir out ${urls[*]}  <->  ${FAULT:+udpfault.py --listen $port --server $sport $FAULT  <->  }gtlsserver $sopts -d www 127.0.0.1 $sport key.pem cert.pem"
  [ ${#cmd} -gt 600 ] && cmd="${cmd:0:300} ... ${cmd: -250}"
  echo "$cmd" > "$D/command"
  CMP_ERR=
  if [ $rc -ne 0 ]; then
    result "$name" FAIL "vq-client exit $rc: $(grep -v '^stats' "$D/client.log" | tail -2 | tr '\n' ' ')"
  elif [ -n "$files" ] && ! same_files "$WWW" "$D/out" $files; then
    result "$name" FAIL "$CMP_ERR"
  elif [ -n "$sized" ] && ! sized_files "$D/out" $sized; then
    result "$name" FAIL "$CMP_ERR"
  elif [ -n "${VQC_KU_MIN:-}" ] &&
    [ "$(grep -o 'key updates [0-9]*' "$D/client.log" | awk '{print $3}')" -lt "$VQC_KU_MIN" ] 2> /dev/null; then
    result "$name" FAIL "vq-client initiated fewer than $VQC_KU_MIN key updates: $(grep '^stats' "$D/client.log")"
  elif ! cap_check "$D/cap.pcapng" "$D/keys.log" "$min_stream"; then
    result "$name" FAIL "$CAP_ERR; $CAP_SUMMARY"
  elif [ "${VQC_RESUME:-0}" = 1 ] && ! grep -q "session resumed, 0-RTT accepted" "$D/client.log"; then
    result "$name" FAIL "not resumed with 0-RTT: $(grep '^stats: session' "$D/client.log")"
  elif [ "${VQC_RESUME:-0}" = 1 ] && [ "$(tshark -r "$D/cap.pcapng" -o "tls.keylog_file:$D/keys.log" \
         -Y 'quic.long.packet_type == 1 && quic.stream.stream_id' 2>/dev/null | wc -l)" -eq 0 ]; then
    result "$name" FAIL "no STREAM frame in a 0-RTT packet on the wire; $CAP_SUMMARY"
  elif [ -n "${CASE_CHECK:-}" ] && ! "$CASE_CHECK" "$D" "$sport"; then
    result "$name" FAIL "$CHECK_ERR; $CAP_SUMMARY"
  else
    local ku=
    [ -n "${VQC_KU_MIN:-}" ] && ku="key updates $(grep -o 'key updates [0-9+]*' "$D/client.log" | awk '{print $3}') (initiated+answered), "
    result "$name" PASS "${secs}s, $ku$FAULT_SUMMARY${CASE_CHECK:+$CHECK_NOTE, }$CAP_SUMMARY"
    [ $KEEP -eq 1 ] || rm -f "$D/cap.pcapng" "$D/out/"*
    return
  fi
  echo "  command: $cmd" | tee -a "$RES"
}

# ---- gtlsclient -> vq-server ----------------------------------------------------------------------
# case_gtc NAME MIN_STREAM "gtlsclient options" FILES...
case_gtc() {
  local name=$1 min_stream=$2 copts=$3
  shift 3
  want "$name" || return 0
  local D=$W/$name port sport spid
  rm -rf "$D" && mkdir -p "$D/out"
  port=$(free_port) sport=$port FAULT_SUMMARY=
  [ -n "${FAULT:-}" ] && sport=$(free_port)
  if ! cap_start "$D/cap.pcapng" "$sport"; then result "$name" FAIL "tshark capture did not start"; return; fi
  # shellcheck disable=SC2086 # VQS_EXTRA: vq-server options of a case, word-split on purpose
  SSLKEYLOGFILE=$D/keys.log "$VQS" "${NOGSO_VQ[@]}" $VQS_EXTRA --listen "127.0.0.1:$sport" --root "$WWW" > "$D/server.log" 2>&1 &
  spid=$!
  wait_for "$D/server.log" 50 serving
  [ -n "${FAULT:-}" ] && fault_start "$port" "$sport" "$D/fault.log"
  local urls=() f
  for f in "$@"; do urls+=("https://127.0.0.1:$port/$f"); done
  local t0 rc nconn=1
  # GTC_RESUME=1: a first gtlsclient run stores its TLS session and the server's transport
  # parameters; the measured run resumes and sends its requests in 0-RTT
  if [ "${GTC_RESUME:-0}" = 1 ]; then
    nconn=2
    copts="$copts --session-file=$D/session --tp-file=$D/tp"
    mkdir -p "$D/out0"
    # shellcheck disable=SC2086
    timeout 60 gtlsclient $copts --no-quic-dump --no-http-dump --download "$D/out0" --exit-on-all-streams-close \
      127.0.0.1 "$port" "${urls[@]}" > "$D/client0.log" 2>&1
  fi
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  local r
  for ((r = 0; r < ${REPEAT:-1}; r++)); do # REPEAT=N: N connections in a row, as in case_vqc
    [ "$r" -gt 0 ] && { cp "$D/client.log" "$D/client.$((r - 1)).log"; rm -f "$D/out/"*; }
    timeout 120 gtlsclient $copts --no-quic-dump --no-http-dump --download "$D/out" --exit-on-all-streams-close \
      127.0.0.1 "$port" "${urls[@]}" > "$D/client.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || break
    # gtlsclient may exit 0 without its files: every connection's are compared
    if [ "$r" -lt $((${REPEAT:-1} - 1)) ] && ! same_files "$WWW" "$D/out" "$@"; then
      echo "connection $((r + 1)) of ${REPEAT:-1}: $CMP_ERR" >> "$D/client.log"; rc=99; break
    fi
  done
  nconn=$((nconn - 1 + ${REPEAT:-1}))
  local secs
  secs=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}")
  stop_pid "$spid"
  fault_stop "$D/fault.log"
  cap_stop
  local cmd="gtlsclient $copts --download out --exit-on-all-streams-close 127.0.0.1 $port ${urls[*]}  <->  ${FAULT:+udpfault.py --listen $port --server $sport $FAULT  <->  }vq-server $VQS_EXTRA --listen 127.0.0.1:$sport --root www"
  [ ${#cmd} -gt 600 ] && cmd="${cmd:0:300} ... ${cmd: -250}"
  echo "$cmd" > "$D/command"
  CMP_ERR=
  local nreq
  nreq=$(grep -cE ' GET [^ ]+ 200 ' "$D/server.log")
  if [ $rc -ne 0 ]; then
    result "$name" FAIL "gtlsclient exit $rc: $(grep -iE 'error|close' "$D/client.log" | tail -2 | tr '\n' ' ')"
  elif ! same_files "$WWW" "$D/out" "$@"; then
    result "$name" FAIL "$CMP_ERR"
  elif [ "$nreq" -ne $(($# * nconn)) ]; then
    result "$name" FAIL "vq-server logged $nreq requests answered 200, expected $(($# * nconn))"
  elif ! cap_check "$D/cap.pcapng" "$D/keys.log" "$min_stream"; then
    result "$name" FAIL "$CAP_ERR; $CAP_SUMMARY"
  elif [ "${GTC_RESUME:-0}" = 1 ] && ! grep -q "key_updated space=0rtt dir=read" "$D/server.log"; then
    result "$name" FAIL "vq-server did not accept 0-RTT; $CAP_SUMMARY"
  elif [ "${GTC_RESUME:-0}" = 1 ] && [ "$(tshark -r "$D/cap.pcapng" -o "tls.keylog_file:$D/keys.log" \
         -Y 'quic.long.packet_type == 1 && quic.stream.stream_id' 2>/dev/null | wc -l)" -eq 0 ]; then
    result "$name" FAIL "no STREAM frame in a 0-RTT packet on the wire; $CAP_SUMMARY"
  elif [ -n "${CASE_CHECK:-}" ] && ! "$CASE_CHECK" "$D" "$sport"; then
    result "$name" FAIL "$CHECK_ERR; $CAP_SUMMARY"
  else
    result "$name" PASS "${secs}s, $FAULT_SUMMARY${CASE_CHECK:+$CHECK_NOTE, }$CAP_SUMMARY"
    [ $KEEP -eq 1 ] || rm -f "$D/cap.pcapng" "$D/out/"*
    return
  fi
  echo "  command: $cmd" | tee -a "$RES"
}

# ---- Chromium -> vq-server ------------------------------------------------------------------------
case_chromium() {
  local name=chromium-page
  want "$name" || return 0
  local D=$W/$name port spid
  if [ $IN_NS -ne 1 ]; then result "$name" FAIL "no network namespace (unshare -n): Chromium is not run outside one"; return; fi
  if ! command -v chromium > /dev/null; then result "$name" FAIL "chromium is not installed (ci/install-deps.sh)"; return; fi
  rm -rf "$D" && mkdir -p "$D/www"
  cat > "$D/www/index.html" << 'EOF'
<!doctype html><html><head><meta charset="utf-8"><title>vquic interop</title><link rel="stylesheet" href="style.css"></head>
<body><h1>Hello from vquic over HTTP/3</h1>
<p id="js">script not loaded</p>
<img src="pixel.png" onload="document.getElementById('img').textContent='image loaded'"><p id="img">image not loaded</p>
<p id="big">big not loaded</p>
<script src="app.js"></script></body></html>
EOF
  echo 'h1 { color: #123456; }' > "$D/www/style.css"
  cat > "$D/www/app.js" << 'EOF'
document.getElementById("js").textContent = "script loaded over " + performance.getEntriesByType("navigation")[0].nextHopProtocol;
fetch("big.bin").then(r => r.arrayBuffer()).then(b => { document.getElementById("big").textContent = "big loaded " + b.byteLength + " bytes"; });
EOF
  printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82' > "$D/www/pixel.png"
  head -c 3000000 /dev/urandom > "$D/www/big.bin"
  port=$(free_port)
  if ! cap_start "$D/cap.pcapng" "$port"; then result "$name" FAIL "tshark capture did not start"; return; fi
  SSLKEYLOGFILE=$D/keys.log "$VQS" "${NOGSO_VQ[@]}" --listen "127.0.0.1:$port" --root "$D/www" --cert-out "$D/cert.pem" \
    > "$D/server.log" 2>&1 &
  spid=$!
  wait_for "$D/server.log" 50 serving
  local spki
  spki=$(openssl x509 -pubkey -noout -in "$D/cert.pem" | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
  # No traffic beyond loopback: no proxy, no background services, localhost pinned to 127.0.0.1
  # (vq-server listens there), and the namespace has nothing but lo anyway.
  local copts=(--headless=new --disable-gpu --no-sandbox --user-data-dir="$D/profile" --enable-quic
    "--origin-to-force-quic-on=localhost:$port" "--ignore-certificate-errors-spki-list=$spki"
    --no-proxy-server "--host-resolver-rules=MAP localhost 127.0.0.1" --disable-background-networking
    --disable-component-update --disable-sync --no-first-run --disable-extensions --disable-default-apps
    --disable-domain-reliability --disable-client-side-phishing-detection --no-pings
    --disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication
    --virtual-time-budget=5000 --dump-dom)
  local rc
  timeout 60 chromium "${copts[@]}" "https://localhost:$port/" > "$D/dom.html" 2> "$D/chromium.log"
  rc=$?
  sleep 0.3
  stop_pid "$spid"
  cap_stop
  echo "chromium ${copts[*]} https://localhost:$port/  <->  vq-server --listen 127.0.0.1:$port --root www --cert-out cert.pem" > "$D/command"
  local nreq
  nreq=$(grep -cE ' GET /(|style.css|app.js|pixel.png|big.bin) 200 ' "$D/server.log")
  if [ $rc -ne 0 ]; then
    result "$name" FAIL "chromium exit $rc: $(grep -E 'ERROR.*(net::|QUIC)' "$D/chromium.log" | tail -1)"
  elif ! grep -q 'Hello from vquic over HTTP/3' "$D/dom.html"; then
    result "$name" FAIL "the page text is not in the DOM: $(grep -E 'net::|QUIC' "$D/chromium.log" | tail -1)"
  elif ! grep -q 'script loaded over h3' "$D/dom.html"; then
    result "$name" FAIL "app.js did not run, or the page did not come over h3: $(grep -o '<p id="js">[^<]*' "$D/dom.html")"
  elif ! grep -q 'image loaded' "$D/dom.html"; then
    result "$name" FAIL "pixel.png did not load"
  elif ! grep -q 'big loaded 3000000 bytes' "$D/dom.html"; then
    result "$name" FAIL "big.bin (3 MB by fetch) did not arrive whole: $(grep -o '<p id="big">[^<]*' "$D/dom.html")"
  elif [ "$nreq" -lt 5 ]; then
    result "$name" FAIL "vq-server answered $nreq of the 5 resources with 200"
  elif ! cap_check "$D/cap.pcapng" "$D/keys.log" 5; then
    result "$name" FAIL "$CAP_ERR; $CAP_SUMMARY"
  else
    result "$name" PASS "DOM has the page text, script ran over h3, image and 3 MB fetch loaded; $nreq requests; $CAP_SUMMARY"
    [ $KEEP -eq 1 ] || rm -rf "$D/cap.pcapng" "$D/profile"
    return
  fi
  echo "  command: $(cat "$D/command")" | tee -a "$RES"
}

# ---- address validation tokens (NEW_TOKEN, RFC 9000 §8.1.3) ---------------------------------------
# CASE_CHECK=FUNC: case_vqc / case_gtc call FUNC CASE_DIR SERVER_PORT after their own checks (the
# capture still there); it returns 1 with CHECK_ERR set to fail the case, else sets CHECK_NOTE for the
# PASS line.
tc_field() { grep -o "$1 [0-9]*" <<< "$2" | head -1 | awk '{print $NF}'; } # "NAME N" in a line -> N
tc_has() { [[ ",$1," == *",$2,"* ]]; }                                       # list $1 holds item $2

# gtlsclient --token-file, twice -> vq-server --retry-above 0: connection 1 gets a Retry and a
# NEW_TOKEN; gtlsclient stores the token; connection 2 offers it in its first Initial and gets no
# Retry. gtlsclient 0.12.1 (Debian 12) writes the file but cannot read it back (its GnuTLS read_pem
# takes the file's size from tellg() without seeking to the end: 0 bytes, "Could not read token in"),
# so it offers no token: then connection 2 must be validated by a Retry again, and the case says so.
check_gtc_token() {
  local D=$1 sport=$2 lines p1 r1 f1 nt1 p2 r2 f2 nt2 stored sline
  CHECK_ERR= CHECK_NOTE=
  mapfile -t lines < <(token_conns "$D/cap.pcapng" "$D/keys.log" "$sport")
  if [ ${#lines[@]} -ne 2 ]; then CHECK_ERR="${#lines[@]} connections in the capture, expected 2"; return 1; fi
  read -r p1 r1 f1 nt1 <<< "${lines[0]}"
  read -r p2 r2 f2 nt2 <<< "${lines[1]}"
  sline=$(grep 'vq-server: address validation' "$D/server.log")
  if [ "$f1" != - ]; then CHECK_ERR="connection 1 (port $p1) offered a token in its first Initial"; return 1; fi
  if [ "$r1" -ne 1 ]; then CHECK_ERR="connection 1: $r1 Retry packets, expected 1 (--retry-above 0)"; return 1; fi
  if [ "$nt1" = - ] || [ "$nt2" = - ]; then CHECK_ERR="no NEW_TOKEN frame from vq-server (connection 1: $nt1, 2: $nt2)"; return 1; fi
  # ngtcp2 took the token from the frame: its token file holds the last connection's NEW_TOKEN token
  stored=$(pem_hex "$D/token" "QUIC TOKEN")
  if ! tc_has "$nt2" "$stored"; then
    CHECK_ERR="gtlsclient's token file holds '${stored:-nothing}', not connection 2's NEW_TOKEN token ($nt2)"; return 1
  fi
  if [ "$(tc_field 'NEW_TOKEN issued' "$sline")" != 2 ]; then CHECK_ERR="vq-server: '$sline', expected 2 NEW_TOKEN issued"; return 1; fi
  if tc_has "$nt1" "$f2"; then
    if [ "$r2" -ne 0 ]; then CHECK_ERR="connection 2 offered connection 1's NEW_TOKEN token and still got $r2 Retry"; return 1; fi
    if [ "$(tc_field 'Retry sent' "$sline")" != 1 ] || [ "$(tc_field 'tokens accepted' "$sline")" -lt 1 ]; then
      CHECK_ERR="vq-server: '$sline', expected 1 Retry sent and the token accepted"; return 1
    fi
    CHECK_NOTE="connection 1: Retry + NEW_TOKEN, connection 2 offered that token: no Retry; ${sline#vq-server: }"
  elif [ "$f2" = - ] && grep -q 'Could not read token in' "$D/client.log"; then
    if [ "$r2" -ne 1 ] || [ "$(tc_field 'Retry sent' "$sline")" != 2 ]; then
      CHECK_ERR="connection 2 offered no token: expected 1 Retry, got $r2 ('$sline')"; return 1
    fi
    CHECK_NOTE="connection 1: Retry + NEW_TOKEN, stored by gtlsclient; connection 2 offered no token (gtlsclient cannot read its token file back: 'Could not read token in'), Retry again; ${sline#vq-server: }"
  else
    CHECK_ERR="connection 2's first Initial token is '$f2', not connection 1's NEW_TOKEN token ($nt1)"; return 1
  fi
}

# vq-client --session-file, twice -> gtlsserver -V: connection 1 gets a Retry and gtlsserver's
# NEW_TOKEN, vq-client stores it; connection 2 offers it, gtlsserver validates it ("Verifying token
# from ... Token was successfully validated": ngtcp2's example server accepts the regular tokens it
# issued) and sends no Retry.
check_vqc_token() {
  local D=$1 sport=$2 lines p1 r1 f1 nt1 p2 r2 f2 nt2 s1 s2
  CHECK_ERR= CHECK_NOTE=
  mapfile -t lines < <(token_conns "$D/cap.pcapng" "$D/keys.log" "$sport")
  if [ ${#lines[@]} -ne 2 ]; then CHECK_ERR="${#lines[@]} connections in the capture, expected 2"; return 1; fi
  read -r p1 r1 f1 nt1 <<< "${lines[0]}"
  read -r p2 r2 f2 nt2 <<< "${lines[1]}"
  s1=$(grep 'address validation' "$D/client.0.log") s2=$(grep 'address validation' "$D/client.log")
  if [ "$f1" != - ]; then CHECK_ERR="connection 1 (port $p1) offered a token in its first Initial"; return 1; fi
  if [ "$r1" -ne 1 ]; then CHECK_ERR="connection 1: $r1 Retry packets, expected 1 (gtlsserver -V)"; return 1; fi
  if [ "$nt1" = - ]; then CHECK_ERR="no NEW_TOKEN frame from gtlsserver in connection 1"; return 1; fi
  if [ "$f2" != "${nt1##*,}" ]; then
    CHECK_ERR="connection 2's first Initial token is '$f2', not connection 1's last NEW_TOKEN token (${nt1##*,})"; return 1
  fi
  if [ "$r2" -ne 0 ]; then CHECK_ERR="connection 2 offered gtlsserver's NEW_TOKEN token and still got $r2 Retry"; return 1; fi
  if ! grep -qE 'Retry received, token not sent, new tokens received [1-9].*\(stored\)' <<< "$s1"; then
    CHECK_ERR="vq-client, connection 1: '$s1'"; return 1
  fi
  if ! grep -q 'Retry none, token sent' <<< "$s2"; then CHECK_ERR="vq-client, connection 2: '$s2'"; return 1; fi
  if [ "$(grep -c 'Sending Retry packet' "$D/server.log")" -ne 1 ] ||
    ! awk '/^Verifying token from/ {v = 1; next} v && /^[A-Z]/ {print; exit}' "$D/server.log" |
    grep -q 'Token was successfully validated'; then
    CHECK_ERR="gtlsserver did not send exactly one Retry and validate the NEW_TOKEN token: $(grep -E 'Retry|[Tt]oken' "$D/server.log" | grep -v 'frm ' | tr '\n' ' ')"
    return 1
  fi
  CHECK_NOTE="connection 1: Retry + NEW_TOKEN, connection 2 offered that token: gtlsserver validated it, no Retry"
}

VQS_EXTRA="" VQC_EXTRA=""
GTLS_CHACHA="NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305"
if [ -n "$missing" ]; then
  result setup FAIL "missing:$missing (ci/install-deps.sh installs them)"
  say "$PASS passed, $FAIL failed"
  exit 1
fi

# name, min STREAM frames, peer options, byte-exact files, generated NAME:LEN, paths
case_vqc vqc-gtls-small 3 "" "index.html" "" /index.html
case_vqc vqc-gtls-parallel 10 "" "index.html f1.bin f2.bin f3.bin" "100000:100000 700000:700000 1:1" \
  /index.html /f1.bin /f2.bin /f3.bin /100000 /700000 /1
case_vqc vqc-gtls-retry 3 "-V" "index.html f1.bin" "" /index.html /f1.bin
VQC_RESUME=1 case_vqc vqc-gtls-resume-0rtt 3 "" "index.html f1.bin" "" /index.html /f1.bin
# NEW_TOKEN (RFC 9000 §8.1.3): two connections, the second offers the first one's token (short set: ~1 s)
REPEAT=2 VQC_EXTRA="--session-file $W/vqc-gtls-token/session" CASE_CHECK=check_vqc_token \
  case_vqc vqc-gtls-token 3 "-V" "index.html f1.bin" "" /index.html /f1.bin
# interop-runner "chacha20": ChaCha20-Poly1305 only (RFC 9001 §5.3, header protection §5.4.4):
# gtlsserver accepts nothing else; the capture's ServerHello must name 0x1303 (short set: < 0.1 s)
WANT_SUITE=0x1303 case_vqc vqc-gtls-chacha20 3 "--ciphers=$GTLS_CHACHA" "index.html f1.bin" "" /index.html /f1.bin
if [ $SHORT -eq 0 ]; then
  case_vqc vqc-gtls-10MB 1000 "" "10MB.bin" "" /10MB.bin
  # vq-client starts key updates (RFC 9001 §6.1) against ngtcp2, under 2 % loss (the transfer lasts
  # long enough for several: each waits three PTOs after the previous one was acknowledged)
  VQC_EXTRA="--key-update-every 10" VQC_KU_MIN=2 case_vqc vqc-gtls-keyupdate 100 "-t 0.02 -r 0.02" \
    "10MB.bin f4.bin" "" /10MB.bin /f4.bin
  case_vqc vqc-gtls-loss5 100 "-t 0.05 -r 0.05" "2MB.bin f4.bin" "500000:500000" /2MB.bin /f4.bin /500000
  # more cases of the QUIC interop runner (quic-interop-runner) that these peers support:
  # udpfault.py between the peers, 10 connections in a row: 30 % of the long-header datagrams (the
  # handshake flights, both ways) lost, or corrupted (one byte changed: the receiver must drop what
  # fails to decrypt and recover, RFC 9001 §5.5, RFC 9000 §12.2 / §13); transfercorruption: 3 % of
  # all datagrams corrupted
  # (four lost Initials in a row, 0.8 % likely per connection, take the PTO back-off past 15 s, beyond
  # the peers' default 10 s handshake / idle timeouts: both sides get 60 s)
  REPEAT=10 FAULT="--long-only --loss 0.3 --seed 11" VQC_TIMEOUT=60000 case_vqc vqc-gtls-handshakeloss 3 \
    "--handshake-timeout=60s" "index.html f1.bin" "" /index.html /f1.bin
  REPEAT=10 FAULT="--long-only --corrupt 0.3 --seed 12" VQC_TIMEOUT=60000 CAP_DAMAGED=1 case_vqc vqc-gtls-handshakecorruption 3 "--handshake-timeout=60s" \
    "index.html f1.bin" "" /index.html /f1.bin
  FAULT="--corrupt 0.03 --seed 13" CAP_DAMAGED=1 case_vqc vqc-gtls-transfercorruption 100 "" "2MB.bin f4.bin" "" /2MB.bin /f4.bin
  # 100 % loss both ways for 1.5 s once 300 datagrams have passed (mid-transfer), then the path is back
  FAULT="--blackhole-after 300 --blackhole-ms 1500" case_vqc vqc-gtls-blackhole 100 "" "2MB.bin f4.bin" "" /2MB.bin /f4.bin
  case_vqc vqc-gtls-multiplex200 200 "" "${MUX[*]}" "" "${MUX[@]/#//}"
  # vq-client grants 64 KiB per connection, 16 KiB per stream, and never more (auto-tuning capped)
  VQC_EXTRA="--max-data 65536 --max-stream-data 16384" case_vqc vqc-gtls-smallwindow 100 "" \
    "2MB.bin f1.bin f2.bin" "" /2MB.bin /f1.bin /f2.bin
fi
case_gtc gtc-vqs-small 3 "" index.html
case_gtc gtc-vqs-parallel 10 "" index.html f1.bin f2.bin f3.bin f4.bin f5.bin f6.bin
VQS_EXTRA="--retry" case_gtc gtc-vqs-retry 3 "" index.html f1.bin
VQS_EXTRA="--early-data -v" GTC_RESUME=1 case_gtc gtc-vqs-resume-0rtt 3 "" index.html f1.bin
REPEAT=2 VQS_EXTRA="--retry-above 0" CASE_CHECK=check_gtc_token \
  case_gtc gtc-vqs-token 3 "--token-file=$W/gtc-vqs-token/token" index.html f1.bin
# gtlsclient offers ChaCha20-Poly1305 only
WANT_SUITE=0x1303 case_gtc gtc-vqs-chacha20 3 "--ciphers=$GTLS_CHACHA" index.html f1.bin
if [ $SHORT -eq 0 ]; then
  case_gtc gtc-vqs-10MB 1000 "" 10MB.bin
  case_gtc gtc-vqs-keyupdate 100 "--key-update=5ms" 2MB.bin
  case_gtc gtc-vqs-loss5 100 "-t 0.05 -r 0.05" 2MB.bin f5.bin index.html
  case_gtc gtc-vqs-vn 3 "-v 0x1a2a3a4a --preferred-versions v1" index.html f1.bin
  # RFC 9000 §9: ngtcp2 moves to a new local address mid-download and migrates (path validation both
  # ways; the server must not send disable_active_migration). (--nat-rebinding is no test of a
  # download: gtlsclient then ignores what arrives at its old port and, having nothing to send,
  # never speaks from the new one, so no server can learn the new address.)
  VQS_EXTRA="--allow-migration" case_gtc gtc-vqs-migrate 100 "--change-local-addr=30ms" 2MB.bin
  # the interop-runner cases, the other way round (see the vqc-gtls ones above)
  REPEAT=10 FAULT="--long-only --loss 0.3 --seed 21" case_gtc gtc-vqs-handshakeloss 3 "--handshake-timeout=60s" index.html f1.bin
  REPEAT=10 FAULT="--long-only --corrupt 0.3 --seed 22" CAP_DAMAGED=1 case_gtc gtc-vqs-handshakecorruption 3 \
    "--handshake-timeout=60s" index.html f1.bin
  FAULT="--corrupt 0.03 --seed 23" CAP_DAMAGED=1 case_gtc gtc-vqs-transfercorruption 100 "" 2MB.bin f4.bin
  FAULT="--blackhole-after 300 --blackhole-ms 1500" case_gtc gtc-vqs-blackhole 100 "" 2MB.bin f4.bin
  case_gtc gtc-vqs-multiplex200 200 "" "${MUX[@]}"
  # gtlsclient grants 64 KiB per connection, 16 KiB per stream, auto-tuning capped at the same
  case_gtc gtc-vqs-smallwindow 100 "--max-data=64K --max-stream-data-bidi-local=16K --max-window=64K --max-stream-window=16K" \
    2MB.bin f1.bin f2.bin
  case_chromium
fi
say "$PASS passed, $FAIL failed"
# the same results as a table of case x pairing (README "Interop" shows one)
{
  echo "Interop results of \`harness/interop/run.sh${ONLY:+ --only '$ONLY'}$([ $SHORT -eq 1 ] && echo ' --short')\`, $(date -u +%Y-%m-%d):"
  echo
  python3 "$HERE/table.py" "$RES"
} > "$BUILD/results/interop.md"
[ $FAIL -eq 0 ]
