# Proved modules: one Frama-C job each (proofs/prove-module.sh). Each module M has a fragment
# proofs/modules/M.mk that says
#   PROVE_MODULES += M
#   PROVE_SRCS_M  = the sources it proves (with every function they call)
# and an Eva entry point eva_main in proofs/harness/M_eva.c.
PROVE_MODULES :=
include $(sort $(wildcard proofs/modules/*.mk))
