# Proved modules: one Frama-C job each (proofs/prove-module.sh). Each module M has a fragment
# proofs/modules/M.mk that says
#   PROVE_MODULES += M
#   PROVE_SRCS_M  = the sources it proves (with every function they call)
# and an Eva entry point eva_main in proofs/harness/M_eva.c.
PROVE_MODULES :=
include $(sort $(wildcard proofs/modules/*.mk))

# Modules whose proofs are written but do not pass the gate yet (proofs/pending/*.mk): outside
# `make prove` until they do; `make prove PROVE_PENDING=1 PROVE_ONLY=M` runs one to work on it.
# proofs/README.md lists them with what is open.
ifdef PROVE_PENDING
include $(sort $(wildcard proofs/pending/*.mk))
endif
