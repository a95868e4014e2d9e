# TLS 1.3 handshake message parsers (RFC 8446 §4, RFC 9001 §8): cursor readers, extension blocks,
# messages, the RFC 9001 single-message checks, writers and encoders.
PROVE_MODULES += tlsmsg
PROVE_SRCS_tlsmsg = src/tls/msg_io.c src/tls/msg_ext.c src/tls/msg_parse.c src/tls/msg_wr.c \
                    src/tls/msg_build.c
