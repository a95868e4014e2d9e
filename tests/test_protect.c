/* Tests of src/tls (packet protection): every value of RFC 9001 Appendix A and RFC 9369 Appendix A, read
 * from spec/vectors (extracted from the RFC texts, never retyped), byte for byte in both directions; the
 * salts, Retry keys and AEAD limits against the RFC text; negative tests (every flipped bit fails and
 * leaves the packet as received, short packets are rejected without reading past them), key update, and
 * seeded round-trip properties over every suite and version. */
#include "vqtest.h"
#include "vquic/protect.h"
#include "vquic/pn.h"

#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#define V1_FILE "spec/vectors/rfc9001-protection.txt"
#define V2_FILE "spec/vectors/rfc9369-protection.txt"
#define MAXPKT 1500

typedef struct vecs {
  char *text;
  uint32_t version;
  const char *prefix; /* "quic" or "quicv2" */
} vecs;

static int load(vq_t *t, vecs *v, const char *path)
{
  v->text = vq_read_file(path, NULL);
  CHECK(v->text != NULL);
  if (!v->text) return 0;
  char buf[64];
  CHECK_EQ(vq_vector_get(v->text, "version", buf, sizeof buf), 0);
  v->version = (uint32_t)strtoul(buf, NULL, 16);
  v->prefix = v->version == VQ_QUIC_V1 ? "quic" : "quicv2";
  return 1;
}

/* The hex value of key; its length, or -1 (and a failed check) if absent. */
static long hexv(vq_t *t, const vecs *v, const char *key, uint8_t *out, size_t cap)
{
  char buf[2 * MAXPKT + 8];
  int r = vq_vector_get(v->text, key, buf, sizeof buf);
  CHECK_EQ(r, 0);
  if (r) {
    fprintf(stderr, "  missing vector %s\n", key);
    return -1;
  }
  long n = vq_hex(buf, out, cap);
  CHECK(n >= 0);
  return n;
}

static unsigned long long numv(vq_t *t, const vecs *v, const char *key)
{
  char buf[64];
  CHECK_EQ(vq_vector_get(v->text, key, buf, sizeof buf), 0);
  return strtoull(buf, NULL, 10);
}

/* Checks that key's hex value equals got[0..n). */
static void check_hex(vq_t *t, const vecs *v, const char *key, const uint8_t *got, size_t n)
{
  uint8_t want[MAXPKT];
  long wl = hexv(t, v, key, want, sizeof want);
  if (wl < 0) return;
  CHECK_MEM(got, n, want, (size_t)wl);
}

/* ---- constants against the RFC text ------------------------------------------------------------- */

/* spec: rfc9001#5.2 / rfc9369#3.3.1 — initial salt; rfc9001#5.8 / rfc9369#3.3.3 — Retry key and nonce,
 * which are HKDF-Expand-Label(retry secret, "quic key"/"quic iv" (v2: "quicv2 ...")). */
static void constants(vq_t *t, const char *path)
{
  vecs v;
  if (!load(t, &v, path)) return;
  size_t sl = 0;
  const uint8_t *salt = vq_initial_salt(v.version, &sl);
  CHECK(salt != NULL);
  if (salt) check_hex(t, &v, "initial_salt", salt, sl);
  const uint8_t *key = NULL, *nonce = NULL;
  CHECK_EQ(vq_retry_key(v.version, &key, &nonce), VQ_OK);
  if (key) {
    check_hex(t, &v, "retry_key", key, 16);
    check_hex(t, &v, "retry_nonce", nonce, 12);
  }
  uint8_t secret[32];
  CHECK_EQ(hexv(t, &v, "retry_secret", secret, sizeof secret), 32);
  vq_key_material m;
  CHECK_EQ(vq_derive_key_material(v.version, VQ_CS_AES_128_GCM_SHA256, secret, 32, &m), VQ_OK);
  check_hex(t, &v, "retry_key", m.key, m.key_len);
  check_hex(t, &v, "retry_nonce", m.iv, VQ_AEAD_IV_LEN);
  vq_key_material_wipe(&m);
  free(v.text);
}
VQ_TEST(protect_rfc9001_constants) { constants(t, V1_FILE); }
VQ_TEST(protect_rfc9369_constants) { constants(t, V2_FILE); }

/* spec: rfc8446#7.1 — HkdfLabel; rfc9001#A.1 / rfc9369#A.1 print the structures */
static void labels(vq_t *t, const char *path)
{
  vecs v;
  if (!load(t, &v, path)) return;
  static const struct { const char *suffix; uint16_t len; } ls[] = {
    {"key", 16}, {"iv", 12}, {"hp", 16}};
  uint8_t out[64];
  size_t n = 0;
  CHECK_EQ(vq_hkdf_label(out, sizeof out, 32, "client in", NULL, 0, &n), VQ_OK);
  check_hex(t, &v, "hkdf_label.client_in", out, n);
  CHECK_EQ(vq_hkdf_label(out, sizeof out, 32, "server in", NULL, 0, &n), VQ_OK);
  check_hex(t, &v, "hkdf_label.server_in", out, n);
  for (size_t i = 0; i < 3; i++) {
    char label[32], key[64];
    snprintf(label, sizeof label, "%s %s", v.prefix, ls[i].suffix);
    snprintf(key, sizeof key, "hkdf_label.%s_%s", v.prefix, ls[i].suffix);
    CHECK_EQ(vq_hkdf_label(out, sizeof out, ls[i].len, label, NULL, 0, &n), VQ_OK);
    check_hex(t, &v, key, out, n);
  }
  /* Bounds: label too long for the one-byte length, output too small. */
  char longlabel[256];
  memset(longlabel, 'a', 250);
  longlabel[250] = 0;
  CHECK_EQ(vq_hkdf_label(out, sizeof out, 16, longlabel, NULL, 0, &n), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_hkdf_label(out, 10, 16, "quic key", NULL, 0, &n), VQ_ERR_BUFFER_TOO_SMALL);
  free(v.text);
}
VQ_TEST(protect_rfc9001_hkdf_labels) { labels(t, V1_FILE); }
VQ_TEST(protect_rfc9369_hkdf_labels) { labels(t, V2_FILE); }

/* ---- A.1: keys ---------------------------------------------------------------------------------- */

static void initial_keys(vq_t *t, const char *path)
{
  vecs v;
  if (!load(t, &v, path)) return;
  uint8_t dcid[20], is[32], cs[32], ss[32];
  long dl = hexv(t, &v, "dcid", dcid, sizeof dcid);
  if (dl < 0) goto out;
  CHECK_EQ(vq_initial_secrets(v.version, dcid, (size_t)dl, is, cs, ss), VQ_OK);
  check_hex(t, &v, "initial_secret", is, 32);
  check_hex(t, &v, "client_initial_secret", cs, 32);
  check_hex(t, &v, "server_initial_secret", ss, 32);
  vq_key_material m;
  CHECK_EQ(vq_derive_key_material(v.version, VQ_CS_AES_128_GCM_SHA256, cs, 32, &m), VQ_OK);
  check_hex(t, &v, "client_key", m.key, m.key_len);
  check_hex(t, &v, "client_iv", m.iv, VQ_AEAD_IV_LEN);
  check_hex(t, &v, "client_hp", m.hp, m.hp_len);
  CHECK_EQ(vq_derive_key_material(v.version, VQ_CS_AES_128_GCM_SHA256, ss, 32, &m), VQ_OK);
  check_hex(t, &v, "server_key", m.key, m.key_len);
  check_hex(t, &v, "server_iv", m.iv, VQ_AEAD_IV_LEN);
  check_hex(t, &v, "server_hp", m.hp, m.hp_len);
  vq_key_material_wipe(&m);
  /* Unsupported version, over-long CID. */
  CHECK_EQ(vq_initial_secrets(0xff00001du, dcid, (size_t)dl, is, cs, ss), VQ_ERR_INVALID_ARGUMENT);
  uint8_t big[21] = {0};
  CHECK_EQ(vq_initial_secrets(v.version, big, 21, is, cs, ss), VQ_ERR_INVALID_ARGUMENT);
out:
  free(v.text);
}
/* spec: rfc9001#5.2/2 — Initial secrets derived with TLS 1.3's HKDF-Expand-Label match Appendix A.1. */
VQ_TEST(protect_rfc9001_initial_keys) { initial_keys(t, V1_FILE); }
VQ_TEST(protect_rfc9369_initial_keys) { initial_keys(t, V2_FILE); }

