#!/usr/bin/env bash
# Installs, from Debian 12 packages, everything `make check` and `make prove` need, then configures
# Why3's provers (z3, cvc4). Idempotent; make runs it when a tool is missing.
set -euo pipefail

pkgs=(
  frama-c-base why3 z3 cvc4        # proofs (PROOF-STYLE.md: Frama-C 25, Why3 1.5.1)
  libssl-dev pkg-config            # libcrypto for src/tls
  clang lld llvm libclang-rt-14-dev # libFuzzer, sanitizers
  afl++                            # AFL++ build of the fuzz harnesses
  python3                          # vector extraction and ledger scripts
  libnghttp3-dev                   # test-only HTTP/3 oracle (tests/test_h3_nghttp3.c), never in libvquic
  ngtcp2-client ngtcp2-server      # interop peers: gtlsclient, gtlsserver (harness/interop)
  tshark chromium                  # interop: capture checks, the browser peer
  ethtool iproute2 openssl         # interop: GSO off on the namespace's lo, lo up, certificates
  python3-matplotlib               # make bench: build/bench/ratios.png
  valgrind                         # make ct-check: memcheck (valgrind/memcheck.h) on the packet path
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Why3 must know the provers; detect once per machine (PROOF-STYLE.md).
if ! why3 config list-provers 2>/dev/null | grep -qi z3 || \
   ! why3 config list-provers 2>/dev/null | grep -qi cvc4; then
  rm -f "$HOME/.why3.conf"
  why3 config detect >/dev/null
fi
why3 config list-provers 2>/dev/null | grep -Ei 'z3|cvc4' >/dev/null || {
  echo "install-deps: why3 does not see z3 and cvc4" >&2; exit 1; }
echo "install-deps: ok"
