PROVE_MODULES += tp
PROVE_SRCS_tp = src/core/tp.c src/core/varint.c
