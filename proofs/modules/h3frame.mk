PROVE_MODULES += h3frame
PROVE_SRCS_h3frame = src/h3/h3frame.c src/h3/h3frame_settings.c src/h3/h3frame_state.c src/core/varint.c
