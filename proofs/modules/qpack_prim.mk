PROVE_MODULES += qpack_prim
PROVE_SRCS_qpack_prim = src/h3/qpack_prim.c src/h3/qpack_huff_table.c