/* ---- A.2 / A.3: Initial packets, both directions ------------------------------------------------ */

/* Flips every bit of pkt[0..len) in turn: each flip must fail to authenticate (or to find its sample)
 * and leave the packet exactly as it was received. */
static void every_bit_flip(vq_t *t, vq_pp_key *k, const uint8_t *pkt, size_t len, size_t pn_offset,
                           int64_t largest)
{
  uint8_t *b = malloc(len);
  unsigned long bad = 0, notrestored = 0;
  for (size_t i = 0; b && i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(b, pkt, len);
      b[i] ^= (uint8_t)(1u << bit);
      vq_unprotected u;
      vq_status st = vq_packet_unprotect(k, b, len, pn_offset, largest, &u);
      if (st != VQ_ERR_DECRYPT) bad++;
      b[i] ^= (uint8_t)(1u << bit);
      if (memcmp(b, pkt, len) != 0) notrestored++;
    }
  }
  CHECK(b != NULL);
  CHECK_EQ(bad, 0);
  CHECK_EQ(notrestored, 0);
  free(b);
}

/* Every length too short for the sample is rejected without touching (or reading past) the bytes:
 * each truncation is copied into an exactly-sized heap block so ASan sees any over-read. */
static void short_packets(vq_t *t, vq_pp_key *k, const uint8_t *pkt, size_t pn_offset)
{
  for (size_t len = 0; len < pn_offset + VQ_PN_SAMPLE_OFFSET + VQ_HP_SAMPLE_LEN; len++) {
    uint8_t *b = malloc(len ? len : 1);
    if (!b) { CHECK(0); return; }
    memcpy(b, pkt, len);
    vq_unprotected u;
    vq_status st = vq_packet_unprotect(k, b, len, pn_offset, -1, &u);
    CHECK_EQ(st, VQ_ERR_HP_SAMPLE);
    CHECK(memcmp(b, pkt, len) == 0);
    size_t pl;
    uint64_t tpn;
    CHECK_EQ(vq_hp_remove(k, b, len, pn_offset, &pl, &tpn), VQ_ERR_HP_SAMPLE);
    free(b);
  }
}

static void initial_packet(vq_t *t, const char *path, const char *side)
{
  vecs v;
  if (!load(t, &v, path)) return;
  char key[64];
  uint8_t dcid[20], hdr[64], payload[MAXPKT], want[MAXPKT], buf[MAXPKT], sample[16], mask[5];
  long dl = hexv(t, &v, "dcid", dcid, sizeof dcid);
  snprintf(key, sizeof key, "%s_header", side);
  long hl = hexv(t, &v, key, hdr, sizeof hdr);
  snprintf(key, sizeof key, "%s_payload", side);
  long pl = hexv(t, &v, key, payload, sizeof payload);
  snprintf(key, sizeof key, "%s_packet", side);
  long wl = hexv(t, &v, key, want, sizeof want);
  snprintf(key, sizeof key, "%s_pn", side);
  uint64_t pn = numv(t, &v, key);
  if (dl < 0 || hl < 2 || pl < 0 || wl < 0) goto out;
  /* spec: rfc9001#A.2 — the CRYPTO frame plus PADDING frames (0x00) up to the stated payload size */
  size_t plen = (size_t)pl;
  if (!strcmp(side, "client")) {
    plen = (size_t)numv(t, &v, "client_payload_len");
    CHECK(plen >= (size_t)pl && plen <= sizeof payload);
    if (plen < (size_t)pl || plen > sizeof payload) goto out;
    memset(payload + pl, 0, plen - (size_t)pl);
  }
  size_t pn_len = (size_t)(hdr[0] & 3) + 1, pn_offset = (size_t)hl - pn_len;

  vq_pp_key ck, sk;
  vq_pp_key_init(&ck);
  vq_pp_key_init(&sk);
  CHECK_EQ(vq_pp_key_install_initial(&ck, &sk, v.version, dcid, (size_t)dl), VQ_OK);
  vq_pp_key *k = !strcmp(side, "client") ? &ck : &sk;

  /* Protect: header + padded payload built in place. */
  memcpy(buf, hdr, (size_t)hl);
  memcpy(buf + hl, payload, plen);
  size_t out_len = 0;
  CHECK_EQ(vq_packet_protect(k, buf, (size_t)hl + plen + VQ_AEAD_TAG_LEN, pn_offset, pn_len, pn, plen,
                             &out_len), VQ_OK);
  CHECK_MEM(buf, out_len, want, (size_t)wl);
  /* The intermediate sample and mask of the appendix. */
  memcpy(sample, want + pn_offset + 4, 16);
  snprintf(key, sizeof key, "%s_sample", side);
  check_hex(t, &v, key, sample, 16);
  CHECK_EQ(vq_hp_mask(k, sample, mask), VQ_OK);
  snprintf(key, sizeof key, "%s_mask", side);
  check_hex(t, &v, key, mask, 5);
  snprintf(key, sizeof key, "%s_protected_header", side);
  check_hex(t, &v, key, buf, (size_t)hl);

  /* Unprotect the RFC's bytes: header, pn and payload come back. */
  memcpy(buf, want, (size_t)wl);
  vq_unprotected u;
  CHECK_EQ(vq_packet_unprotect(k, buf, (size_t)wl, pn_offset, -1, &u), VQ_OK);
  CHECK_EQ(u.pn, pn);
  CHECK_EQ(u.pn_len, pn_len);
  CHECK_EQ(u.hdr_len, (size_t)hl);
  CHECK_EQ(u.payload_offset, (size_t)hl);
  CHECK_MEM(buf, u.hdr_len, hdr, (size_t)hl);
  CHECK_MEM(buf + u.payload_offset, u.payload_len, payload, plen);

  /* The other direction's keys do not open it; the packet is left as received. */
  vq_pp_key *other = k == &ck ? &sk : &ck;
  memcpy(buf, want, (size_t)wl);
  CHECK_EQ(vq_packet_unprotect(other, buf, (size_t)wl, pn_offset, -1, &u), VQ_ERR_DECRYPT);
  CHECK_MEM(buf, (size_t)wl, want, (size_t)wl);

  every_bit_flip(t, k, want, (size_t)wl, pn_offset, -1);
  short_packets(t, k, want, pn_offset);
  vq_pp_key_discard(&ck);
  vq_pp_key_discard(&sk);
out:
  free(v.text);
}
VQ_TEST(protect_rfc9001_client_initial) { initial_packet(t, V1_FILE, "client"); }
VQ_TEST(protect_rfc9001_server_initial) { initial_packet(t, V1_FILE, "server"); }
VQ_TEST(protect_rfc9369_client_initial) { initial_packet(t, V2_FILE, "client"); }
VQ_TEST(protect_rfc9369_server_initial) { initial_packet(t, V2_FILE, "server"); }

/* ---- A.4: Retry --------------------------------------------------------------------------------- */

/* spec: rfc9000#17.2.5.2/3 — a Retry whose integrity tag does not validate is refused (dropped). */

