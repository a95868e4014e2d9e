/* vquic — session tickets and sessions for TLS 1.3 resumption in QUIC (RFC 8446 §4.6.1, §4.2.11;
 * RFC 9001 §4.5, §4.6; RFC 9000 §7.4.1): the server's self-encrypted tickets, the client's session
 * blob (tls.h documents its format), and the server's check of remembered transport parameters. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "tls/hs_internal.h"
#include "vquic/tp.h"

/* ---- byte helpers ------------------------------------------------------------------------------ */

typedef struct wr {
  uint8_t *p;
  size_t cap, off;
  int bad; /* would not fit */
} wr;

static void w_bytes(wr *w, const uint8_t *b, size_t n)
{
  if (w->bad || w->cap - w->off < n) {
    w->bad = 1;
    w->off += n; /* keeps counting: the size needed */
    return;
  }
  if (n) memcpy(w->p + w->off, b, n);
  w->off += n;
}

static void w_uint(wr *w, uint64_t v, size_t n)
{
  uint8_t b[8];
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
  w_bytes(w, b, n);
}

typedef struct rd {
  const uint8_t *p;
  size_t len, off;
  int bad;
} rd;

static uint64_t r_uint(rd *r, size_t n)
{
  uint64_t v = 0;
  if (r->bad || r->len - r->off < n) {
    r->bad = 1;
    return 0;
  }
  for (size_t i = 0; i < n; i++) v = v << 8 | r->p[r->off + i];
  r->off += n;
  return v;
}

static const uint8_t *r_bytes(rd *r, size_t n)
{
  if (r->bad || r->len - r->off < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}

/* ---- tickets (server) -------------------------------------------------------------------------- */

#define TICKET_VERSION 3u
#define TICKET_NONCE_LEN 12u
#define TICKET_TAG_LEN 16u
static const uint8_t ticket_aad[] = "vquic ticket v1";

/* Plaintext: u8 version, u32 quic_version (version 3), u16 suite, u64 created_ms, u32 lifetime_s, u32 age_add, u32 max_early_data,
 * u8 psk_len psk, u8 alpn_len alpn, u16 tp_len tp, u16 app_len app (version 2: the application's
 * 0-RTT state, vq_tls_resume.early_app).
 * Ticket: nonce (12) || AES-256-GCM(ticket_key, nonce, aad "vquic ticket v1", plaintext) || tag.
 * spec: rfc9001#9.2/2 — sealed under the server's own key: what it holds (the transport parameters
 * and the application's 0-RTT state the server compares on resumption) is read back by the server
 * only, nothing in it is communicated to the client, which keeps and sends it as opaque bytes
 * (client_nst in src/tls/hs.c). */
vq_status vq_hs_ticket_seal(const vq_tls_ctx *ctx, const vq_hs_ticket *tk, uint8_t *out, size_t cap,
                            size_t *len)
{
  uint8_t plain[VQ_HS_TICKET_PLAIN_MAX];
  wr w = {plain, sizeof plain, 0, 0};
  if (tk->psk_len > VQ_SECRET_MAX || tk->alpn_len > 255 || tk->tp_len > VQ_HS_TICKET_TP_MAX ||
      tk->app_len > VQ_TLS_EARLY_APP_MAX)
    return VQ_ERR_INVALID_ARGUMENT;
  w_uint(&w, TICKET_VERSION, 1);
  /* spec: rfc9369#5/2 — the QUIC version of the connection that issued it, checked on resumption */
  w_uint(&w, tk->quic_version, 4);
  w_uint(&w, tk->suite, 2);
  w_uint(&w, tk->created_ms, 8);
  w_uint(&w, tk->lifetime_s, 4);
  w_uint(&w, tk->age_add, 4);
  w_uint(&w, tk->max_early_data, 4);
  w_uint(&w, tk->psk_len, 1);
  w_bytes(&w, tk->psk, tk->psk_len);
  w_uint(&w, tk->alpn_len, 1);
  w_bytes(&w, tk->alpn, tk->alpn_len);
  w_uint(&w, tk->tp_len, 2);
  w_bytes(&w, tk->tp, tk->tp_len);
  w_uint(&w, tk->app_len, 2);
  w_bytes(&w, tk->app, tk->app_len);
  if (w.bad) return VQ_ERR_INVALID_ARGUMENT;
  size_t need = TICKET_NONCE_LEN + w.off + TICKET_TAG_LEN;
  if (cap < need) {
    OPENSSL_cleanse(plain, sizeof plain);
    return VQ_ERR_BUFFER_TOO_SMALL;
  }
  vq_status st = vq_hs_random(ctx, out, TICKET_NONCE_LEN);
  EVP_CIPHER_CTX *c = st == VQ_OK ? EVP_CIPHER_CTX_new() : NULL;
  int n = 0;
  int ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, ctx->ticket_key, out) == 1 &&
           EVP_EncryptUpdate(c, NULL, &n, ticket_aad, (int)sizeof ticket_aad - 1) == 1 &&
           EVP_EncryptUpdate(c, out + TICKET_NONCE_LEN, &n, plain, (int)w.off) == 1 &&
           EVP_EncryptFinal_ex(c, out + TICKET_NONCE_LEN + n, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TICKET_TAG_LEN,
                               out + TICKET_NONCE_LEN + w.off) == 1;
  EVP_CIPHER_CTX_free(c);
  OPENSSL_cleanse(plain, sizeof plain);
  ERR_clear_error();
  if (!ok) return VQ_ERR_TLS_INTERNAL_ERROR;
  *len = need;
  return VQ_OK;
}

