/* The interop capture corpus (corpus/interop/): captures of vquic against ngtcp2 made by
 * harness/interop/run.sh --keep (converted to classic pcap), each with the NSS key log of its one
 * connection. Every datagram is split into its packets with vquic's header parser, unprotected with
 * vquic's packet protection (Initial keys from the client's first DCID, Handshake and 1-RTT keys from
 * the key log), and every frame of every packet is parsed with vquic's frame parser and encoded again:
 * the encoding must equal the bytes on the wire, or (for a peer that wrote a longer varint than
 * needed, which RFC 9000 §16 allows) be shorter and parse back to a frame that encodes to the same
 * bytes. So real peers' packets (ngtcp2's and vquic's own) go through the same codecs as the fuzzers'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vqtest.h"
#include "vquic/frame.h"
#include "vquic/packet.h"
#include "vquic/protect.h"

typedef struct corpus_keys {
  uint8_t secret[4][VQ_SECRET_MAX]; /* client hs, server hs, client 1-RTT, server 1-RTT */
  size_t len[4];
} corpus_keys;

static int read_keys(const char *path, corpus_keys *k)
{
  static const char *const labels[4] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
                                        "SERVER_HANDSHAKE_TRAFFIC_SECRET ", "CLIENT_TRAFFIC_SECRET_0 ",
                                        "SERVER_TRAFFIC_SECRET_0 "};
  char *text = vq_read_file(path, NULL);
  if (!text) return -1;
  memset(k, 0, sizeof *k);
  for (char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    for (int i = 0; i < 4; i++) {
      size_t n = strlen(labels[i]);
      if (strncmp(l, labels[i], n) != 0) continue;
      const char *sp = strchr(l + n, ' '); /* after the client random */
      if (!sp) continue;
      char hex[2 * VQ_SECRET_MAX + 1];
      size_t hl = strcspn(sp + 1, "\r\n");
      if (hl >= sizeof hex) continue;
      memcpy(hex, sp + 1, hl);
      hex[hl] = 0;
      long r = vq_hex(hex, k->secret[i], sizeof k->secret[i]);
      if (r > 0) k->len[i] = (size_t)r;
    }
  }
  free(text);
  for (int i = 0; i < 4; i++)
    if (!k->len[i]) return -1;
  return 0;
}

typedef struct corpus_stats {
  size_t datagrams, packets[3], frames, exact;
} corpus_stats;

/* One side's receive state: keys and the largest pn per space. */
typedef struct corpus_dir {
  vq_pp_key key[3]; /* Initial, Handshake, 1-RTT */
  int installed[3];
  int64_t largest[3];
} corpus_dir;

/* Parses and re-encodes every frame of a decrypted payload. */
static void check_frames(vq_t *t, const char *name, const uint8_t *p, size_t len, corpus_stats *st)
{
  size_t off = 0;
  while (off < len) {
    vq_frame f;
    size_t used = 0;
    vq_status s = vq_frame_parse(p + off, len - off, &f, &used);
    if (s != VQ_OK) {
      vq_fail(t, __FILE__, __LINE__, "%s: frame at payload offset %zu does not parse: %d", name, off, (int)s);
      return;
    }
    /* an ACK is encoded from its ranges (vq_frame_ack): take them from the parsed frame */
    vq_ack_range ranges[256];
    if (f.type == VQ_FRAME_ACK || f.type == VQ_FRAME_ACK_ECN) {
      vq_ack_iter it;
      size_t n = 0;
      vq_ack_iter_init(&it, &f.ack);
      while (n < 256 && vq_ack_iter_next(&it, &ranges[n])) n++;
      CHECK_EQ(n, f.ack.range_count + 1);
      f.ack.ranges_in = ranges;
      f.ack.range_count_in = n;
    }
    uint8_t enc[2048];
    size_t elen = 0;
    CHECK_EQ(vq_frame_encode(enc, sizeof enc, &f, &elen), VQ_OK);
    st->frames++;
    /* both peers write every field in its shortest form: vquic's encoding is the wire's, byte for byte */
    if (elen != used || memcmp(enc, p + off, used) != 0)
      vq_fail(t, __FILE__, __LINE__, "%s: frame type 0x%llx at payload offset %zu: re-encoded in %zu bytes, "
              "differs from the %zu on the wire", name, (unsigned long long)f.type, off, elen, used);
    else
      st->exact++;
    off += used;
  }
}