static void retry(vq_t *t, const char *path)
{
  vecs v;
  if (!load(t, &v, path)) return;
  uint8_t odcid[20], pkt[256], tag[16];
  long ol = hexv(t, &v, "retry_odcid", odcid, sizeof odcid);
  long pl = hexv(t, &v, "retry_packet", pkt, sizeof pkt);
  if (ol < 0 || pl <= 16) goto out;
  size_t len = (size_t)pl;
  CHECK_EQ(vq_retry_tag_compute(v.version, odcid, (size_t)ol, pkt, len - 16, tag), VQ_OK);
  CHECK_MEM(tag, 16, pkt + len - 16, 16);
  CHECK_EQ(vq_retry_tag_verify(v.version, odcid, (size_t)ol, pkt, len), VQ_OK);
  /* Any flipped bit, a different ODCID, the other version's key: rejected. */
  unsigned long accepted = 0;
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit++) {
      pkt[i] ^= (uint8_t)(1u << bit);
      if (vq_retry_tag_verify(v.version, odcid, (size_t)ol, pkt, len) != VQ_ERR_RETRY_INTEGRITY) accepted++;
      pkt[i] ^= (uint8_t)(1u << bit);
    }
  CHECK_EQ(accepted, 0);
  odcid[0] ^= 1;
  CHECK_EQ(vq_retry_tag_verify(v.version, odcid, (size_t)ol, pkt, len), VQ_ERR_RETRY_INTEGRITY);
  odcid[0] ^= 1;
  CHECK_EQ(vq_retry_tag_verify(v.version, odcid, (size_t)ol - 1, pkt, len), VQ_ERR_RETRY_INTEGRITY);
  uint32_t other = v.version == VQ_QUIC_V1 ? VQ_QUIC_V2 : VQ_QUIC_V1;
  CHECK_EQ(vq_retry_tag_verify(other, odcid, (size_t)ol, pkt, len), VQ_ERR_RETRY_INTEGRITY);
  /* Too short for a tag; unknown version; ODCID longer than 20 bytes. */
  for (size_t n = 0; n <= 16; n++) {
    uint8_t *b = malloc(n ? n : 1);
    if (!b) break;
    memcpy(b, pkt, n);
    CHECK_EQ(vq_retry_tag_verify(v.version, odcid, (size_t)ol, b, n), VQ_ERR_PACKET_RETRY);
    free(b);
  }
  CHECK_EQ(vq_retry_tag_verify(0x0a0a0a0au, odcid, (size_t)ol, pkt, len), VQ_ERR_INVALID_ARGUMENT);
  uint8_t big[21] = {0};
  CHECK_EQ(vq_retry_tag_compute(v.version, big, 21, pkt, len - 16, tag), VQ_ERR_INVALID_ARGUMENT);
out:
  free(v.text);
}
VQ_TEST(protect_rfc9001_retry) { retry(t, V1_FILE); }
VQ_TEST(protect_rfc9369_retry) { retry(t, V2_FILE); }

/* ---- A.5: ChaCha20-Poly1305 short header -------------------------------------------------------- */

static void chacha(vq_t *t, const char *path)
{
  vecs v;
  if (!load(t, &v, path)) return;
  uint8_t secret[32], hdr[16], pt[64], want[64], buf[64], nonce[12], mask[5], ku[32];
  long sl = hexv(t, &v, "chacha_secret", secret, sizeof secret);
  long hl = hexv(t, &v, "chacha_header", hdr, sizeof hdr);
  long pl = hexv(t, &v, "chacha_plaintext", pt, sizeof pt);
  long wl = hexv(t, &v, "chacha_packet", want, sizeof want);
  uint64_t pn = numv(t, &v, "chacha_pn");
  if (sl != 32 || hl < 2 || pl < 0 || wl < 0) goto out;
  const vq_cipher_suite cs = VQ_CS_CHACHA20_POLY1305_SHA256;

  vq_key_material m;
  CHECK_EQ(vq_derive_key_material(v.version, cs, secret, 32, &m), VQ_OK);
  check_hex(t, &v, "chacha_key", m.key, m.key_len);
  check_hex(t, &v, "chacha_iv", m.iv, VQ_AEAD_IV_LEN);
  check_hex(t, &v, "chacha_hp", m.hp, m.hp_len);
  CHECK_EQ(vq_next_secret(v.version, cs, secret, 32, ku), VQ_OK);
  check_hex(t, &v, "chacha_ku", ku, 32);
  vq_aead_nonce(m.iv, pn, nonce);
  check_hex(t, &v, "chacha_nonce", nonce, 12);
  vq_key_material_wipe(&m);

  vq_pp_key k;
  vq_pp_key_init(&k);
  CHECK_EQ(vq_pp_key_install(&k, v.version, cs, secret, 32), VQ_OK);
  size_t pn_len = (size_t)(hdr[0] & 3) + 1, pn_offset = (size_t)hl - pn_len;
  /* The payload ciphertext alone (AEAD before header protection). */
  memcpy(buf, hdr, (size_t)hl);
  memcpy(buf + hl, pt, (size_t)pl);
  CHECK_EQ(vq_aead_seal(&k, pn, buf, sizeof buf, (size_t)hl, (size_t)pl), VQ_OK);
  check_hex(t, &v, "chacha_ciphertext", buf + hl, (size_t)pl + 16);
  check_hex(t, &v, "chacha_sample", buf + pn_offset + 4, 16);
  CHECK_EQ(vq_hp_mask(&k, buf + pn_offset + 4, mask), VQ_OK);
  check_hex(t, &v, "chacha_mask", mask, 5);
  /* The whole packet. */
  memcpy(buf, hdr, (size_t)hl);
  memcpy(buf + hl, pt, (size_t)pl);
  size_t out_len = 0;
  CHECK_EQ(vq_packet_protect(&k, buf, (size_t)hl + (size_t)pl + 16, pn_offset, pn_len, pn, (size_t)pl,
                             &out_len), VQ_OK);
  CHECK_MEM(buf, out_len, want, (size_t)wl);
  check_hex(t, &v, "chacha_protected_header", buf, (size_t)hl);
  /* Unprotect with the previous packet number as the largest received. */
  memcpy(buf, want, (size_t)wl);
  vq_unprotected u;
  CHECK_EQ(vq_packet_unprotect(&k, buf, (size_t)wl, pn_offset, (int64_t)pn - 1, &u), VQ_OK);
  CHECK_EQ(u.pn, pn);
  CHECK_EQ(u.pn_len, pn_len);
  CHECK_MEM(buf, u.hdr_len, hdr, (size_t)hl);
  CHECK_MEM(buf + u.payload_offset, u.payload_len, pt, (size_t)pl);
  every_bit_flip(t, &k, want, (size_t)wl, pn_offset, (int64_t)pn - 1);
  short_packets(t, &k, want, pn_offset);
  vq_pp_key_discard(&k);
out:
  free(v.text);
}
VQ_TEST(protect_rfc9001_chacha20_short_header) { chacha(t, V1_FILE); }
VQ_TEST(protect_rfc9369_chacha20_short_header) { chacha(t, V2_FILE); }

/* ---- key update (RFC 9001 §6) ------------------------------------------------------------------- */

/* A 1-RTT packet: short header (0x40 | key phase | pn_len-1), 8-byte DCID, pn, payload. */
static size_t build_short(uint8_t *b, uint64_t pn, size_t pn_len, size_t payload_len, uint8_t fill)
{
  b[0] = (uint8_t)(0x40 | (pn_len - 1));
  for (size_t i = 0; i < 8; i++) b[1 + i] = (uint8_t)(0xc0 + i);
  for (size_t i = 0; i < pn_len; i++) b[9 + i] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
  memset(b + 9 + pn_len, fill, payload_len);
  return 9;
}

