/* vquic — internal helpers shared by the src/tls sources (not part of the public API). */
#ifndef VQUIC_TLS_INTERNAL_H
#define VQUIC_TLS_INTERNAL_H

#include "vquic/protect.h"

/* The HKDF-Expand-Label labels of one QUIC version (RFC 9001 §5.1, §6.1; RFC 9369 §3.3.2). */
typedef struct vq_labels {
  const char *key;
  const char *iv;
  const char *hp;
  const char *ku;
} vq_labels;

/* NULL for versions without packet protection support. */
const vq_labels *vq_tls_labels(uint32_t version);
/* AEAD key length and header protection key length of a suite. */
vq_status vq_tls_suite_lengths(vq_cipher_suite cs, size_t *key_len, size_t *hp_len);

#endif
