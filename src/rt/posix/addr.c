/* vquic — POSIX driver: socket addresses (parse, format, compare, hash) and the monotonic clock. */
#define _GNU_SOURCE
#include "vquic/posix.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

vq_time vq_posix_now(void)
{
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (vq_time)ts.tv_sec * 1000000000u + (vq_time)ts.tv_nsec;
}

vq_status vq_addr_from_sockaddr(vq_addr *out, const struct sockaddr *sa, socklen_t len)
{
  memset(out, 0, sizeof *out);
  if (!sa) return VQ_ERR_ADDR_SYNTAX;
  if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    memcpy(&out->ss, sa, sizeof(struct sockaddr_in));
    out->len = sizeof(struct sockaddr_in);
    return VQ_OK;
  }
  if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    memcpy(&out->ss, sa, sizeof(struct sockaddr_in6));
    out->len = sizeof(struct sockaddr_in6);
    return VQ_OK;
  }
  return VQ_ERR_ADDR_SYNTAX;
}

/* "65535" -> 65535; anything but 1..5 decimal digits up to 65535 is refused. */
static int parse_port(const char *p, char *canon, size_t cap)
{
  size_t n = strlen(p);
  if (n == 0 || n > 5) return -1;
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10u + (unsigned)(p[i] - '0');
  }
  if (v > 65535u) return -1;
  (void)snprintf(canon, cap, "%u", v);
  return 0;
}

vq_status vq_addr_parse_family(vq_addr *out, const char *text, int family)
{
  char host[256];
  char port[8];
  const char *colon;
  int bracketed = 0;
  memset(out, 0, sizeof *out);
  if (!text || (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
    return VQ_ERR_ADDR_SYNTAX;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':') return VQ_ERR_ADDR_SYNTAX;
    size_t hl = (size_t)(close - text - 1);
    if (hl == 0 || hl >= sizeof host) return VQ_ERR_ADDR_SYNTAX;
    memcpy(host, text + 1, hl);
    host[hl] = 0;
    colon = close + 1;
    bracketed = 1;
  } else {
    colon = strrchr(text, ':');
    if (!colon) return VQ_ERR_ADDR_SYNTAX;
    size_t hl = (size_t)(colon - text);
    if (hl == 0 || hl >= sizeof host) return VQ_ERR_ADDR_SYNTAX;
    memcpy(host, text, hl);
    host[hl] = 0;
    /* "::1:4433": which colon ends the address? Refused; IPv6 literals take brackets. */
    if (strchr(host, ':') || strchr(host, '[') || strchr(host, ']')) return VQ_ERR_ADDR_SYNTAX;
  }
  if (parse_port(colon + 1, port, sizeof port) != 0) return VQ_ERR_ADDR_SYNTAX;
  for (const char *c = host; *c; c++)
    if (*c == ' ' || *c == '\t' || *c == '/' || *c == '\n') return VQ_ERR_ADDR_SYNTAX;

  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = bracketed ? AF_INET6 : family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  hints.ai_flags = AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : 0);
  if (bracketed && family == AF_INET) return VQ_ERR_ADDR_SYNTAX;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0 || !res) {
    if (res) freeaddrinfo(res);
    /* A bracketed host that is no IPv6 literal is a syntax error, not a failed lookup. */
    return bracketed ? VQ_ERR_ADDR_SYNTAX : VQ_ERR_ADDR_RESOLVE;
  }
  vq_status st = vq_addr_from_sockaddr(out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return st == VQ_OK ? VQ_OK : VQ_ERR_ADDR_RESOLVE;
}

vq_status vq_addr_parse(vq_addr *out, const char *text)
{
  return vq_addr_parse_family(out, text, AF_UNSPEC);
}

int vq_addr_family(const vq_addr *a)
{
  if (!a || a->len == 0) return AF_UNSPEC;
  return a->ss.ss_family;
}

uint16_t vq_addr_port(const vq_addr *a)
{
  switch (vq_addr_family(a)) {
  case AF_INET: {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&a->ss;
    return ntohs(s4->sin_port);
  }
  case AF_INET6: {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&a->ss;
    return ntohs(s6->sin6_port);
  }
  default:
    return 0;
  }
}