static void key_update(vq_t *t, const char *path)
{
  vecs v;
  if (!load(t, &v, path)) return;
  uint8_t secret[32], ku[32], ku2[32];
  const vq_cipher_suite cs = VQ_CS_CHACHA20_POLY1305_SHA256;
  if (hexv(t, &v, "chacha_secret", secret, sizeof secret) != 32 || hexv(t, &v, "chacha_ku", ku, 32) != 32)
    goto out;
  vq_pp_key k0, k1, k2, ref;
  vq_pp_key_init(&k0);
  vq_pp_key_init(&k1);
  vq_pp_key_init(&k2);
  vq_pp_key_init(&ref);
  CHECK_EQ(vq_pp_key_install(&k0, v.version, cs, secret, 32), VQ_OK);
  CHECK_EQ(vq_pp_key_update(&k0, &k1), VQ_OK);
  CHECK_EQ(vq_pp_key_update(&k0, &k1), VQ_ERR_INVALID_ARGUMENT); /* k1 already installed */
  CHECK_EQ(vq_pp_key_update(&k1, &k2), VQ_OK);
  CHECK_EQ(vq_next_secret(v.version, cs, ku, 32, ku2), VQ_OK);

  /* spec: rfc9001#6.1 — packet key and iv of generation 1 come from the "ku" secret of the RFC */
  vq_key_material m0, m1;
  CHECK_EQ(vq_derive_key_material(v.version, cs, secret, 32, &m0), VQ_OK);
  CHECK_EQ(vq_derive_key_material(v.version, cs, ku, 32, &m1), VQ_OK);
  CHECK(memcmp(m0.key, m1.key, 32) != 0);
  CHECK_EQ(vq_pp_key_install(&ref, v.version, cs, ku, 32), VQ_OK);
  uint8_t a[128], b[128], sample[16], mask_a[5], mask_b[5];
  size_t al = 0, bl = 0;
  size_t off = build_short(a, 7, 2, 40, 0x01);
  memcpy(b, a, off + 2 + 40);
  /* AEAD of generation 1 == AEAD of a key installed from the RFC's ku secret. */
  CHECK_EQ(vq_aead_seal(&k1, 7, a, sizeof a, off + 2, 40), VQ_OK);
  CHECK_EQ(vq_aead_seal(&ref, 7, b, sizeof b, off + 2, 40), VQ_OK);
  CHECK_MEM(a, off + 2 + 40 + 16, b, off + 2 + 40 + 16);
  /* spec: rfc9001#6 — the header protection key is not updated: same mask as generation 0 (and not
   * the mask of the hp key that "ku" would give). */
  for (size_t i = 0; i < 16; i++) sample[i] = (uint8_t)(i * 17 + 3);
  CHECK_EQ(vq_hp_mask(&k0, sample, mask_a), VQ_OK);
  CHECK_EQ(vq_hp_mask(&k2, sample, mask_b), VQ_OK);
  CHECK_MEM(mask_a, 5, mask_b, 5);
  CHECK_EQ(vq_hp_mask(&ref, sample, mask_b), VQ_OK);
  CHECK(memcmp(mask_a, mask_b, 5) != 0);
  /* Generation 2 == a key from HKDF-Expand-Label(ku, "ku") but the original hp key. */
  vq_pp_key_discard(&ref);
  CHECK_EQ(vq_pp_key_install(&ref, v.version, cs, ku2, 32), VQ_OK);
  off = build_short(a, 9, 1, 30, 0x02);
  memcpy(b, a, off + 1 + 30);
  CHECK_EQ(vq_aead_seal(&k2, 9, a, sizeof a, off + 1, 30), VQ_OK);
  CHECK_EQ(vq_aead_seal(&ref, 9, b, sizeof b, off + 1, 30), VQ_OK);
  CHECK_MEM(a, off + 1 + 30 + 16, b, off + 1 + 30 + 16);

  /* Trial decryption across a key phase change (rfc9001#6.3): a generation-1 packet fails with
   * generation 0, leaves the packet as received, and then opens with generation 1. */
  off = build_short(a, 300, 2, 25, 0x03);
  a[0] |= 0x04; /* key phase 1 */
  CHECK_EQ(vq_packet_protect(&k1, a, sizeof a, off, 2, 300, 25, &al), VQ_OK);
  memcpy(b, a, al);
  vq_unprotected u;
  CHECK_EQ(vq_packet_unprotect(&k0, b, al, off, 299, &u), VQ_ERR_DECRYPT);
  CHECK_MEM(b, al, a, al);
  CHECK_EQ(vq_packet_unprotect(&k1, b, al, off, 299, &u), VQ_OK);
  CHECK_EQ(u.pn, 300);
  CHECK_EQ(b[0] & 0x04, 0x04);
  bl = u.payload_len;
  CHECK_EQ(bl, 25);
  vq_key_material_wipe(&m0);
  vq_key_material_wipe(&m1);
  vq_pp_key_discard(&k0);
  vq_pp_key_discard(&k1);
  vq_pp_key_discard(&k2);
  vq_pp_key_discard(&ref);
out:
  free(v.text);
}
VQ_TEST(protect_rfc9001_key_update) { key_update(t, V1_FILE); }
VQ_TEST(protect_rfc9369_key_update) { key_update(t, V2_FILE); }

/* ---- AEAD limits (RFC 9001 §6.6) --------------------------------------------------------------- */

VQ_TEST(protect_aead_limits)
{
  vecs v;
  if (!load(t, &v, V1_FILE)) return;
  uint64_t c = 0, i = 0;
  unsigned long long gc = numv(t, &v, "limit.aes_gcm.confidentiality_log2");
  unsigned long long gi = numv(t, &v, "limit.aes_gcm.integrity_log2");
  unsigned long long cc = numv(t, &v, "limit.chacha20.confidentiality_disregarded_above_log2");
  unsigned long long ci = numv(t, &v, "limit.chacha20.integrity_log2");
  CHECK(gc > 0 && gc < 64 && gi > 0 && gi < 64 && cc > 0 && cc < 64 && ci > 0 && ci < 64);
  if (gc == 0 || gc >= 64 || gi == 0 || gi >= 64 || cc == 0 || cc >= 64 || ci == 0 || ci >= 64) goto out;
  CHECK_EQ(vq_aead_limits(VQ_CS_AES_128_GCM_SHA256, &c, &i), VQ_OK);
  CHECK_EQ(c, UINT64_C(1) << gc);
  CHECK_EQ(i, UINT64_C(1) << gi);
  CHECK_EQ(vq_aead_limits(VQ_CS_AES_256_GCM_SHA384, &c, &i), VQ_OK);
  CHECK_EQ(c, UINT64_C(1) << gc);
  CHECK_EQ(i, UINT64_C(1) << gi);
  CHECK_EQ(vq_aead_limits(VQ_CS_CHACHA20_POLY1305_SHA256, &c, &i), VQ_OK);
  CHECK(c > (UINT64_C(1) << cc)); /* disregarded: more than any packet number space holds */
  CHECK_EQ(i, UINT64_C(1) << ci);
  CHECK_EQ(vq_aead_limits((vq_cipher_suite)0x1304, &c, &i), VQ_ERR_INVALID_ARGUMENT); /* CCM */
out:
  free(v.text);
}

/* ---- packet number reconstruction (RFC 9000 Appendix A.3) -------------------------------------- */

/* The packet number decoder protect.c uses (src/core/pn.c), on the cases unprotect relies on. */
static uint64_t dec(int64_t largest, uint64_t tr, unsigned bits)
{
  uint64_t full = 0;
  if (vq_pn_decode(largest < 0 ? VQ_PN_NONE : (uint64_t)largest, tr, bits / 8, &full) != VQ_OK)
    return UINT64_MAX;
  return full;
}

