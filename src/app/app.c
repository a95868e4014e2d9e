/* vquic programs — shared helpers (see app.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "vquic/protect.h"
#include "vquic/tp.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <limits.h>
#include <openssl/rand.h>

uint8_t *app_read_file(const char *path, size_t max, size_t *len, char *err, size_t errcap)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 65536, n = 0;
  uint8_t *b = malloc(cap + 1);
  while (b) {
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (r == 0)
      break;
    if (n == cap) {
      if (cap >= max) {
        snprintf(err, errcap, "%s: larger than %zu bytes", path, max);
        free(b);
        b = NULL;
        break;
      }
      cap *= 2;
      uint8_t *nb = realloc(b, cap + 1);
      if (!nb) {
        free(b);
        b = NULL;
      }
      b = nb;
    }
  }
  if (b && ferror(f)) {
    snprintf(err, errcap, "%s: read error", path);
    free(b);
    b = NULL;
  }
  fclose(f);
  if (!b) {
    if (!*err)
      snprintf(err, errcap, "%s: out of memory", path);
    return NULL;
  }
  b[n] = 0;
  *len = n;
  return b;
}

void app_keylog(void *ud, const char *line)
{
  FILE *f = ud;
  fprintf(f, "%s\n", line);
  fflush(f);
}

#define BATCH 32

size_t app_flush(vq_posix_sock *sock, vq_conn *c, const vq_cx *cx, const vq_addr *peer, int *blocked)
{
  return app_flush_from(sock, NULL, c, cx, peer, blocked);
}

/* Sends batch[0..n) on s: the datagrams sent; *blocked when the socket buffer filled. */
static size_t send_batch(vq_posix_sock *s, vq_posix_tx *tx, size_t n, int *blocked)
{
  size_t sent = 0, total = 0;
  while (total < n) {
    vq_status st = vq_posix_send(s, tx + total, n - total, &sent);
    total += sent;
    /* a datagram larger than the interface allows (a DPLPMTUD probe above it: RFC 9000 §14.3)
     * is skipped, as if the path had dropped it; the connection's loss detection sees that */
    if (st == VQ_ERR_MSG_SIZE && total < n) {
      total++;
      continue;
    }
    if (total < n)
      *blocked = 1;
    break;
  }
  return total;
}

size_t app_flush_from(vq_posix_sock *sock, vq_posix_sock *sock2, vq_conn *c, const vq_cx *cx,
                      const vq_addr *peer, int *blocked)
{
  uint8_t bufs[BATCH][1500];
  vq_posix_tx tx[BATCH], tx2[BATCH];
  vq_addr tos[BATCH];
  size_t total = 0;
  *blocked = 0;
  for (;;) {
    size_t n = 0, n1 = 0, n2 = 0;
    while (n < BATCH) {
      size_t len = 0, to_len = 0, from_len = 0;
      uint8_t ecn = VQ_ECN_NOT_ECT;
      uint8_t to[VQ_ADDR_MAX], from[VQ_ADDR_MAX];
      /* a probe (the client's, of the server's preferred address: RFC 9000 §9.6.1) or the answer to
       * one goes to the address the connection gives, everything else to peer; from sock2 (the
       * server's preferred address) when the connection says so (RFC 9000 §9.6.2) */
      if (vq_conn_send_path_from(c, cx, bufs[n], sizeof(bufs[n]), &len, &ecn, from, &from_len, to,
                                 &to_len) != VQ_OK ||
          len == 0)
        break;
      vq_posix_tx *t = sock2 && from_len == sizeof(vq_addr) ? &tx2[n2++] : &tx[n1++];
      t->peer = peer;
      if (to_len == sizeof(vq_addr)) {
        memcpy(&tos[n], to, sizeof(vq_addr));
        t->peer = &tos[n];
      }
      t->data = bufs[n];
      t->len = len;
      t->local = NULL;
      /* spec: rfc9000#13.4 — the codepoint the connection chose for this datagram */
      t->ecn = ecn;
      n++;
    }
    if (n == 0)
      return total;
    /* the socket buffer is full: the rest is lost to the network as a congested router would drop
     * it; loss recovery resends what mattered */
    total += send_batch(sock, tx, n1, blocked);
    if (sock2)
      total += send_batch(sock2, tx2, n2, blocked);
    if (*blocked || n < BATCH)
      return total;
  }
}

void app_trace(void *ud, vq_time now, const char *event, const char *detail)
{
  (void)ud;
  fprintf(stderr, "%llu.%06llu %s %s\n", (unsigned long long)(now / 1000000000u),
          (unsigned long long)(now % 1000000000u / 1000u), event, detail);
}

