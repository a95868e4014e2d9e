PROVE_MODULES += ackset
PROVE_SRCS_ackset = src/transport/ackset.c
