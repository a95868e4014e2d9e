PROVE_MODULES += stream_state
PROVE_SRCS_stream_state = src/transport/stream_state.c