VQ_TEST(protect_pn_decode_local)
{
  char *text = vq_read_file("spec/vectors/rfc9000-pn-decode.txt", NULL);
  CHECK(text != NULL);
  int n = 0;
  for (char *l = text ? strtok(text, "\n") : NULL; l; l = strtok(NULL, "\n")) {
    unsigned long long largest, bits, tr, want;
    if (l[0] == '#' || sscanf(l, "%llx %llu %llx %llx", &largest, &bits, &tr, &want) != 4) continue;
    CHECK_EQ(dec((int64_t)largest, tr, (unsigned)bits), want);
    n++;
  }
  CHECK(n >= 1);
  free(text);
  /* Edges: nothing received yet, wrap to the next/previous window, the top of the space. */
  CHECK_EQ(dec(-1, 0, 8), 0);
  CHECK_EQ(dec(-1, 0xff, 8), 0xff);
  CHECK_EQ(dec(0xff, 0x00, 8), 0x100);
  CHECK_EQ(dec(0x100, 0xff, 8), 0xff);
  CHECK_EQ(dec(0x17f, 0x00, 8), 0x200);
  const uint64_t top = (UINT64_C(1) << 62) - 1;
  CHECK_EQ(dec((int64_t)top - 1, 0xff, 8), top);
  CHECK_EQ(dec((int64_t)top - 1, 0x00, 8), top - 0xff); /* no wrap past 2^62 */
  /* Property: for pn within half a window of largest+1, decode(truncate(pn)) == pn. */
  uint64_t seed = 0x5eed0002;
  unsigned long bad = 0;
  for (int k = 0; k < 100000; k++) {
    unsigned bitsz = 8u * (unsigned)(1 + vq_rand(&seed) % 4);
    uint64_t hwin = UINT64_C(1) << (bitsz - 1);
    int64_t largest = (int64_t)(vq_rand(&seed) % (UINT64_C(1) << 40)) - 1;
    uint64_t exp = (uint64_t)(largest + 1);
    uint64_t lo = exp >= hwin - 1 ? exp - (hwin - 1) : 0;
    uint64_t pn = lo + vq_rand(&seed) % (exp + hwin - lo);
    if (dec(largest, pn & ((UINT64_C(1) << bitsz) - 1), bitsz) != pn) bad++;
  }
  CHECK_EQ(bad, 0);
}

/* spec: rfc9001#9.5/1, rfc9001#9.5/2 — the constant-time forms protect.c uses on the packet path
 * (make ct-check shows they do not branch on their secret inputs) compute exactly what the proved
 * functions of src/core/pn.c compute: every A.3 vector, the edges of each window and of the packet
 * number space, and random cases; and the key phase choice of RFC 9001 §6.3, §6.5. */
VQ_TEST(protect_pn_decode_ct_matches_proved)
{
  char *text = vq_read_file("spec/vectors/rfc9000-pn-decode.txt", NULL);
  CHECK(text != NULL);
  int nv = 0;
  for (char *l = text ? strtok(text, "\n") : NULL; l; l = strtok(NULL, "\n")) {
    unsigned long long largest, bits, tr, want;
    if (l[0] == '#' || sscanf(l, "%llx %llu %llx %llx", &largest, &bits, &tr, &want) != 4) continue;
    CHECK_EQ(vq_pn_decode_ct(largest, tr, (size_t)bits / 8), (uint64_t)want);
    nv++;
  }
  CHECK(nv >= 1);
  free(text);
  const uint64_t top = VQ_PN_MAX;
  static const uint64_t edges[] = {0, 1, 126, 127, 128, 129, 254, 255, 256, 32767, 32768, 65535, 65536,
                                   0x7fffff, 0x800000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000,
                                   0xffffffff, UINT64_C(0x100000000), UINT64_C(1) << 40,
                                   VQ_PN_MAX - UINT64_C(0x100000000), VQ_PN_MAX - 65536, VQ_PN_MAX - 255,
                                   VQ_PN_MAX - 128, VQ_PN_MAX - 1, VQ_PN_MAX};
  unsigned long bad = 0, over = 0, n_ok = 0;
  uint64_t seed = 0x5eed0ce7;
  for (size_t e = 0; e < sizeof edges / sizeof edges[0] + 1; e++)
    for (size_t n = 1; n <= 4; n++) {
      const uint64_t win = UINT64_C(1) << (8 * n);
      const uint64_t largest = e < sizeof edges / sizeof edges[0] ? edges[e] : VQ_PN_NONE;
      for (int k = 0; k < 600; k++) {
        /* truncated values around the window's edges, then random ones */
        uint64_t tr = k < 8 ? (uint64_t)k : k < 16 ? win - 1 - (uint64_t)(k - 8)
                    : k < 24 ? (largest + win / 2 + (uint64_t)(k - 20)) % win : vq_rand(&seed) % win;
        uint64_t want = 0;
        vq_status st = vq_pn_decode(largest, tr, n, &want);
        uint64_t got = vq_pn_decode_ct(largest, tr, n);
        if (st == VQ_OK) {
          n_ok++;
          if (got != want) bad++;
        } else if (st == VQ_ERR_PACKET_NUMBER) {
          over++;
          if (got <= top || largest != top) bad++; /* beyond the space: the caller drops it */
        } else {
          bad++;
        }
      }
    }
  CHECK_EQ(bad, 0);
  CHECK(n_ok > 1000);
  CHECK(over > 0);
  /* random largest values all over the space */
  for (int k = 0; k < 200000; k++) {
    size_t n = 1 + vq_rand(&seed) % 4;
    uint64_t largest = vq_rand(&seed) % (k & 1 ? (UINT64_C(1) << 62) : (UINT64_C(1) << 34));
    uint64_t tr = vq_rand(&seed) % (UINT64_C(1) << (8 * n));
    uint64_t want = 0;
    if (vq_pn_decode(largest, tr, n, &want) == VQ_OK && vq_pn_decode_ct(largest, tr, n) != want) bad++;
  }
  CHECK_EQ(bad, 0);
}

VQ_TEST(protect_pn_encode_ct_matches_proved)
{
  static const uint64_t pns[] = {0, 1, 127, 128, 129, 32767, 32768, 8388607, 8388608, 2147483647,
                                 2147483648u, UINT64_C(1) << 40, VQ_PN_MAX - 1, VQ_PN_MAX, VQ_PN_MAX + 1,
                                 UINT64_MAX - 1, UINT64_MAX};
  static const uint64_t deltas[] = {0, 1, 2, 127, 128, 129, 32768, 32769, 8388608, 8388609, 2147483648u,
                                    2147483649u, UINT64_C(1) << 40};
  unsigned long bad = 0;
  for (size_t i = 0; i < sizeof pns / sizeof pns[0]; i++) {
    if (vq_pn_encode_len_ct(pns[i], VQ_PN_NONE) != vq_pn_encode_len(pns[i], VQ_PN_NONE)) bad++;
    for (size_t d = 0; d < sizeof deltas / sizeof deltas[0]; d++) {
      uint64_t la = pns[i] - deltas[d];
      if (vq_pn_encode_len_ct(pns[i], la) != vq_pn_encode_len(pns[i], la)) bad++;
      la = pns[i] + deltas[d]; /* at or above the pn: 0 from both */
      if (vq_pn_encode_len_ct(pns[i], la) != vq_pn_encode_len(pns[i], la)) bad++;
    }
  }
  uint64_t seed = 0x5eed0ce8;
  for (int k = 0; k < 200000; k++) {
    uint64_t pn = vq_rand(&seed) % (UINT64_C(1) << (k & 1 ? 62 : 33));
    uint64_t la = k % 5 == 0 ? VQ_PN_NONE : pn - vq_rand(&seed) % (UINT64_C(1) << (1 + k % 33));
    if (vq_pn_encode_len_ct(pn, la) != vq_pn_encode_len(pn, la)) bad++;
    /* the bytes: as vq_pn_write writes them, the 4th-and-beyond bytes untouched */
    size_t n = 1 + (size_t)(vq_rand(&seed) % 4);
    uint8_t a[8] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5}, b[8] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5};
    vq_pn_write_ct(a, pn, n);
    if (vq_pn_write(b, sizeof b, pn, n) != VQ_OK || memcmp(a, b, sizeof a) != 0) bad++;
  }
  CHECK_EQ(bad, 0);
}

