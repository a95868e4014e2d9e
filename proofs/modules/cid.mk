PROVE_MODULES += cid
PROVE_SRCS_cid = src/core/cid.c
