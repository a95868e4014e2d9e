/* Test support: a server TLS context and a client context that trusts it, for the connection tests
 * that run a client and a server in one process (test_conn*.c, test_lab_scenarios.c). */
#ifndef VQ_TESTS_TLS_PAIR_H
#define VQ_TESTS_TLS_PAIR_H

#include "vquic/tls.h"

/* Creates *sctx from scfg (is_server set; a self-signed certificate for "localhost" generated unless
 * scfg names a certificate or a self-signed name) and *cctx from ccfg (trusting that certificate
 * unless ccfg is insecure or names its own trust anchors). The caller fills everything else (ALPN,
 * tickets, key log, test randomness). Returns 1, or 0 with both contexts freed. */
int vqt_tls_pair(vq_tls_ctx **sctx, vq_tls_ctx_config *scfg, vq_tls_ctx **cctx,
                 vq_tls_ctx_config *ccfg);

#endif