/* spec: rfc9001#6.3/1, rfc9001#6.5 — the key phase choice: the current keys for the current phase;
 * otherwise the previous keys for a pn below the current phase's first (when they are kept), the next
 * keys else. */
VQ_TEST(protect_key_phase_select)
{
  for (unsigned b0 = 0; b0 < 256; b0++)
    for (unsigned cur = 0; cur < 2; cur++)
      for (int prev_ok = 0; prev_ok < 2; prev_ok++)
        for (uint64_t pn = 98; pn < 103; pn++) {
          unsigned want = ((b0 >> 2) & 1u) == cur ? 0u : (prev_ok && pn < 100) ? 2u : 1u;
          CHECK_EQ(vq_key_phase_select((uint8_t)b0, cur, prev_ok, 100, pn), want);
        }
}

/* ---- properties over every suite and version ------------------------------------------------- */

/* AES-256-GCM and the SHA-384 key schedule have no RFC vector: check the in-place seal and the header
 * mask against independent one-shot libcrypto calls on separate buffers. */
VQ_TEST(protect_aes256_against_oneshot)
{
  uint8_t secret[48];
  for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(0xa0 ^ i);
  vq_key_material m;
  CHECK_EQ(vq_derive_key_material(VQ_QUIC_V1, VQ_CS_AES_256_GCM_SHA384, secret, 48, &m), VQ_OK);
  CHECK_EQ(m.key_len, 32);
  CHECK_EQ(m.hp_len, 32);
  CHECK_EQ(vq_derive_key_material(VQ_QUIC_V1, VQ_CS_AES_256_GCM_SHA384, secret, 32, &m),
           VQ_ERR_INVALID_ARGUMENT); /* SHA-384 secrets are 48 bytes */
  CHECK_EQ(vq_derive_key_material(VQ_QUIC_V1, VQ_CS_AES_256_GCM_SHA384, secret, 48, &m), VQ_OK);
  vq_pp_key k;
  vq_pp_key_init(&k);
  CHECK_EQ(vq_pp_key_install(&k, VQ_QUIC_V1, VQ_CS_AES_256_GCM_SHA384, secret, 48), VQ_OK);
  uint8_t pkt[200], in[100], ct[100], tag[16], nonce[12], blk[16];
  size_t off = build_short(pkt, 0x1234567, 4, 60, 0x5a);
  memcpy(in, pkt + off + 4, 60);
  CHECK_EQ(vq_aead_seal(&k, 0x1234567, pkt, sizeof pkt, off + 4, 60), VQ_OK);
  vq_aead_nonce(m.iv, 0x1234567, nonce);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int outl = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, m.key, nonce) == 1 &&
                     EVP_EncryptUpdate(c, NULL, &outl, pkt, (int)(off + 4)) == 1 &&
                     EVP_EncryptUpdate(c, ct, &outl, in, 60) == 1 && EVP_EncryptFinal_ex(c, blk, &outl) == 1 &&
                     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
  CHECK(ok);
  CHECK_MEM(pkt + off + 4, 60, ct, 60);
  CHECK_MEM(pkt + off + 64, 16, tag, 16);
  uint8_t mask[5];
  CHECK_EQ(vq_hp_mask(&k, ct, mask), VQ_OK);
  ok = EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, m.hp, NULL) == 1 &&
       EVP_CIPHER_CTX_set_padding(c, 0) == 1 && EVP_EncryptUpdate(c, blk, &outl, ct, 16) == 1;
  CHECK(ok);
  CHECK_MEM(mask, 5, blk, 5);
  EVP_CIPHER_CTX_free(c);
  vq_key_material_wipe(&m);
  vq_pp_key_discard(&k);
}

/* Many packets on one key in one direction (the per-packet path that only sets the nonce, and the
 * tag when opening), checked against independent one-shot libcrypto seals for every suite; then a
 * second key opens them in turn, with a forged packet in the middle (its failure re-encrypts in place
 * and switches the context's direction) after which opening goes on correctly. */
VQ_TEST(protect_many_packets_one_key_against_oneshot)
{
  static const vq_cipher_suite suites[] = {VQ_CS_AES_128_GCM_SHA256, VQ_CS_AES_256_GCM_SHA384,
                                           VQ_CS_CHACHA20_POLY1305_SHA256};
  for (size_t s = 0; s < 3; s++) {
    vq_hash h;
    CHECK_EQ(vq_suite_hash(suites[s], &h), VQ_OK);
    const size_t sl = vq_hash_len(h);
    uint8_t secret[48];
    for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(0x31 * (i + 1) + s);
    vq_key_material m;
    CHECK_EQ(vq_derive_key_material(VQ_QUIC_V1, suites[s], secret, sl, &m), VQ_OK);
    vq_pp_key tx, rx;
    vq_pp_key_init(&tx);
    vq_pp_key_init(&rx);
    CHECK_EQ(vq_pp_key_install(&tx, VQ_QUIC_V1, suites[s], secret, sl), VQ_OK);
    CHECK_EQ(vq_pp_key_install(&rx, VQ_QUIC_V1, suites[s], secret, sl), VQ_OK);
    const EVP_CIPHER *ciph = suites[s] == VQ_CS_AES_128_GCM_SHA256   ? EVP_aes_128_gcm()
                             : suites[s] == VQ_CS_AES_256_GCM_SHA384 ? EVP_aes_256_gcm()
                                                                     : EVP_chacha20_poly1305();
    enum { N = 40, HL = 9, PL = 300 };
    static uint8_t pkts[N][HL + PL + 16], plain[N][PL];
    unsigned long mismatch = 0, openbad = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    CHECK(c != NULL);
    for (int n = 0; n < N; n++) {
      const uint64_t pn = 1000 + (uint64_t)n * 7;
      for (size_t i = 0; i < HL; i++) pkts[n][i] = (uint8_t)(0x40 + i + n);
      for (size_t i = 0; i < PL; i++) plain[n][i] = pkts[n][HL + i] = (uint8_t)(i * 3 + n);
      CHECK_EQ(vq_aead_seal(&tx, pn, pkts[n], sizeof pkts[n], HL, PL), VQ_OK);
      uint8_t nonce[12], ct[PL], tag[16], fin[16];
      int outl = 0;
      vq_aead_nonce(m.iv, pn, nonce);
      int ok = EVP_EncryptInit_ex(c, ciph, NULL, m.key, nonce) == 1 &&
               EVP_EncryptUpdate(c, NULL, &outl, pkts[n], HL) == 1 &&
               EVP_EncryptUpdate(c, ct, &outl, plain[n], PL) == 1 && EVP_EncryptFinal_ex(c, fin, &outl) == 1 &&
               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
      if (!ok || memcmp(pkts[n] + HL, ct, PL) != 0 || memcmp(pkts[n] + HL + PL, tag, 16) != 0) mismatch++;
    }
    EVP_CIPHER_CTX_free(c);
    CHECK_EQ(mismatch, 0);
    for (int n = 0; n < N; n++) {
      const uint64_t pn = 1000 + (uint64_t)n * 7;
      size_t got = 0;
      if (n == N / 2) { /* a forged copy fails and is left exactly as received */
        uint8_t forged[HL + PL + 16];
        memcpy(forged, pkts[n], sizeof forged);
        forged[HL + 5] ^= 1;
        uint8_t keep[HL + PL + 16];
        memcpy(keep, forged, sizeof keep);
        CHECK_EQ(vq_aead_open(&rx, pn, forged, sizeof forged, HL, &got), VQ_ERR_DECRYPT);
        CHECK_MEM(forged, sizeof forged, keep, sizeof keep);
      }
      if (vq_aead_open(&rx, pn, pkts[n], sizeof pkts[n], HL, &got) != VQ_OK || got != PL ||
          memcmp(pkts[n] + HL, plain[n], PL) != 0)
        openbad++;
    }
    CHECK_EQ(openbad, 0);
    vq_key_material_wipe(&m);
    vq_pp_key_discard(&tx);
    vq_pp_key_discard(&rx);
  }
}