int app_parse_versions(const char *list, uint32_t *out, size_t cap)
{
  size_t n = 0;
  const char *p = list;
  memset(out, 0, cap * sizeof(*out));
  while (*p) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    uint32_t v = 0;
    if (len == 2 && strncmp(p, "v1", 2) == 0)
      v = VQ_QUIC_V1;
    else if (len == 2 && strncmp(p, "v2", 2) == 0)
      v = VQ_QUIC_V2;
    else if (len > 2 && len <= 10 && strncmp(p, "0x", 2) == 0) {
      char b[11];
      memcpy(b, p, len);
      b[len] = 0;
      char *end = NULL;
      v = (uint32_t)strtoul(b, &end, 16);
      if (!end || *end)
        v = 0;
    }
    if (!vq_version_supported(v) || n >= cap)
      return -1;
    for (size_t i = 0; i < n; i++)
      if (out[i] == v)
        return -1;
    out[n++] = v;
    p += len + (c ? 1 : 0);
  }
  return n ? 0 : -1;
}

/* "h3,hq-interop" into ALPN wire form (each name prefixed by its length, RFC 7301 §3.1). */
int app_build_alpn(const char *list, uint8_t *out, size_t cap, size_t *len)
{
  size_t o = 0;
  const char *p = list;
  while (*p) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    if (n == 0 || n > 255 || o + 1 + n > cap)
      return -1;
    out[o++] = (uint8_t)n;
    memcpy(out + o, p, n);
    o += n;
    p += n + (c ? 1 : 0);
  }
  *len = o;
  return o ? 0 : -1;
}

uint64_t app_wall_clock_base_ms(void)
{
  struct timespec ts;
  (void)clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t wall = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
  uint64_t mono = vq_posix_now() / 1000000u;
  return wall > mono ? wall - mono : 1;
}

int app_write_file_private(const char *path, const uint8_t *data, size_t len, char *err, size_t errcap)
{
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
    snprintf(err, errcap, "%s: path too long", path);
    return -1;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
    return -1;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
      close(fd);
      unlink(tmp);
      return -1;
    }
    off += (size_t)n;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    snprintf(err, errcap, "%s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

int app_crypto_fill(void *ud, uint8_t *out, size_t len)
{
  (void)ud;
  return len <= INT_MAX && RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

int app_pa_map(void *ud, const vq_tp_preferred_address *pa, uint8_t *addr, size_t *len)
{
  const vq_addr *peer = ud;
  vq_addr a;
  memset(&a, 0, sizeof(a));
  static const uint8_t zero[16] = {0};
  if (*len < sizeof(a))
    return 0;
  /* spec: rfc9000#18.2/4 — an all-zero address and port: none of that family */
  if (vq_addr_family(peer) == AF_INET) {
    if (pa->ipv4_port == 0 || memcmp(pa->ipv4, zero, 4) == 0)
      return 0;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(pa->ipv4_port);
    memcpy(&sin.sin_addr, pa->ipv4, 4);
    memcpy(&a.ss, &sin, sizeof(sin));
    a.len = sizeof(sin);
  } else if (vq_addr_family(peer) == AF_INET6) {
    if (pa->ipv6_port == 0 || memcmp(pa->ipv6, zero, 16) == 0)
      return 0;
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(pa->ipv6_port);
    memcpy(&sin6.sin6_addr, pa->ipv6, 16);
    memcpy(&a.ss, &sin6, sizeof(sin6));
    a.len = sizeof(sin6);
  } else {
    return 0;
  }
  memcpy(addr, &a, sizeof(a));
  *len = sizeof(a);
  return 1;
}

void app_addr_canon(vq_addr *out, const vq_addr *in)
{
  memset(out, 0, sizeof(*out));
  if (in->len <= sizeof(out->ss)) {
    memcpy(&out->ss, &in->ss, in->len);
    out->len = in->len;
  }
}

int app_pa_fill(vq_tp_preferred_address *pa, const vq_addr *a)
{
  memset(pa, 0, sizeof(*pa));
  if (vq_addr_family(a) == AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, &a->ss, sizeof(sin));
    memcpy(pa->ipv4, &sin.sin_addr, 4);
    pa->ipv4_port = ntohs(sin.sin_port);
    return 0;
  }
  if (vq_addr_family(a) == AF_INET6) {
    struct sockaddr_in6 sin6;
    memcpy(&sin6, &a->ss, sizeof(sin6));
    memcpy(pa->ipv6, &sin6.sin6_addr, 16);
    pa->ipv6_port = ntohs(sin6.sin6_port);
    return 0;
  }
  return -1;
}
