PROVE_MODULES += pn
PROVE_SRCS_pn = src/core/pn.c