static const vq_cipher_suite suites[3] = {VQ_CS_AES_128_GCM_SHA256, VQ_CS_CHACHA20_POLY1305_SHA256,
                                          VQ_CS_AES_256_GCM_SHA384};

/* Unprotects pkt[0..len) at space sp of direction d, installing the key from secret on first use
 * (trying each suite of the secret's length until one authenticates). */
static vq_status open_packet(corpus_dir *d, int sp, const uint8_t *secret, size_t secret_len,
                             uint8_t *pkt, size_t len, size_t pn_off, vq_unprotected *u)
{
  if (d->installed[sp]) return vq_packet_unprotect(&d->key[sp], pkt, len, pn_off, d->largest[sp], u);
  uint8_t save[1500];
  if (len > sizeof save) return VQ_ERR_INVALID_ARGUMENT;
  memcpy(save, pkt, len);
  for (int i = 0; i < 3; i++) {
    vq_hash h;
    if (vq_suite_hash(suites[i], &h) != VQ_OK || vq_hash_len(h) != secret_len) continue;
    vq_pp_key_init(&d->key[sp]);
    if (vq_pp_key_install(&d->key[sp], VQ_VERSION_1, suites[i], secret, secret_len) != VQ_OK) continue;
    vq_status s = vq_packet_unprotect(&d->key[sp], pkt, len, pn_off, d->largest[sp], u);
    if (s == VQ_OK) {
      d->installed[sp] = 1;
      return VQ_OK;
    }
    vq_pp_key_discard(&d->key[sp]);
    memcpy(pkt, save, len);
  }
  return VQ_ERR_DECRYPT;
}

