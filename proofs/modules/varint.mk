PROVE_MODULES += varint
PROVE_SRCS_varint = src/core/varint.c