/* spec: rfc8446#4.6.1/13 — the ticket is a self-encrypted and self-authenticated value: one that
 * does not open under our key, or whose contents do not parse, is not ours (VQ_ERR_TLS_DECODE,
 * which the caller turns into "ignore this PSK"). */
vq_status vq_hs_ticket_open(const vq_tls_ctx *ctx, const uint8_t *in, size_t len, vq_hs_ticket *tk)
{
  uint8_t plain[VQ_HS_TICKET_PLAIN_MAX];
  if (len < TICKET_NONCE_LEN + TICKET_TAG_LEN + 1 ||
      len - TICKET_NONCE_LEN - TICKET_TAG_LEN > sizeof plain)
    return VQ_ERR_TLS_DECODE;
  size_t pl = len - TICKET_NONCE_LEN - TICKET_TAG_LEN;
  uint8_t tag[TICKET_TAG_LEN];
  memcpy(tag, in + len - TICKET_TAG_LEN, TICKET_TAG_LEN);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0;
  int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, ctx->ticket_key, in) == 1 &&
           EVP_DecryptUpdate(c, NULL, &n, ticket_aad, (int)sizeof ticket_aad - 1) == 1 &&
           EVP_DecryptUpdate(c, plain, &n, in + TICKET_NONCE_LEN, (int)pl) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TICKET_TAG_LEN, tag) == 1 &&
           EVP_DecryptFinal_ex(c, plain + n, &n) == 1;
  EVP_CIPHER_CTX_free(c);
  ERR_clear_error();
  if (!ok) {
    OPENSSL_cleanse(plain, sizeof plain);
    return VQ_ERR_TLS_DECODE;
  }
  rd r = {plain, pl, 0, 0};
  memset(tk, 0, sizeof *tk);
  uint64_t ver = r_uint(&r, 1);
  tk->quic_version = (uint32_t)r_uint(&r, 4);
  tk->suite = (uint16_t)r_uint(&r, 2);
  tk->created_ms = r_uint(&r, 8);
  tk->lifetime_s = (uint32_t)r_uint(&r, 4);
  tk->age_add = (uint32_t)r_uint(&r, 4);
  tk->max_early_data = (uint32_t)r_uint(&r, 4);
  tk->psk_len = (size_t)r_uint(&r, 1);
  const uint8_t *psk = tk->psk_len <= VQ_SECRET_MAX ? r_bytes(&r, tk->psk_len) : NULL;
  tk->alpn_len = (size_t)r_uint(&r, 1);
  const uint8_t *alpn = r_bytes(&r, tk->alpn_len);
  tk->tp_len = (size_t)r_uint(&r, 2);
  const uint8_t *tp = tk->tp_len <= VQ_HS_TICKET_TP_MAX ? r_bytes(&r, tk->tp_len) : NULL;
  tk->app_len = (size_t)r_uint(&r, 2);
  const uint8_t *app = tk->app_len <= VQ_TLS_EARLY_APP_MAX ? r_bytes(&r, tk->app_len) : NULL;
  vq_hash h;
  ok = !r.bad && r.off == pl && ver == TICKET_VERSION && psk && alpn && tp && app &&
       vq_suite_hash((vq_cipher_suite)tk->suite, &h) == VQ_OK && tk->psk_len == vq_hash_len(h);
  if (ok) {
    memcpy(tk->psk, psk, tk->psk_len);
    if (tk->alpn_len) memcpy(tk->alpn, alpn, tk->alpn_len);
    if (tk->tp_len) memcpy(tk->tp, tp, tk->tp_len);
    if (tk->app_len) memcpy(tk->app, app, tk->app_len);
  }
  OPENSSL_cleanse(plain, sizeof plain);
  if (!ok) {
    OPENSSL_cleanse(tk, sizeof *tk);
    return VQ_ERR_TLS_DECODE;
  }
  return VQ_OK;
}