static void check_capture(vq_t *t, const char *name)
{
  char path[256];
  corpus_keys keys;
  snprintf(path, sizeof path, "corpus/interop/%s.keys", name);
  if (read_keys(path, &keys) != 0) {
    vq_fail(t, __FILE__, __LINE__, "%s: no complete key log", path);
    return;
  }
  snprintf(path, sizeof path, "corpus/interop/%s.pcap", name);
  size_t flen = 0;
  uint8_t *file = (uint8_t *)vq_read_file(path, &flen);
  CHECK(file != NULL);
  if (!file) return;
  /* classic pcap, little-endian microsecond magic (editcap -F pcap on this machine) */
  CHECK(flen >= 24 && file[0] == 0xd4 && file[1] == 0xc3 && file[2] == 0xb2 && file[3] == 0xa1);
  uint32_t linktype = (uint32_t)file[20] | (uint32_t)file[21] << 8;
  size_t l2 = linktype == 1 ? 14 : linktype == 113 ? 16 : linktype == 276 ? 20 : 0;
  CHECK(l2 != 0);
  corpus_stats st = {0};
  corpus_dir dir[2]; /* 0: client -> server, 1: server -> client */
  memset(dir, 0, sizeof dir);
  for (int i = 0; i < 2; i++)
    for (int s = 0; s < 3; s++) dir[i].largest[s] = -1;
  uint16_t server_port = 0;
  size_t cid_len[2] = {0, 0}; /* short-header DCID length received by: [0] the server, [1] the client */
  int have_initial = 0;
  size_t off = 24;
  while (off + 16 <= flen && l2) {
    size_t caplen = (size_t)file[off + 8] | (size_t)file[off + 9] << 8 | (size_t)file[off + 10] << 16 |
                    (size_t)file[off + 11] << 24;
    const uint8_t *rec = file + off + 16;
    off += 16 + caplen;
    if (off > flen || caplen < l2 + 28) break;
    const uint8_t *ip = rec + l2;
    CHECK_EQ(ip[0] >> 4, 4);
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    const uint8_t *udp = ip + ihl;
    uint16_t sport = (uint16_t)(udp[0] << 8 | udp[1]), dport = (uint16_t)(udp[2] << 8 | udp[3]);
    size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
    CHECK(ulen >= 8 && (size_t)(udp - rec) + ulen <= caplen);
    uint8_t dg[1500];
    size_t dlen = ulen - 8;
    if (dlen > sizeof dg) { vq_fail(t, __FILE__, __LINE__, "%s: datagram of %zu bytes", name, dlen); break; }
    memcpy(dg, udp + 8, dlen);
    if (!server_port) server_port = dport; /* the first datagram is the client's Initial */
    int d = sport == server_port; /* 1: from the server */
    CHECK(d || dport == server_port);
    st.datagrams++;
    size_t p = 0;
    while (p < dlen) {
      vq_pkt_header h;
      vq_status s = vq_packet_parse(dg + p, dlen - p, cid_len[d], &h);
      if (s != VQ_OK) {
        vq_fail(t, __FILE__, __LINE__, "%s: datagram %zu, packet at %zu: header does not parse (%d)", name,
                st.datagrams, p, (int)s);
        break;
      }
      int sp = h.type == VQ_PKT_INITIAL ? 0 : h.type == VQ_PKT_HANDSHAKE ? 1 : h.type == VQ_PKT_1RTT ? 2 : -1;
      if (sp < 0) {
        vq_fail(t, __FILE__, __LINE__, "%s: unexpected packet type %d", name, (int)h.type);
        break;
      }
      if (h.type != VQ_PKT_1RTT) {
        /* the DCID length each side's short headers carry: the SCID its peer chose */
        cid_len[!d] = h.scid_len;
        if (!have_initial && h.type == VQ_PKT_INITIAL && !d) {
          CHECK_EQ(vq_pp_key_install_initial(&dir[0].key[0], &dir[1].key[0], h.version, dg + p + h.dcid_off,
                                             h.dcid_len),
                   VQ_OK);
          dir[0].installed[0] = dir[1].installed[0] = 1;
          have_initial = 1;
        }
      }
      const uint8_t *secret = sp == 0 ? NULL : keys.secret[(sp - 1) * 2 + d];
      size_t secret_len = sp == 0 ? 0 : keys.len[(sp - 1) * 2 + d];
      vq_unprotected u;
      s = open_packet(&dir[d], sp, secret, secret_len, dg + p, h.packet_len, h.pn_off, &u);
      if (s != VQ_OK) {
        vq_fail(t, __FILE__, __LINE__, "%s: datagram %zu: %s packet %s does not decrypt (%d)", name,
                st.datagrams, sp == 0 ? "Initial" : sp == 1 ? "Handshake" : "1-RTT",
                d ? "from the server" : "from the client", (int)s);
        break;
      }
      if ((int64_t)u.pn > dir[d].largest[sp]) dir[d].largest[sp] = (int64_t)u.pn;
      st.packets[sp]++;
      check_frames(t, name, dg + p + u.payload_offset, u.payload_len, &st);
      p += h.packet_len;
    }
  }
  for (int i = 0; i < 2; i++)
    for (int s = 0; s < 3; s++)
      if (dir[i].installed[s]) vq_pp_key_discard(&dir[i].key[s]);
  free(file);
  /* every space was seen both ways: the whole connection, not a prefix of it */
  CHECK(st.datagrams > 4);
  CHECK(st.packets[0] >= 2 && st.packets[1] >= 2 && st.packets[2] >= 2);
  CHECK(st.frames > st.datagrams);
  CHECK_EQ(st.exact, st.frames);
  printf("    %s: %zu datagrams, packets Initial %zu Handshake %zu 1-RTT %zu, %zu frames re-encoded byte "
         "for byte\n", name, st.datagrams, st.packets[0], st.packets[1], st.packets[2], st.exact);
}

/* The small cases negotiated AES-128-GCM, the chacha20 ones ChaCha20-Poly1305 (with its ChaCha20
 * header protection); ngtcp2 is the server of the vqc-* captures and the client of the gtc-* ones. */
VQ_TEST(interop_corpus_decrypts_and_reencodes)
{
  static const char *const caps[] = {"vqc-gtls-small", "gtc-vqs-small", "vqc-gtls-chacha20", "gtc-vqs-chacha20"};
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) check_capture(t, caps[i]);
}
