PROVE_MODULES += frame
PROVE_SRCS_frame = src/core/frame.c src/core/frame_enc.c src/core/frame_info.c