/* spec: rfc9000#7.4.1/6, rfc9000#7.4.1/9 — a server that accepts 0-RTT must not set the limits below
 * smaller than the remembered values: 1 if the current parameters cur keep every limit of the
 * remembered ones rem (both the server's own, encoded), 0 otherwise or when either does not decode.
 * spec: rfc9221#3/8 — max_datagram_frame_size too. */
int vq_hs_tp_keeps_limits(const uint8_t *rem, size_t rem_len, const uint8_t *cur, size_t cur_len)
{
  vq_tp a, b;
  if (vq_tp_decode(rem, rem_len, VQ_TP_SERVER, &a) != VQ_OK ||
      vq_tp_decode(cur, cur_len, VQ_TP_SERVER, &b) != VQ_OK)
    return 0;
  return b.initial_max_data >= a.initial_max_data &&
         b.initial_max_stream_data_bidi_local >= a.initial_max_stream_data_bidi_local &&
         b.initial_max_stream_data_bidi_remote >= a.initial_max_stream_data_bidi_remote &&
         b.initial_max_stream_data_uni >= a.initial_max_stream_data_uni &&
         b.initial_max_streams_bidi >= a.initial_max_streams_bidi &&
         b.initial_max_streams_uni >= a.initial_max_streams_uni &&
         b.active_connection_id_limit >= a.active_connection_id_limit &&
         b.max_datagram_frame_size >= a.max_datagram_frame_size;
}

/* ---- sessions (client) ------------------------------------------------------------------------- */

void vq_hs_tp_for_session(const uint8_t *tp, size_t len, uint8_t *out, size_t cap, size_t *used)
{
  vq_tp t;
  *used = 0;
  if (vq_tp_decode(tp, len, VQ_TP_SERVER, &t) != VQ_OK)
    return;
  /* spec: rfc9000#7.4.1/2 — not remembered: ack_delay_exponent, max_ack_delay,
   * initial_source_connection_id, original_destination_connection_id, preferred_address,
   * retry_source_connection_id, stateless_reset_token (the resumed connection gets its own);
   * spec: rfc9000#9.6.2/6 — so the preferred address and its CID never reach another connection,
   * resumed ones included */
  static const uint64_t drop[] = {VQ_TP_ACK_DELAY_EXPONENT, VQ_TP_MAX_ACK_DELAY,
                                  VQ_TP_INITIAL_SOURCE_CONNECTION_ID,
                                  VQ_TP_ORIGINAL_DESTINATION_CONNECTION_ID, VQ_TP_PREFERRED_ADDRESS,
                                  VQ_TP_RETRY_SOURCE_CONNECTION_ID, VQ_TP_STATELESS_RESET_TOKEN};
  for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
    (void)vq_tp_set_present(&t, drop[i], 0);
  memset(&t.preferred_address, 0, sizeof(t.preferred_address));
  memset(t.stateless_reset_token, 0, sizeof(t.stateless_reset_token));
  t.n_unknown = 0; /* spec: rfc9000#7.4.1 — only the parameters the client is able to process */
  size_t n = 0;
  if (vq_tp_encode(&t, VQ_TP_SERVER, out, cap, &n) == VQ_OK)
    *used = n;
}

/* Version 2 adds the QUIC version after the magic (RFC 9369 §5); a version 1 blob is invalid. */
static const uint8_t session_magic[4] = {'V', 'Q', 'S', 2};
#define SESSION_SUM_LEN 32u