/* RFC 5869 §2.2: an absent salt is HashLen zero bytes. */
VQ_TEST(protect_hkdf_extract_empty_salt)
{
  static const vq_hash hs[] = {VQ_HASH_SHA256, VQ_HASH_SHA384};
  for (size_t i = 0; i < 2; i++) {
    uint8_t zeros[48] = {0}, ikm[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, a[48], b[48];
    size_t hl = vq_hash_len(hs[i]);
    CHECK_EQ(vq_hkdf_extract(hs[i], NULL, 0, ikm, sizeof ikm, a, sizeof a), VQ_OK);
    CHECK_EQ(vq_hkdf_extract(hs[i], zeros, hl, ikm, sizeof ikm, b, sizeof b), VQ_OK);
    CHECK_MEM(a, hl, b, hl);
    CHECK_EQ(vq_hkdf_extract(hs[i], zeros, hl, ikm, sizeof ikm, b, hl - 1), VQ_ERR_BUFFER_TOO_SMALL);
  }
}

/* Seeded round trip: any suite, version, pn length, header form and payload size protects and
 * unprotects back to the same header, pn and payload. */
VQ_TEST(protect_roundtrip_property)
{
  static const vq_cipher_suite suites[] = {VQ_CS_AES_128_GCM_SHA256, VQ_CS_AES_256_GCM_SHA384,
                                           VQ_CS_CHACHA20_POLY1305_SHA256};
  static const uint32_t versions[] = {VQ_QUIC_V1, VQ_QUIC_V2};
  uint64_t seed = 0x5eed0003;
  unsigned long bad = 0;
  for (size_t s = 0; s < 3; s++)
    for (size_t vi = 0; vi < 2; vi++) {
      uint8_t secret[48];
      for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)vq_rand(&seed);
      vq_hash h;
      CHECK_EQ(vq_suite_hash(suites[s], &h), VQ_OK);
      vq_pp_key k;
      vq_pp_key_init(&k);
      CHECK_EQ(vq_pp_key_install(&k, versions[vi], suites[s], secret, vq_hash_len(h)), VQ_OK);
      for (int n = 0; n < 300; n++) {
        uint8_t pkt[MAXPKT], orig[MAXPKT];
        size_t pn_len = 1 + vq_rand(&seed) % 4, pn_offset = 1 + vq_rand(&seed) % 40;
        size_t payload = (4 - (pn_len < 4 ? pn_len : 4)) + vq_rand(&seed) % 1200;
        int64_t largest = (int64_t)(vq_rand(&seed) % (UINT64_C(1) << 40));
        uint64_t pn = (uint64_t)largest + 1 + vq_rand(&seed) % 100;
        for (size_t i = 0; i < pn_offset + pn_len + payload; i++) pkt[i] = (uint8_t)vq_rand(&seed);
        /* Long or short form, reserved bits clear, pn length encoded. */
        pkt[0] = (uint8_t)((pkt[0] & 0x80) ? (0xc0 | (pkt[0] & 0x30)) : (0x40 | (pkt[0] & 0x24)));
        pkt[0] |= (uint8_t)(pn_len - 1);
        for (size_t i = 0; i < pn_len; i++) pkt[pn_offset + i] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
        memcpy(orig, pkt, pn_offset + pn_len + payload);
        size_t out_len = 0;
        vq_unprotected u;
        if (vq_packet_protect(&k, pkt, sizeof pkt, pn_offset, pn_len, pn, payload, &out_len) != VQ_OK ||
            out_len != pn_offset + pn_len + payload + 16 ||
            vq_packet_unprotect(&k, pkt, out_len, pn_offset, largest, &u) != VQ_OK || u.pn != pn ||
            u.pn_len != pn_len || u.payload_len != payload ||
            memcmp(pkt, orig, pn_offset + pn_len + payload) != 0)
          bad++;
      }
      vq_pp_key_discard(&k);
    }
  CHECK_EQ(bad, 0);
}

/* Regression (fuzz_unprotect): with the largest pn at 2^62-1, a truncated pn that reconstructs past
 * 2^62-1 drops the packet with VQ_ERR_PACKET_NUMBER and leaves it exactly as received.
 * spec: rfc9000#12.3 — packet numbers are limited to 0..2^62-1. */
VQ_TEST(protect_pn_beyond_space_dropped)
{
  vq_pp_key c, s;
  vq_pp_key_init(&c);
  vq_pp_key_init(&s);
  static const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  CHECK_EQ(vq_pp_key_install_initial(&c, &s, VQ_QUIC_V1, dcid, sizeof dcid), VQ_OK);
  const uint64_t top = (UINT64_C(1) << 62) - 1;
  uint8_t pkt[64] = {0x40}; /* short header, 1-byte pn */
  const uint64_t pn = top - 255;  /* low byte 0x00 */
  pkt[1] = 0x00;
  size_t out_len = 0;
  CHECK_EQ(vq_packet_protect(&c, pkt, sizeof pkt, 1, 1, pn, 20, &out_len), VQ_OK);
  uint8_t before[64];
  memcpy(before, pkt, sizeof pkt);
  vq_unprotected u;
  CHECK_EQ(vq_packet_unprotect(&c, pkt, out_len, 1, (int64_t)top, &u), VQ_ERR_PACKET_NUMBER);
  CHECK_MEM(pkt, out_len, before, out_len);
  CHECK_EQ(vq_status_disposition(VQ_ERR_PACKET_NUMBER), VQ_DISP_DROP_PACKET);
  /* Just below the top it still opens. */
  CHECK_EQ(vq_packet_unprotect(&c, pkt, out_len, 1, (int64_t)pn - 1, &u), VQ_OK);
  CHECK_EQ(u.pn, pn);
  vq_pp_key_discard(&c);
  vq_pp_key_discard(&s);
}

/* ---- argument checking, reserved bits, wiping -------------------------------------------------- */

