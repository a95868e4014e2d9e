/* ct_check — constant-time check of vquic's packet protection path (RFC 9001 §9.5), the ctgrind
 * technique: run under valgrind's memcheck (`make ct-check`), the secret inputs are marked undefined
 * with VALGRIND_MAKE_MEM_UNDEFINED; memcheck then reports every conditional jump and every memory
 * address computed from them ("Conditional jump or move depends on uninitialised value(s)", "Use of
 * uninitialised value of size 8"), and `make ct-check` fails on any report. No timing is measured.
 *
 * spec: rfc9001#9.5/1 — receiving: the protected first byte and the 4 bytes a packet number may take
 * are secret (what they unmask to is what header protection hides); header protection removal,
 * packet number recovery (vq_packet_unprotect_header) and the choice of the key phase keys
 * (vq_key_phase_select) run on them, for every pn length, both key phases and several largest
 * packet numbers, then the AEAD open (vq_packet_unprotect_payload), where vquic declassifies the
 * nonce, AAD and its length (VQ_CT_PUBLIC, src/tls/ct.h) before OpenSSL's AEAD, relied on to be
 * constant-time. A replayed (duplicate) packet takes the same path.
 * spec: rfc9001#9.5/2 — sending: the packet number being sent is secret; its encoded size
 * (vq_pn_encode_len_ct), its bytes (vq_pn_write_ct), the header checks of vq_packet_protect and
 * header protection (vq_hp_apply) run on it.
 *
 * `ct_check --canary` instead branches on a secret byte on purpose: `make ct-check` requires memcheck to
 * report it, so the check cannot pass by seeing nothing. Results are also checked for correctness
 * (after marking them defined): a wrong constant-time rewrite fails here too. */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "vquic/pn.h"
#include "vquic/protect.h"

#define SECRET(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))

static int failures;

