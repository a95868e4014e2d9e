#!/usr/bin/env bash
# The Frama-C jobs for one proved module (PROOF-STYLE.md pipeline), run as two independent analyses so
# that neither can lean on the other:
#   1. Eva: kernel RTE guards (overflow/downcast warnings on), then Eva from eva_main in
#      proofs/harness/<m>_eva.c. Gate data: functions reached, statements reached, alarms, and the
#      status of every RTE guard after Eva  -> OUTDIR/<m>.eva.log, OUTDIR/<m>.eva.csv
#   2. WP: the same RTE guards plus every ACSL contract of the module, proved by z3 and cvc4 for *all*
#      inputs allowed by the preconditions (Eva's verdicts only hold for the harness's inputs, so WP
#      does not reuse them)  -> OUTDIR/<m>.wp.log, OUTDIR/<m>.wp.csv
# proofs/ledger.py turns both into the ledger rows and applies the gates and proofs/exceptions.
# Usage: proofs/prove-module.sh MODULE OUTDIR SRC...
set -uo pipefail
m=$1; out=$2; shift 2
mkdir -p "$out"
top=$(cd "$(dirname "$0")/.." && pwd)
: "${VQ_WP_TIMEOUT:=20}"
: "${VQ_WP_PAR:=2}"
: "${VQ_EVA_PRECISION:=5}"
cache_opts=()
if [ -n "${VQ_WP_CACHE_DIR:-}" ]; then
  mkdir -p "$VQ_WP_CACHE_DIR"
  cache_opts=(-wp-cache update -wp-cache-dir "$VQ_WP_CACHE_DIR")
fi
eva_extra=()
[ -f "$top/proofs/options/$m.eva" ] && read -r -a eva_extra < "$top/proofs/options/$m.eva"
# proofs/options/<m>.wp: extra WP options for one module (README.md says which and why); they choose
# how goals are proved (prover order, a second pass), never which goals. A -wp-prover there replaces
# the default order; `-then -wp OPTS` there adds a pass that retries, with OPTS, only the properties
# the first pass left unproved (WP selects unproved properties by default).
wp_extra=()
[ -f "$top/proofs/options/$m.wp" ] && read -r -a wp_extra < "$top/proofs/options/$m.wp"
wp_provers=(-wp-prover z3,cvc4)
case " ${wp_extra[*]} " in *" -wp-prover "*) wp_provers=();; esac

kernel=(-machdep x86_64 -cpp-extra-args="-I$top/include -I$top/src/core -I$top/src -I$top/src/transport -D__VQ_PROOF__"
        -warn-unsigned-overflow -warn-unsigned-downcast -warn-signed-overflow -warn-signed-downcast)

frama-c "${kernel[@]}" "$@" "$top/proofs/harness/${m}_eva.c" -rte \
  -then -eva -main eva_main -eva-precision "$VQ_EVA_PRECISION" -eva-no-show-progress "${eva_extra[@]}" \
  -then -report-csv "$out/$m.eva.csv" > "$out/$m.eva.log" 2>&1
echo $? > "$out/$m.eva.rc"

frama-c "${kernel[@]}" "$@" -rte \
  -then -wp -wp-rte "${wp_provers[@]}" -wp-timeout "$VQ_WP_TIMEOUT" -wp-par "$VQ_WP_PAR" \
     "${cache_opts[@]}" "${wp_extra[@]}" \
  -then -report-csv "$out/$m.wp.csv" -report-classify -report-unclassified-unknown ERROR \
  > "$out/$m.wp.log" 2>&1
echo $? > "$out/$m.wp.rc"