VQ_TEST(protect_rejects_bad_arguments)
{
  uint8_t secret[32] = {1}, pkt[128];
  vq_pp_key k, u;
  vq_pp_key_init(&k);
  vq_pp_key_init(&u);
  size_t out_len = 0;
  size_t off = build_short(pkt, 5, 1, 30, 0x11);
  /* Uninstalled key. */
  CHECK_EQ(vq_packet_protect(&u, pkt, sizeof pkt, off, 1, 5, 30, &out_len), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_aead_seal(&u, 5, pkt, sizeof pkt, off + 1, 30), VQ_ERR_INVALID_ARGUMENT);
  /* Unsupported version and suite, wrong secret length. */
  CHECK_EQ(vq_pp_key_install(&k, 0xbabababau, VQ_CS_AES_128_GCM_SHA256, secret, 32), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pp_key_install(&k, VQ_QUIC_V1, (vq_cipher_suite)0x1304, secret, 32), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pp_key_install(&k, VQ_QUIC_V1, VQ_CS_AES_128_GCM_SHA256, secret, 31), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_pp_key_install(&k, VQ_QUIC_V1, VQ_CS_AES_128_GCM_SHA256, secret, 32), VQ_OK);
  CHECK_EQ(vq_pp_key_install(&k, VQ_QUIC_V1, VQ_CS_AES_128_GCM_SHA256, secret, 32), VQ_ERR_INVALID_ARGUMENT);
  /* Header disagrees with pn_len or pn; pn beyond 2^62-1; no room for the tag; no sample. */
  CHECK_EQ(vq_packet_protect(&k, pkt, sizeof pkt, off, 2, 5, 30, &out_len), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_packet_protect(&k, pkt, sizeof pkt, off, 1, 6, 30, &out_len), VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_packet_protect(&k, pkt, sizeof pkt, off, 1, UINT64_C(1) << 62 | 5, 30, &out_len),
           VQ_ERR_INVALID_ARGUMENT);
  CHECK_EQ(vq_packet_protect(&k, pkt, off + 1 + 30 + 15, off, 1, 5, 30, &out_len), VQ_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ(vq_packet_protect(&k, pkt, sizeof pkt, off, 1, 5, 2, &out_len), VQ_ERR_HP_SAMPLE);
  CHECK_EQ(vq_packet_protect(&k, pkt, sizeof pkt, off, 1, 5, 3, &out_len), VQ_OK);
  CHECK_EQ(out_len, off + 1 + 3 + 16);
  /* spec: rfc9000#17.3.1/3 — reserved bits set in an authenticated packet: PROTOCOL_VIOLATION, with
   * the packet described. */
  off = build_short(pkt, 5, 1, 30, 0x11);
  pkt[0] |= 0x08;
  CHECK_EQ(vq_packet_protect(&k, pkt, sizeof pkt, off, 1, 5, 30, &out_len), VQ_OK);
  vq_unprotected up;
  CHECK_EQ(vq_packet_unprotect(&k, pkt, out_len, off, 4, &up), VQ_ERR_PROTOCOL_VIOLATION);
  CHECK_EQ(up.pn, 5);
  CHECK_EQ(up.payload_len, 30);
  CHECK_EQ(vq_packet_unprotect(&k, pkt, out_len, off, -2, &up), VQ_ERR_INVALID_ARGUMENT);
  /* spec: rfc9001#5.4.2/1 — a received packet too short to hold the whole sample is discarded,
   * untouched; one byte more and header protection is removed (then AEAD fails on the cut packet). */
  {
    uint8_t copy[128];
    memcpy(copy, pkt, out_len);
    size_t short_len = off + VQ_PN_SAMPLE_OFFSET + VQ_HP_SAMPLE_LEN - 1;
    CHECK_EQ(vq_packet_unprotect(&k, copy, short_len, off, 4, &up), VQ_ERR_HP_SAMPLE);
    CHECK_MEM(copy, out_len, pkt, out_len);
    CHECK_EQ(vq_packet_unprotect(&k, copy, short_len + 1, off, 4, &up), VQ_ERR_DECRYPT);
  }
  /* spec: rfc9000#17.2/9 — the same for a long header's reserved bits (0x0c); clear, it is fine. */
  for (int rb = 0; rb < 2; rb++) {
    off = build_short(pkt, 5, 1, 30, 0x11);
    pkt[0] = (uint8_t)(0xc0 | (rb ? 0x04 : 0x00)); /* long header, Initial, pn length 1 */
    CHECK_EQ(vq_packet_protect(&k, pkt, sizeof pkt, off, 1, 5, 30, &out_len), VQ_OK);
    CHECK_EQ(vq_packet_unprotect(&k, pkt, out_len, off, 4, &up), rb ? VQ_ERR_PROTOCOL_VIOLATION : VQ_OK);
    CHECK_EQ(up.pn, 5);
  }
  CHECK_EQ(vq_status_transport_error(VQ_ERR_PROTOCOL_VIOLATION), VQ_TE_PROTOCOL_VIOLATION);
  CHECK_EQ(vq_status_disposition(VQ_ERR_DECRYPT), VQ_DISP_DROP_PACKET);
  CHECK_EQ(vq_status_disposition(VQ_ERR_HP_SAMPLE), VQ_DISP_DROP_PACKET);
  CHECK_EQ(vq_status_disposition(VQ_ERR_RETRY_INTEGRITY), VQ_DISP_DROP_PACKET);
  vq_pp_key_discard(&k);
}

VQ_TEST(protect_discard_wipes)
{
  uint8_t secret[32];
  for (size_t i = 0; i < 32; i++) secret[i] = (uint8_t)(i + 1);
  vq_pp_key k;
  vq_pp_key_init(&k);
  CHECK_EQ(vq_pp_key_install(&k, VQ_QUIC_V1, VQ_CS_CHACHA20_POLY1305_SHA256, secret, 32), VQ_OK);
  CHECK(memcmp(k.secret, secret, 32) == 0);
  vq_pp_key_discard(&k);
  const uint8_t *p = (const uint8_t *)&k;
  size_t nonzero = 0;
  for (size_t i = 0; i < sizeof k; i++) nonzero += p[i] != 0;
  CHECK_EQ(nonzero, 0);
  vq_pp_key_discard(&k); /* twice is harmless */
  vq_key_material m;
  CHECK_EQ(vq_derive_key_material(VQ_QUIC_V2, VQ_CS_AES_128_GCM_SHA256, secret, 32, &m), VQ_OK);
  vq_key_material_wipe(&m);
  p = (const uint8_t *)&m;
  for (size_t i = 0; i < sizeof m; i++) nonzero += p[i] != 0;
  CHECK_EQ(nonzero, 0);
}

/* HKDF-Expand-Label over SHA-256 and SHA-384 (with a context) against OpenSSL's own TLS 1.3 KDF
 * ("TLS13-KDF", a separate implementation of the RFC 8446 §7.1 HkdfLabel): SHA-384 has no QUIC vector. */
static int tls13_kdf(const char *digest, const uint8_t *secret, size_t sl, const char *label,
                     const uint8_t *ctx, size_t cl, uint8_t *out, size_t ol)
{
  char dg[16], pre[] = "tls13 ";
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  snprintf(dg, sizeof dg, "%s", digest);
  OSSL_PARAM p[7] = {
    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, dg, 0),
    OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, sl),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, pre, 6),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label, strlen(label)),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, (void *)ctx, cl),
    OSSL_PARAM_construct_end(),
  };
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
  EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
  int ok = kc && EVP_KDF_derive(kc, out, ol, p) == 1;
  EVP_KDF_CTX_free(kc);
  EVP_KDF_free(kdf);
  return ok;
}

VQ_TEST(protect_hkdf_expand_label_against_tls13_kdf)
{
  static const struct { vq_hash h; const char *name; } hs[] = {{VQ_HASH_SHA256, "SHA256"},
                                                               {VQ_HASH_SHA384, "SHA384"}};
  static const char *const labels[] = {"quic key", "quicv2 hp", "c hs traffic", "derived"};
  uint64_t seed = 0x5eed0004;
  for (size_t i = 0; i < 2; i++)
    for (size_t l = 0; l < 4; l++) {
      uint8_t secret[48], ctx[48], a[100], b[100];
      size_t hl = vq_hash_len(hs[i].h), cl = l * 16 % 49, ol = 1 + vq_rand(&seed) % sizeof a;
      for (size_t k = 0; k < sizeof secret; k++) secret[k] = (uint8_t)vq_rand(&seed);
      for (size_t k = 0; k < sizeof ctx; k++) ctx[k] = (uint8_t)vq_rand(&seed);
      CHECK_EQ(vq_hkdf_expand_label(hs[i].h, secret, hl, labels[l], ctx, cl, a, ol), VQ_OK);
      CHECK(tls13_kdf(hs[i].name, secret, hl, labels[l], ctx, cl, b, ol));
      CHECK_MEM(a, ol, b, ol);
    }
  uint8_t s[32] = {0}, o[32];
  CHECK_EQ(vq_hkdf_expand_label(VQ_HASH_SHA256, s, 32, "quic key", NULL, 0, o, 0), VQ_ERR_INVALID_ARGUMENT);
}
