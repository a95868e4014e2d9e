PROVE_MODULES += error
PROVE_SRCS_error = src/core/error.c
