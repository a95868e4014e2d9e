/* Test support: see tls_pair.h. */
#include "tls_pair.h"

#include <stddef.h>

int vqt_tls_pair(vq_tls_ctx **sctx, vq_tls_ctx_config *scfg, vq_tls_ctx **cctx,
                 vq_tls_ctx_config *ccfg)
{
  *sctx = *cctx = NULL;
  scfg->is_server = 1;
  if (!scfg->cert_pem && !scfg->selfsigned_name)
    scfg->selfsigned_name = "localhost";
  if (vq_tls_ctx_new(sctx, scfg, NULL, 0) != VQ_OK)
    return 0;
  const char *pem = NULL;
  size_t pem_len = 0;
  if (!ccfg->insecure && !ccfg->ca_pem) {
    if (vq_tls_ctx_leaf_pem(*sctx, &pem, &pem_len) != VQ_OK) {
      vq_tls_ctx_free(*sctx);
      *sctx = NULL;
      return 0;
    }
    ccfg->ca_pem = (const uint8_t *)pem; /* the certificate is verified, not skipped */
    ccfg->ca_pem_len = pem_len;
  }
  if (vq_tls_ctx_new(cctx, ccfg, NULL, 0) != VQ_OK) {
    vq_tls_ctx_free(*sctx);
    *sctx = *cctx = NULL;
    return 0;
  }
  return 1;
}
