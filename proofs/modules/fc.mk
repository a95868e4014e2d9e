PROVE_MODULES += fc
PROVE_SRCS_fc = src/transport/fc.c
