# vquic interop harness — shared helpers (sourced by harness/interop/run.sh).
# Everything runs on loopback, inside a network namespace of its own when run.sh could make one.

# A free UDP port on 127.0.0.1 (the kernel picks it; released just before the peer binds it).
free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 tenths of a second for file $1 to contain $3.
wait_for() {
  local f=$1 n=$2 pat=$3 i
  for ((i = 0; i < n; i++)); do
    grep -q -- "$pat" "$f" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Starts a capture of UDP port $2 on lo into $1 (pcapng); sets CAP_PID and CAP_PORT (cap_check decodes
# that port as QUIC). Returns 1 if it did not start.
cap_start() {
  local out=$1 port=$2
  CAP_PID= CAP_PORT=$port
  tshark -q -i lo -s 0 -w "$out" -f "udp port $port" 2> "$out.err" &
  CAP_PID=$!
  wait_for "$out.err" 100 "Capturing on" || { kill "$CAP_PID" 2>/dev/null; CAP_PID=; return 1; }
}

cap_stop() {
  [ -n "${CAP_PID:-}" ] || return 0
  sleep 0.2 # the last datagrams reach the capture
  kill -INT "$CAP_PID" 2>/dev/null
  wait "$CAP_PID" 2>/dev/null
  CAP_PID=
}

# Checks a capture with tshark: it decodes as QUIC with the key log, nothing malformed, nothing left
# undecrypted, and the expected frames are there. $1 capture, $2 key log, $3 minimum STREAM frames.
# Prints a one-line summary into CAP_SUMMARY; returns 1 with CAP_ERR set on a problem.
cap_check() {
  local cap=$1 keys=$2 min_stream=$3 base
  base=(tshark -r "$cap" -o "tls.keylog_file:$keys")
  # the captured port is QUIC: without this, tshark's heuristics once decoded a whole capture (a
  # random port) as another protocol: 0 QUIC, 58 malformed
  [ -n "${CAP_PORT:-}" ] && base+=(-d "udp.port==$CAP_PORT,quic")
  CAP_ERR= CAP_SUMMARY=
  local npk nquic nmal nundec
  npk=$("${base[@]}" -Y udp 2>/dev/null | wc -l)
  nquic=$("${base[@]}" -Y quic 2>/dev/null | wc -l)
  # Malformed at the QUIC level: decoded with the HTTP/3 dissector off, nothing may be malformed.
  nmal=$("${base[@]}" --disable-protocol http3 -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
  # HTTP/3 level: tshark's HTTP/3 dissector does not reassemble STREAM data that is sent again over
  # different boundaries (overlapping re-sends after loss or with PTO probes are valid QUIC, RFC 9000
  # §2.2): it then reads body bytes as frame headers and reports them malformed. Its errors fail the
  # case only when no STREAM byte was sent twice; otherwise they are counted in the summary (the
  # files are compared byte for byte, and the peer's own HTTP/3 stack parsed every frame).
  local nh3 nresent
  nh3=$("${base[@]}" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
  nh3=$((nh3 - nmal))
  nresent=$("${base[@]}" -Y "quic.stream.stream_id" -T fields -e ip.src -e udp.srcport -e quic.stream.stream_id \
              -e quic.stream.offset -e quic.stream.length 2>/dev/null | python3 -c '
import sys
seen = {}
dup = 0
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if len(f) < 5 or not f[2]:
        continue
    for sid, off, ln in zip(f[2].split(","), f[3].split(","), f[4].split(",")):
        key = (f[0], f[1], sid)
        lo = int(off or 0)
        hi = lo + int(ln or 0)
        for a, b in seen.get(key, []):
            if lo < b and a < hi:
                dup += 1
                break
        seen.setdefault(key, []).append((lo, hi))
print(dup)')
  nundec=$("${base[@]}" -Y "quic.decryption_failed || quic.remaining_payload" 2>/dev/null | wc -l)
  # frame types of every decrypted QUIC packet, one per line
  local types
  types=$("${base[@]}" -Y quic -T fields -e quic.frame_type 2>/dev/null | tr ',' '\n' | grep -v '^$')
  local nstream nack nhsd nclose ncrypto nnt
  nstream=$(grep -cE '^(8|9|10|11|12|13|14|15)$' <<< "$types")
  nack=$(grep -cE '^(2|3)$' <<< "$types")
  ncrypto=$(grep -cE '^6$' <<< "$types")
  nhsd=$(grep -cE '^30$' <<< "$types")
  nclose=$(grep -cE '^(28|29)$' <<< "$types")
  nnt=$(grep -cE '^7$' <<< "$types")
  CAP_SUMMARY="tshark: $npk datagrams, $nquic QUIC, malformed $nmal, undecrypted $nundec, frames: STREAM $nstream ACK $nack CRYPTO $ncrypto HANDSHAKE_DONE $nhsd NEW_TOKEN $nnt CONNECTION_CLOSE $nclose"
  if [ "$nh3" -gt 0 ]; then
    CAP_SUMMARY="$CAP_SUMMARY, HTTP/3 dissector errors $nh3 (STREAM frames re-sending data: $nresent)"
  fi
  if [ "$npk" -eq 0 ]; then CAP_ERR="empty capture"; return 1; fi
  # CAP_DAMAGED=1: the relay (udpfault.py) corrupted datagrams on the captured leg; those cannot
  # decode or decrypt, so they are counted in the summary, not failed on
  if [ "${CAP_DAMAGED:-0}" != 1 ]; then
    if [ "$nquic" -ne "$npk" ]; then CAP_ERR="$((npk - nquic)) datagrams not decoded as QUIC"; return 1; fi
    if [ "$nmal" -ne 0 ]; then CAP_ERR="$nmal malformed packets"; return 1; fi
    if [ "$nh3" -gt 0 ] && [ "${nresent:-0}" -eq 0 ]; then
      CAP_ERR="$nh3 packets malformed at the HTTP/3 level, and no STREAM data was re-sent"; return 1
    fi
    if [ "$nundec" -ne 0 ]; then CAP_ERR="$nundec packets not decrypted"; return 1; fi
  fi
  if [ "$nstream" -lt "$min_stream" ]; then CAP_ERR="only $nstream STREAM frames (< $min_stream)"; return 1; fi
  if [ "$nack" -eq 0 ]; then CAP_ERR="no ACK frame"; return 1; fi
  if [ "$ncrypto" -eq 0 ]; then CAP_ERR="no CRYPTO frame"; return 1; fi
  if [ "$nhsd" -eq 0 ]; then CAP_ERR="no HANDSHAKE_DONE"; return 1; fi
  # WANT_SUITE=0x1303: the ServerHello must have chosen this cipher suite
  if [ -n "${WANT_SUITE:-}" ]; then
    local suite
    suite=$("${base[@]}" -Y "tls.handshake.type == 2" -T fields -e tls.handshake.ciphersuite 2>/dev/null | head -1)
    CAP_SUMMARY="$CAP_SUMMARY, suite $suite"
    if [ "$((suite))" -ne "$((WANT_SUITE))" ] 2>/dev/null; then CAP_ERR="ServerHello suite '$suite', expected $WANT_SUITE"; return 1; fi
  fi
  return 0
}

# FAULT="udpfault.py options": starts the relay from client-facing port $1 to server port $2 (log in
# $3); sets FAULT_PID. Without FAULT nothing is started.
fault_start() {
  FAULT_PID=
  [ -n "${FAULT:-}" ] || return 0
  # shellcheck disable=SC2086 # FAULT: word-split on purpose
  python3 "$HERE/udpfault.py" --listen "$1" --server "$2" --log "$3" $FAULT 2> /dev/null &
  FAULT_PID=$!
  sleep 0.2
}

fault_stop() {
  [ -n "${FAULT_PID:-}" ] || return 0
  kill -INT "$FAULT_PID" 2>/dev/null
  wait "$FAULT_PID" 2>/dev/null
  FAULT_PID=
  FAULT_SUMMARY="relay: $(cat "$1" 2>/dev/null), "
}

# Byte-exact comparison of the files named in "$3..." between dirs $1 (served) and $2 (fetched).
same_files() {
  local src=$1 dst=$2 f
  shift 2
  for f in "$@"; do
    if ! cmp -s "$src/$f" "$dst/$f"; then
      CMP_ERR="$f differs (served $(stat -c %s "$src/$f" 2>/dev/null || echo none) bytes, got $(stat -c %s "$dst/$f" 2>/dev/null || echo none))"
      return 1
    fi
  done
}

# Length check of generated bodies: "$3..." are NAME:LENGTH pairs found in dir $1.
sized_files() {
  local dir=$1 p
  shift
  for p in "$@"; do
    local f=${p%%:*} n=${p##*:}
    if [ "$(stat -c %s "$dir/$f" 2>/dev/null || echo none)" != "$n" ]; then
      CMP_ERR="$f: $(stat -c %s "$dir/$f" 2>/dev/null || echo no) bytes, expected $n"
      return 1
    fi
  done
}

# Stops a background process we started, by pid; SIGINT first (vq-server drains), then SIGKILL.
stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# Address validation per connection, from a capture: $1 capture, $2 key log, $3 the server's port.
# Prints one line per connection (per client port, in order of appearance):
#   PORT RETRIES FIRST_TOKEN NEW_TOKENS
# RETRIES: Retry packets to that port (v1 long packet type 3, RFC 9000 §17.2.5); FIRST_TOKEN: the
# token of the client's first Initial, hex ("-": none); NEW_TOKENS: the tokens of the server's
# NEW_TOKEN frames (RFC 9000 §19.7), hex, comma-separated ("-": none).
token_conns() {
  tshark -r "$1" -o "tls.keylog_file:$2" -Y udp -T fields -E separator='|' -e udp.srcport -e udp.dstport \
    -e quic.long.packet_type -e quic.token_length -e quic.token -e quic.nt.token 2> /dev/null |
    python3 -c '
import sys
sport = sys.argv[1]
conns = {}
order = []
for line in sys.stdin:
    f = line.rstrip("\n").split("|")
    if len(f) < 6:
        continue
    src, dst, types, tlen, tok, nt = f[:6]
    port = dst if src == sport else src
    if port not in conns:
        conns[port] = {"retry": 0, "first": None, "nt": []}
        order.append(port)
    c = conns[port]
    if src == sport:
        c["retry"] += [t for t in types.split(",") if t].count("3")
        c["nt"] += [t.replace(":", "") for t in nt.split(",") if t]
    elif c["first"] is None and types.split(",")[0] == "0":
        toks = [t.replace(":", "") for t in tok.split(",") if t]
        c["first"] = toks[0] if toks else "-"
for p in order:
    c = conns[p]
    print(p, c["retry"], c["first"] or "-", ",".join(c["nt"]) or "-")
' "$3"
}

# The bytes of a PEM file's first block ($1: file, $2: its label, e.g. "QUIC TOKEN"), hex; empty if none.
pem_hex() {
  python3 -c '
import base64, sys
lab = sys.argv[2]
try:
    t = open(sys.argv[1]).read()
    b = t.split("-----BEGIN %s-----" % lab, 1)[1].split("-----END %s-----" % lab, 1)[0]
    print(base64.b64decode("".join(b.split())).hex())
except (OSError, IndexError, ValueError):
    pass' "$1" "$2"
}
