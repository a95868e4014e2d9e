PROVE_MODULES += packet
PROVE_SRCS_packet = src/core/packet.c src/core/varint.c