vq_status vq_hs_session_encode(const vq_hs_session *s, uint8_t *out, size_t cap, size_t *len)
{
  wr w = {out, out ? cap : 0, 0, 0};
  size_t sni = strlen(s->sni);
  if (s->psk_len > VQ_SECRET_MAX || s->alpn_len > 255 || sni > 255 || s->ticket_len > 65535 ||
      s->tp_len > 65535)
    return VQ_ERR_INVALID_ARGUMENT;
  w_bytes(&w, session_magic, sizeof session_magic);
  w_uint(&w, s->quic_version, 4);
  w_uint(&w, s->suite, 2);
  w_uint(&w, s->received_ms, 8);
  w_uint(&w, s->lifetime_s, 4);
  w_uint(&w, s->age_add, 4);
  w_uint(&w, s->max_early_data, 4);
  w_uint(&w, s->psk_len, 1);
  w_bytes(&w, s->psk, s->psk_len);
  w_uint(&w, s->alpn_len, 1);
  w_bytes(&w, s->alpn, s->alpn_len);
  w_uint(&w, sni, 1);
  w_bytes(&w, (const uint8_t *)s->sni, sni);
  w_uint(&w, s->ticket_len, 2);
  w_bytes(&w, s->ticket, s->ticket_len);
  w_uint(&w, s->tp_len, 2);
  w_bytes(&w, s->tp, s->tp_len);
  size_t body = w.off;
  if (w.bad || cap - body < SESSION_SUM_LEN) {
    *len = body + SESSION_SUM_LEN;
    return VQ_ERR_BUFFER_TOO_SMALL;
  }
  unsigned int n = 0;
  if (EVP_Digest(out, body, out + body, &n, EVP_sha256(), NULL) != 1 || n != SESSION_SUM_LEN)
    return VQ_ERR_TLS_INTERNAL_ERROR;
  *len = body + SESSION_SUM_LEN;
  return VQ_OK;
}

vq_status vq_hs_session_decode(const uint8_t *in, size_t len, vq_hs_session *s)
{
  uint8_t sum[SESSION_SUM_LEN];
  unsigned int n = 0;
  memset(s, 0, sizeof *s);
  if (!in || len < sizeof session_magic + SESSION_SUM_LEN || len > VQ_TLS_SESSION_MAX ||
      memcmp(in, session_magic, sizeof session_magic) != 0)
    return VQ_ERR_TLS_SESSION_INVALID;
  size_t body = len - SESSION_SUM_LEN;
  if (EVP_Digest(in, body, sum, &n, EVP_sha256(), NULL) != 1 ||
      CRYPTO_memcmp(sum, in + body, SESSION_SUM_LEN) != 0)
    return VQ_ERR_TLS_SESSION_INVALID;
  rd r = {in, body, sizeof session_magic, 0};
  s->quic_version = (uint32_t)r_uint(&r, 4);
  s->suite = (uint16_t)r_uint(&r, 2);
  s->received_ms = r_uint(&r, 8);
  s->lifetime_s = (uint32_t)r_uint(&r, 4);
  s->age_add = (uint32_t)r_uint(&r, 4);
  s->max_early_data = (uint32_t)r_uint(&r, 4);
  s->psk_len = (size_t)r_uint(&r, 1);
  const uint8_t *psk = s->psk_len <= VQ_SECRET_MAX ? r_bytes(&r, s->psk_len) : NULL;
  s->alpn_len = (size_t)r_uint(&r, 1);
  const uint8_t *alpn = r_bytes(&r, s->alpn_len);
  size_t sni = (size_t)r_uint(&r, 1);
  const uint8_t *snip = r_bytes(&r, sni);
  s->ticket_len = (size_t)r_uint(&r, 2);
  s->ticket = r_bytes(&r, s->ticket_len);
  s->tp_len = (size_t)r_uint(&r, 2);
  s->tp = r_bytes(&r, s->tp_len);
  vq_hash h;
  if (r.bad || r.off != body || !psk || !alpn || !snip || !s->ticket || !s->tp || s->ticket_len == 0 ||
      vq_suite_hash((vq_cipher_suite)s->suite, &h) != VQ_OK || s->psk_len != vq_hash_len(h) ||
      memchr(snip, 0, sni) != NULL) {
    memset(s, 0, sizeof *s);
    return VQ_ERR_TLS_SESSION_INVALID;
  }
  memcpy(s->psk, psk, s->psk_len);
  if (s->alpn_len) memcpy(s->alpn, alpn, s->alpn_len);
  if (sni) memcpy(s->sni, snip, sni);
  s->sni[sni] = 0;
  return VQ_OK;
}