#define EXPECT(c)                                                                                   \
  do {                                                                                              \
    if (!(c)) {                                                                                     \
      fprintf(stderr, "ct_check: %s:%d: %s\n", __FILE__, __LINE__, #c);                             \
      failures++;                                                                                   \
    }                                                                                               \
  } while (0)

enum { DCID_LEN = 8, PN_OFF = 1 + DCID_LEN, PAYLOAD = 40, CAP = 256 };

/* A short-header packet with pn (pn_len bytes) and key phase kp, protected with k; *len its length. */
static void build(vq_pp_key *k, uint8_t *pkt, uint64_t pn, size_t pn_len, unsigned kp, size_t *len)
{
  memset(pkt, 0, CAP);
  pkt[0] = (uint8_t)(0x40u | (kp << 2) | (unsigned)(pn_len - 1u));
  for (size_t i = 0; i < DCID_LEN; i++) pkt[1 + i] = (uint8_t)(0xc0u + i);
  vq_pn_write_ct(pkt + PN_OFF, pn, pn_len);
  for (size_t i = 0; i < PAYLOAD; i++) pkt[PN_OFF + pn_len + i] = (uint8_t)(i == 0 ? 0x01 : 0x00);
  EXPECT(vq_packet_protect(k, pkt, CAP, PN_OFF, pn_len, pn, PAYLOAD, len) == VQ_OK);
}

/* Receiving (rfc9001#9.5/1): one packet through HP removal, pn recovery, key choice and AEAD. */
static void recv_one(vq_pp_key *k, uint64_t pn, size_t pn_len, unsigned kp, int64_t largest)
{
  uint8_t pkt[CAP], mask[VQ_HP_MASK_LEN];
  size_t len = 0;
  build(k, pkt, pn, pn_len, kp, &len);
  /* what header protection hides */
  SECRET(pkt, 1);
  SECRET(pkt + PN_OFF, 4);
  vq_unprotected u;
  memset(&u, 0, sizeof u);
  vq_status st = vq_packet_unprotect_header(k, pkt, len, PN_OFF, largest, &u, mask);
  PUBLIC(&st, sizeof st);
  EXPECT(st == VQ_OK);
  if (st != VQ_OK) return;
  /* the mask is secret as well (it is what the attacker lacks) */
  SECRET(mask, sizeof mask);
  /* the key phase choice of src/transport/conn.c, on the secret bit and pn */
  const uint64_t cur_min = pn + (pn & 1u); /* odd pns: as if below the current phase's first */
  unsigned sel = vq_key_phase_select(pkt[0], 0u, 1, cur_min, u.pn);
  PUBLIC(&sel, sizeof sel);
  EXPECT(sel == (kp ? (pn < cur_min ? 2u : 1u) : 0u));
  /* the AEAD (declassification inside, before OpenSSL); the same key takes either phase here */
  st = vq_packet_unprotect_payload(k, pkt, len, PN_OFF, &u, mask);
  EXPECT(st == VQ_OK);
  EXPECT(u.pn == pn && u.pn_len == pn_len && u.payload_len == PAYLOAD);
  /* a packet whose AEAD fails: header protection is restored under the (secret) length mask */
  build(k, pkt, pn, pn_len, kp, &len);
  pkt[len - 1] ^= 1u;
  uint8_t orig[CAP];
  memcpy(orig, pkt, len);
  SECRET(pkt, 1);
  SECRET(pkt + PN_OFF, 4);
  st = vq_packet_unprotect_header(k, pkt, len, PN_OFF, largest, &u, mask);
  PUBLIC(&st, sizeof st);
  if (st == VQ_OK) st = vq_packet_unprotect_payload(k, pkt, len, PN_OFF, &u, mask);
  PUBLIC(&st, sizeof st);
  PUBLIC(pkt, len);
  EXPECT(st == VQ_ERR_DECRYPT);
  EXPECT(memcmp(pkt, orig, len) == 0);
}

/* Sending (rfc9001#9.5/2): the packet number secret from its encoding to header protection. */
static void send_one(vq_pp_key *k, uint64_t pn, uint64_t largest_acked)
{
  uint64_t spn = pn;
  SECRET(&spn, sizeof spn);
  size_t pn_len = vq_pn_encode_len_ct(spn, largest_acked);
  size_t want = vq_pn_encode_len(pn, largest_acked);
  size_t got = pn_len;
  PUBLIC(&got, sizeof got);
  EXPECT(got == want);
  if (want == 0) return;
  uint8_t pkt[CAP];
  memset(pkt, 0, sizeof pkt);
  /* the first byte carries the (secret) length */
  pkt[0] = (uint8_t)(0x40u | (uint8_t)(pn_len - 1u));
  for (size_t i = 0; i < DCID_LEN; i++) pkt[1 + i] = (uint8_t)(0xc0u + i);
  vq_pn_write_ct(pkt + PN_OFF, spn, pn_len);
  size_t out = 0;
  vq_status st = vq_packet_protect(k, pkt, CAP, PN_OFF, pn_len, spn, PAYLOAD, &out);
  PUBLIC(&st, sizeof st);
  EXPECT(st == VQ_OK);
  /* and header protection alone, on an unprotected header whose length and pn bytes are secret */
  memset(pkt, 0, sizeof pkt);
  pkt[0] = (uint8_t)(0x40u | (uint8_t)(pn_len - 1u));
  vq_pn_write_ct(pkt + PN_OFF, spn, pn_len);
  for (size_t i = 4; i < PAYLOAD; i++) pkt[PN_OFF + i] = (uint8_t)(0x30u + i);
  st = vq_hp_apply(k, pkt, PN_OFF + PAYLOAD, PN_OFF, pn_len);
  PUBLIC(&st, sizeof st);
  EXPECT(st == VQ_OK);
  /* removed again (public now): the length and packet number come back */
  PUBLIC(pkt, sizeof pkt);
  size_t pl = 0;
  uint64_t tpn = 0;
  EXPECT(vq_hp_remove(k, pkt, PN_OFF + PAYLOAD, PN_OFF, &pl, &tpn) == VQ_OK);
  EXPECT(pl == want && tpn == pn % (UINT64_C(1) << (8 * want)));
}

/* At the end of the packet number space the reconstruction may pass 2^62-1 (rfc9000#12.3): dropped,
 * the packet left as received. */
static void recv_beyond(vq_pp_key *k)
{
  uint8_t pkt[CAP], orig[CAP], mask[VQ_HP_MASK_LEN];
  size_t len = 0;
  build(k, pkt, VQ_PN_MAX - 239u, 1, 0, &len); /* truncated 0x10: decodes to 2^62 + 16 */
  memcpy(orig, pkt, len);
  SECRET(pkt, 1);
  SECRET(pkt + PN_OFF, 4);
  vq_unprotected u;
  vq_status st = vq_packet_unprotect_header(k, pkt, len, PN_OFF, (int64_t)VQ_PN_MAX, &u, mask);
  PUBLIC(&st, sizeof st);
  PUBLIC(pkt, len);
  EXPECT(st == VQ_ERR_PACKET_NUMBER);
  EXPECT(memcmp(pkt, orig, len) == 0);
}

/* Packet number recovery alone over secret truncated values and lengths (rfc9000#A.3). */
static void decode_many(void)
{
  static const uint64_t largest[] = {VQ_PN_NONE, 0, 1, 127, 128, 255, 256, 65535, 0xa82f30ea,
                                     0xabe8b3, (UINT64_C(1) << 40) + 17, VQ_PN_MAX - 1};
  static const uint64_t truncs[] = {0, 1, 0x7f, 0x80, 0xff, 0x9b32, 0xffff, 0xabcdef, 0xfffffffe};
  for (size_t a = 0; a < sizeof largest / sizeof largest[0]; a++)
    for (size_t n = 1; n <= 4; n++)
      for (size_t b = 0; b < sizeof truncs / sizeof truncs[0]; b++) {
        uint64_t tr = truncs[b] % (UINT64_C(1) << (8 * n));
        uint64_t want = 0;
        vq_status st = vq_pn_decode(largest[a], tr, n, &want);
        uint64_t str = tr;
        size_t sn = n;
        SECRET(&str, sizeof str);
        SECRET(&sn, sizeof sn);
        uint64_t got = vq_pn_decode_ct(largest[a], str, sn);
        PUBLIC(&got, sizeof got);
        if (st == VQ_OK) EXPECT(got == want);
      }
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "--canary") == 0) {
    /* a branch on a secret byte: memcheck must report it */
    volatile uint8_t b = 0x42;
    uint8_t s = b;
    SECRET(&s, 1);
    if (s & 1u)
      puts("ct_check canary: odd");
    else
      puts("ct_check canary: even");
    return 0;
  }
  static const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  vq_pp_key client, server;
  vq_pp_key_init(&client);
  vq_pp_key_init(&server);
  EXPECT(vq_pp_key_install_initial(&client, &server, VQ_QUIC_V1, dcid, sizeof dcid) == VQ_OK);
  /* a ChaCha20-Poly1305 key too: its header protection is ChaCha20, not AES-ECB */
  static const uint8_t secret[32] = {0x9a, 0xc3, 0x12, 0xa7, 0xf8, 0x77, 0x46, 0x8e, 0xbe, 0x69, 0x42,
                                     0x27, 0x48, 0xad, 0x00, 0xa1, 0x54, 0x43, 0xf1, 0x82, 0x03, 0xa0,
                                     0x7d, 0x60, 0x60, 0xf6, 0x88, 0xf3, 0x0f, 0x21, 0x63, 0x2b};
  vq_pp_key chacha;
  vq_pp_key_init(&chacha);
  EXPECT(vq_pp_key_install(&chacha, VQ_QUIC_V1, VQ_CS_CHACHA20_POLY1305_SHA256, secret, sizeof secret) == VQ_OK);
  vq_pp_key *keys[] = {&client, &chacha};
  static const uint64_t pns[] = {0, 1, 200, 0x1234, 0x654360, 0xa82f9b32, (UINT64_C(1) << 40) + 5};
  for (size_t ki = 0; ki < 2; ki++)
    for (size_t i = 0; i < sizeof pns / sizeof pns[0]; i++) {
      const uint64_t pn = pns[i];
      for (size_t n = 1; n <= 4; n++) {
        int64_t largest = pn == 0 ? -1 : (int64_t)pn - 1; /* the next packet: decodes for any n */
        for (unsigned kp = 0; kp < 2; kp++) recv_one(keys[ki], pn, n, kp, largest);
        /* a replayed packet (its pn at or below the largest): the same path, AEAD included */
        recv_one(keys[ki], pn, n, 0, (int64_t)pn);
      }
      send_one(keys[ki], pn, pn == 0 ? VQ_PN_NONE : pn - 1);
      send_one(keys[ki], pn, pn > 100 ? pn - 100 : VQ_PN_NONE);
      send_one(keys[ki], pn, VQ_PN_NONE);
    }
  /* the end of the packet number space: the last pn, and beyond it (the declassified check) */
  recv_one(&client, VQ_PN_MAX, 1, 0, (int64_t)(VQ_PN_MAX - 1));
  recv_beyond(&client);
  decode_many();
  vq_pp_key_discard(&client);
  vq_pp_key_discard(&server);
  vq_pp_key_discard(&chacha);
  printf("ct_check: %s (%d failed expectations)\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