vq_status vq_addr_format(const vq_addr *a, char *out, size_t cap)
{
  char ip[INET6_ADDRSTRLEN];
  char buf[VQ_ADDR_STRLEN];
  int n;
  if (cap > 0) out[0] = 0;
  switch (vq_addr_family(a)) {
  case AF_INET: {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&a->ss;
    if (!inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip)) return VQ_ERR_ADDR_SYNTAX;
    n = snprintf(buf, sizeof buf, "%s:%u", ip, (unsigned)ntohs(s4->sin_port));
    break;
  }
  case AF_INET6: {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&a->ss;
    if (!inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip)) return VQ_ERR_ADDR_SYNTAX;
    if (s6->sin6_scope_id)
      n = snprintf(buf, sizeof buf, "[%s%%%u]:%u", ip, (unsigned)s6->sin6_scope_id,
                   (unsigned)ntohs(s6->sin6_port));
    else
      n = snprintf(buf, sizeof buf, "[%s]:%u", ip, (unsigned)ntohs(s6->sin6_port));
    break;
  }
  default:
    return VQ_ERR_ADDR_SYNTAX;
  }
  if (n < 0 || (size_t)n >= sizeof buf) return VQ_ERR_ADDR_SYNTAX;
  if ((size_t)n + 1 > cap) return VQ_ERR_BUFFER_TOO_SMALL;
  memcpy(out, buf, (size_t)n + 1);
  return VQ_OK;
}

/* The bytes that identify an address: family, port, address, scope. Returns their count. */
static size_t addr_key(const vq_addr *a, uint8_t key[32])
{
  size_t k = 0;
  int fam = vq_addr_family(a);
  key[k++] = (uint8_t)fam;
  if (fam == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)&a->ss;
    memcpy(key + k, &s4->sin_port, 2);
    k += 2;
    memcpy(key + k, &s4->sin_addr, 4);
    k += 4;
  } else if (fam == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)&a->ss;
    memcpy(key + k, &s6->sin6_port, 2);
    k += 2;
    memcpy(key + k, &s6->sin6_addr, 16);
    k += 16;
    memcpy(key + k, &s6->sin6_scope_id, 4);
    k += 4;
  }
  return k;
}

int vq_addr_equal(const vq_addr *a, const vq_addr *b)
{
  uint8_t ka[32], kb[32];
  size_t na = addr_key(a, ka), nb = addr_key(b, kb);
  return na == nb && memcmp(ka, kb, na) == 0;
}

int vq_posix_addr_same_host(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
  if (alen != sizeof(vq_addr) || blen != sizeof(vq_addr))
    return 0;
  vq_addr x, y;
  memcpy(&x, a, sizeof x);
  memcpy(&y, b, sizeof y);
  uint8_t ka[32], kb[32];
  size_t na = addr_key(&x, ka), nb = addr_key(&y, kb);
  /* the key is family, port (2 bytes), address (and scope): compared without the port */
  return na == nb && na >= 3 && ka[0] == kb[0] && memcmp(ka + 3, kb + 3, na - 3) == 0;
}

size_t vq_posix_addr_host(const uint8_t *a, size_t alen, uint8_t *out, size_t cap)
{
  if (alen != sizeof(vq_addr))
    return 0;
  vq_addr x;
  memcpy(&x, a, sizeof x);
  uint8_t k[32];
  size_t n = addr_key(&x, k);
  /* the key is family, port (2 bytes), address (and scope): the family and what follows the port */
  if (n < 3 || cap < n - 2)
    return 0;
  out[0] = k[0];
  memcpy(out + 1, k + 3, n - 3);
  return n - 2;
}

static uint64_t mix64(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

uint64_t vq_addr_hash(const vq_addr *a, uint64_t seed)
{
  uint8_t k[32];
  size_t n = addr_key(a, k);
  /* Eight bytes at a time through the splitmix64 finaliser, chained with the seed. */
  uint64_t h = mix64(seed ^ 0x9e3779b97f4a7c15u ^ (uint64_t)n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    for (size_t j = 0; j < 8 && i + j < n; j++) w |= (uint64_t)k[i + j] << (8 * j);
    h = mix64(h ^ w) + 0x9e3779b97f4a7c15u;
  }
  return mix64(h);
}
