/* vquic — internal cursor primitives of the TLS handshake codecs (src/tls/msg_*.c). A reader is
 * (b, len, &off) with off <= len; a writer is (b, cap, &off) with off <= cap. Contracts are on the
 * definitions in msg_io.c. */
#ifndef VQ_TLS_MSG_INTERNAL_H
#define VQ_TLS_MSG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vquic/tlsmsg.h"

extern const uint16_t vq_tls_ext_code[VQ_TLS_EXT_KNOWN];

vq_status vq_tls_rd_u8(const uint8_t *b, size_t len, size_t *off, uint32_t *v);
vq_status vq_tls_rd_u16(const uint8_t *b, size_t len, size_t *off, uint32_t *v);
vq_status vq_tls_rd_u24(const uint8_t *b, size_t len, size_t *off, uint32_t *v);
vq_status vq_tls_rd_u32(const uint8_t *b, size_t len, size_t *off, uint32_t *v);
/* A vector with an nlen-byte (1, 2 or 3) length prefix whose length is in [min, max]. */
vq_status vq_tls_rd_vec(const uint8_t *b, size_t len, size_t *off, size_t nlen, uint32_t min,
                        uint32_t max, vq_tls_span *out, size_t *start);

vq_status vq_tls_wr_uint(uint8_t *b, size_t cap, size_t *off, size_t n, uint32_t v);
vq_status vq_tls_wr_bytes(uint8_t *b, size_t cap, size_t *off, const uint8_t *src, size_t n);
vq_status vq_tls_wr_vec(uint8_t *b, size_t cap, size_t *off, size_t nlen, uint32_t min, uint32_t max,
                        vq_tls_span s);
vq_status vq_tls_wr_open(uint8_t *b, size_t cap, size_t *off, size_t nlen, size_t *mark);
vq_status vq_tls_wr_close(uint8_t *b, size_t cap, size_t off, size_t mark, size_t nlen, uint32_t min,
                          uint32_t max);

/* Parsers over b[start .. end) of one base buffer (end <= VQ_TLS_MAX_BODY): offsets stay absolute,
 * so every read is checked against one bound. */
vq_status vq_tls_ext_body(const uint8_t *b, size_t s, size_t end, vq_tls_ext_ctx ctx, vq_tls_ext_id id,
                          vq_tls_exts *e);
vq_status vq_tls_exts_parse(const uint8_t *b, size_t start, size_t end, vq_tls_ext_ctx ctx,
                            vq_tls_exts *e);
vq_status vq_tls_ch_parse(const uint8_t *b, size_t start, size_t end, vq_tls_client_hello *ch);
vq_status vq_tls_sh_parse(const uint8_t *b, size_t start, size_t end, vq_tls_server_hello *sh);
vq_status vq_tls_ee_parse(const uint8_t *b, size_t start, size_t end, vq_tls_encrypted_extensions *ee);
vq_status vq_tls_ct_parse(const uint8_t *b, size_t start, size_t end, vq_tls_certificate *ct);
vq_status vq_tls_cr_parse(const uint8_t *b, size_t start, size_t end, vq_tls_certificate_request *cr);
vq_status vq_tls_cv_parse(const uint8_t *b, size_t start, size_t end, vq_tls_certificate_verify *cv);
vq_status vq_tls_nst_parse(const uint8_t *b, size_t start, size_t end, vq_tls_new_session_ticket *nst);

vq_status vq_tls_write_exts(uint8_t *b, size_t cap, size_t *off, vq_tls_ext_ctx ctx, const vq_tls_exts *e);

#endif
