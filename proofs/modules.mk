# Proved modules: one Frama-C job each (proofs/prove-module.sh). For each module M:
#   PROVE_SRCS_M  = the sources it proves (with every function they call)
#   proofs/harness/M_eva.c holds its Eva entry point eva_main.
# A new proved module adds itself here and to PROVE_MODULES.
PROVE_MODULES = varint

PROVE_SRCS_varint = src/core/varint.c

