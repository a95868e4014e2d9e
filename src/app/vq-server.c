/* vq-server — serves a directory over HTTP/3 (RFC 9114) on vquic.
 *
 *   vq-server --listen ADDR:PORT --root DIR [--cert FILE --key FILE] [options]
 *
 * GET and HEAD of regular files under DIR (index.html for a directory), content types by extension,
 * 404 / 405 / 400 otherwise; bodies are streamed from the file with pread as flow control allows,
 * never loaded whole. One log line per request (-q: none). SIGINT / SIGTERM: GOAWAY to every connection, the
 * requests in progress finish, then the connections close (graceful drain). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "app.h"
#include "vquic/tp.h"
#include "qlog.h"
#include "vquic/endpoint.h"
#include "vquic/h3.h"
#include "vquic/h3quic.h"
#include "vquic/tls.h"

#define MAX_REQ 256

typedef struct sreq {
  uint64_t id;
  int fd;
  uint64_t off, size;
  int head_only;
  int status;
  char path[512];
} sreq;

typedef struct sconn {
  struct server *srv;
  vq_endpoint_conn *ec;
  vq_h3q q;
  vq_addr peer;
  app_qtrace *qt;           /* its qlog file (--qlog-dir), freed after the connection */
  sreq *req[MAX_REQ];       /* requests in progress, allocated when they start (an idle
                               connection holds none: the bench's idle case counts these bytes) */
} sconn;

typedef struct server {
  const char *root;
  char root_real[PATH_MAX];
  int root_fd;              /* the root directory (O_PATH), for openat2 lookups beneath it; -1: none */
  int verbose;
  int quiet;                /* -q: no log line per request */
  vq_mem mem;
  vq_endpoint *ep;
  vq_posix_sock *sock;
  vq_posix_sock *sock2;     /* --preferred-address: the second socket (NULL: none) */
  const vq_cx *cx;
  vq_h3_config h3cfg;
  uint64_t requests;
  uint64_t early_requests, early_rejected; /* RFC 8470, summed over the connections freed */
  const char *qlog_dir;
  app_qtrace *pending_qt;   /* opened for a connection being created (endpoint conn_trace hook) */
} server;

/* vq_endpoint_config.conn_trace: a qlog file per connection, named by the client's first DCID. */
static const vq_trace *conn_trace(void *ud, const vq_cid *odcid)
{
  server *s = ud;
  char name[2 * VQ_CID_MAX_LEN + 8];
  size_t o = 0;
  for (size_t i = 0; i < odcid->len; i++)
    o += (size_t)snprintf(name + o, sizeof(name) - o, "%02x", odcid->bytes[i]);
  snprintf(name + o, sizeof(name) - o, "_server");
  app_qtrace_free(s->pending_qt);
  s->pending_qt = app_qtrace_open(s->qlog_dir, name, 1, "vq-server", s->verbose);
  if (!s->pending_qt)
    fprintf(stderr, "vq-server: --qlog-dir %s: %s\n", s->qlog_dir, strerror(errno));
  return s->pending_qt ? &s->pending_qt->t : NULL;
}

static const char *content_type(const char *path)
{
  static const struct {
    const char *ext, *type;
  } t[] = {{".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
           {".txt", "text/plain; charset=utf-8"}, {".css", "text/css"},
           {".js", "text/javascript"},            {".json", "application/json"},
           {".png", "image/png"},                 {".jpg", "image/jpeg"},
           {".jpeg", "image/jpeg"},               {".gif", "image/gif"},
           {".svg", "image/svg+xml"},             {".wasm", "application/wasm"},
           {".pdf", "application/pdf"},           {".ico", "image/x-icon"}};
  const char *dot = strrchr(path, '.');
  if (dot)
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
      if (strcasecmp(dot, t[i].ext) == 0)
        return t[i].type;
  return "application/octet-stream";
}

static sreq *req_find(sconn *sc, uint64_t id)
{
  for (int i = 0; i < MAX_REQ; i++)
    if (sc->req[i] && sc->req[i]->id == id)
      return sc->req[i];
  return NULL;
}

static void req_done(sconn *sc, sreq *r)
{
  for (int i = 0; i < MAX_REQ; i++)
    if (sc->req[i] == r)
      sc->req[i] = NULL;
  if (r->fd >= 0)
    close(r->fd);
  free(r);
}

static void log_req(server *s, sconn *sc, const char *method, const char *path, int status, uint64_t size)
{
  s->requests++;
  if (s->quiet)
    return;
  char a[VQ_ADDR_STRLEN];
  if (vq_addr_format(&sc->peer, a, sizeof(a)) != VQ_OK)
    strcpy(a, "?");
  fprintf(stderr, "%s %s %s %d %llu\n", a, method, path, status, (unsigned long long)size);
}

/* Opens rel (a path relative to the root, no leading '/') for reading, never a file outside the root.
 * One system call where the kernel has openat2: RESOLVE_BENEATH keeps the whole lookup, symlinks
 * included, beneath the root. Without openat2, or for a lookup it refuses that may still end inside
 * the root (an absolute symlink), realpath and a prefix check (several system calls per component). */
static int open_beneath(const server *s, const char *rel)
{
#ifdef SYS_openat2
  if (s->root_fd >= 0) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, s->root_fd, *rel ? rel : ".", &how, sizeof(how));
    if (fd >= 0)
      return (int)fd;
    if (errno != ENOSYS && errno != EXDEV && errno != EPERM && errno != E2BIG)
      return -1; /* not there, not readable: no other lookup would find it */
  }
#endif
  char full[PATH_MAX + 1100], real[PATH_MAX];
  snprintf(full, sizeof(full), "%s/%s", s->root_real, rel);
  size_t rl = strlen(s->root_real);
  if (realpath(full, real) && strncmp(real, s->root_real, rl) == 0 &&
      (real[rl] == '/' || real[rl] == 0 || (rl == 1 && real[0] == '/')))
    return open(real, O_RDONLY | O_CLOEXEC);
  return -1;
}

/* Sends as much of the body as the stream takes now. */
static void pump_body(server *s, sconn *sc, sreq *r)
{
  uint8_t buf[16384];
  while (r->fd >= 0) {
    uint64_t left = r->size - r->off;
    size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
    ssize_t got = n ? pread(r->fd, buf, n, (off_t)r->off) : 0;
    if (got < 0 || (size_t)got != n) {
      (void)vq_h3_cancel(sc->q.h3, s->cx, r->id, VQ_H3_INTERNAL_ERROR);
      req_done(sc, r);
      return;
    }
    size_t acc = 0;
    int fin = r->off + n == r->size;
    const uint64_t id = r->id;
    vq_status st = vq_h3_send_body(sc->q.h3, s->cx, id, buf, n, fin, &acc);
    if (req_find(sc, id) != r)
      return; /* finished from a callback meanwhile */
    if (st != VQ_OK) {
      req_done(sc, r);
      return;
    }
    r->off += acc;
    if (fin && acc == n) {
      req_done(sc, r);
      return;
    }
    if (acc == 0 && n > 0)
      return; /* the stream is full: wait for on_writable */
  }
}

static int url_decode(const char *in, size_t len, char *out, size_t cap)
{
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = in[i];
    if (ch == '?' || ch == '#')
      break;
    if (ch == '%' && i + 2 < len + 0 && i + 2 <= len - 1 + 0) {
      char hx[3] = {in[i + 1], in[i + 2], 0};
      char *end;
      long v = strtol(hx, &end, 16);
      if (*end || v <= 0)
        return -1;
      ch = (char)v;
      i += 2;
    }
    if (o + 1 >= cap)
      return -1;
    out[o++] = ch;
  }
  out[o] = 0;
  return 0;
}

static void respond_simple(server *s, sconn *sc, uint64_t id, int status, const char *body, int head)
{
  char len[32];
  snprintf(len, sizeof(len), "%zu", strlen(body));
  vq_h3_field f[2] = {{(const uint8_t *)"content-type", 12, (const uint8_t *)"text/plain", 10, 0},
                      {(const uint8_t *)"content-length", 14, (const uint8_t *)len, strlen(len), 0}};
  if (vq_h3_respond(sc->q.h3, s->cx, id, status, f, 2, !head) != VQ_OK)
    return;
  if (!head) {
    size_t acc;
    (void)vq_h3_send_body(sc->q.h3, s->cx, id, (const uint8_t *)body, strlen(body), 1, &acc);
  }
}

static void on_request(void *ud, vq_h3 *h3, uint64_t id, const vq_h3_head *head)
{
  sconn *sc = ud;
  server *s = sc->srv;
  (void)h3;
  char method[16] = "", rawpath[1024] = "";
  snprintf(method, sizeof(method), "%.*s", (int)head->method.len, (const char *)head->method.p);
  if (head->path.p)
    snprintf(rawpath, sizeof(rawpath), "%.*s", (int)head->path.len, (const char *)head->path.p);
  int is_head = strcmp(method, "HEAD") == 0;
  if (strcmp(method, "GET") != 0 && !is_head) {
    respond_simple(s, sc, id, 405, "method not allowed\n", 0);
    log_req(s, sc, method, rawpath, 405, 0);
    return;
  }
  char path[1024];
  if (rawpath[0] != '/' || url_decode(rawpath, strlen(rawpath), path, sizeof(path)) != 0 ||
      strstr(path, "/../") || (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0)) {
    respond_simple(s, sc, id, 400, "bad path\n", is_head);
    log_req(s, sc, method, rawpath, 400, 0);
    return;
  }
  /* path starts with '/' and has no ".." component (checked above) */
  char rel[1100];
  snprintf(rel, sizeof(rel), "%s", path + 1);
  struct stat stt;
  int fd = open_beneath(s, rel);
  int found = fd >= 0 && fstat(fd, &stt) == 0;
  if (found && S_ISDIR(stt.st_mode)) {
    close(fd);
    size_t l = strlen(rel);
    snprintf(rel + l, sizeof(rel) - l, "%sindex.html", l && rel[l - 1] != '/' ? "/" : "");
    fd = open_beneath(s, rel);
    found = fd >= 0 && fstat(fd, &stt) == 0;
  }
  if (!found || !S_ISREG(stt.st_mode)) {
    if (fd >= 0)
      close(fd);
    respond_simple(s, sc, id, 404, "not found\n", is_head);
    log_req(s, sc, method, rawpath, 404, 0);
    return;
  }
  sreq *r = NULL;
  int slot = 0;
  while (slot < MAX_REQ && sc->req[slot])
    slot++;
  if (slot < MAX_REQ)
    r = calloc(1, sizeof(*r));
  if (!r) {
    close(fd);
    (void)vq_h3_cancel(sc->q.h3, s->cx, id, VQ_H3_REQUEST_REJECTED);
    return;
  }
  sc->req[slot] = r;
  r->id = id;
  r->fd = fd;
  r->size = (uint64_t)stt.st_size;
  r->head_only = is_head;
  char len[32];
  snprintf(len, sizeof(len), "%llu", (unsigned long long)r->size);
  const char *ct = content_type(rel);
  vq_h3_field f[2] = {{(const uint8_t *)"content-type", 12, (const uint8_t *)ct, strlen(ct), 0},
                      {(const uint8_t *)"content-length", 14, (const uint8_t *)len, strlen(len), 0}};
  int has_body = !is_head && r->size > 0;
  if (vq_h3_respond(sc->q.h3, s->cx, id, 200, f, 2, has_body) != VQ_OK) {
    req_done(sc, r);
    return;
  }
  log_req(s, sc, method, rawpath, 200, is_head ? 0 : r->size);
  if (!has_body)
    req_done(sc, r);
  else
    pump_body(s, sc, r);
}

static void on_writable(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  sconn *sc = ud;
  (void)h3;
  (void)sud;
  sreq *r = req_find(sc, id);
  if (r)
    pump_body(sc->srv, sc, r);
}

static void on_reset(void *ud, vq_h3 *h3, uint64_t id, void *sud, uint64_t err)
{
  sconn *sc = ud;
  (void)h3;
  (void)sud;
  (void)err;
  sreq *r = req_find(sc, id);
  if (r)
    req_done(sc, r);
}

static void on_stream_close(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  on_reset(ud, h3, id, sud, 0);
}

static sconn *sconn_new(server *s, vq_endpoint_conn *ec, const vq_addr *peer)
{
  sconn *sc = calloc(1, sizeof(*sc));
  if (!sc)
    return NULL;
  sc->srv = s;
  sc->ec = ec;
  sc->peer = *peer;
  vq_h3_callbacks cb = {0};
  cb.ud = sc;
  cb.on_request = on_request;
  cb.on_writable = on_writable;
  cb.on_reset = on_reset;
  cb.on_stream_close = on_stream_close;
  if (vq_h3q_init(&sc->q, ec->conn, &s->mem, &s->h3cfg, &cb) != VQ_OK) {
    free(sc);
    return NULL;
  }
  ec->ud = sc;
  return sc;
}

static void sconn_free(sconn *sc)
{
  vq_h3_stats hs;
  vq_h3_get_stats(sc->q.h3, &hs);
  sc->srv->early_requests += hs.early_requests;
  sc->srv->early_rejected += hs.early_rejected;
  for (int i = 0; i < MAX_REQ; i++)
    if (sc->req[i])
      req_done(sc, sc->req[i]);
  vq_h3q_free(&sc->q);
  free(sc);
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: vq-server [--listen ADDR:PORT] [--root DIR] [--cert FILE --key FILE] [options]\n"
          "Serves DIR over HTTP/3 (QUIC v1 and v2) on UDP.\n"
          "  --listen ADDR:PORT   address to listen on (default 127.0.0.1:4433)\n"
          "  --root DIR           directory to serve (default .)\n"
          "  --cert FILE          PEM certificate chain (default: a generated self-signed one)\n"
          "  --key FILE           PEM private key of --cert\n"
          "  --cert-out FILE      write the (generated) certificate here, for a client's --cafile\n"
          "  --alpn LIST          comma-separated ALPN protocols (default h3)\n"
          "  --cc newreno|cubic   congestion controller (default cubic)\n"
          "  --keylog FILE        NSS key log (also $SSLKEYLOGFILE)\n"
          "  --idle-timeout MS    max_idle_timeout (default 30000)\n"
          "  --max-conns N        connections held at once (default 10000)\n"
          "  --no-gso             send every datagram on its own (no UDP GSO trains)\n"
          "  --no-ecn             do not mark datagrams with ECT(0) (RFC 9000 §13.4)\n"
          "  --qlog-dir DIR       write a qlog (JSON-SEQ) file per connection into DIR\n"
          "  --versions LIST      QUIC versions accepted, best first, e.g. v2,v1: a client's v1 first\n"
          "                       flight that lists v2 is answered in v2 (compatible negotiation);\n"
          "                       others get Version Negotiation (default: v1 and v2, as the client\n"
          "                       chose)\n"
          "  --retry              validate every client address with a Retry first (RFC 9000 §8.1.2)\n"
          "  --retry-above N      validate with a Retry only while N or more connections are held\n"
          "                       (0: always, as --retry)\n"
          "  --no-new-token       send no NEW_TOKEN after the handshake (RFC 9000 §8.1.3; by default\n"
          "                       one token per connection: a client offering it later from the same\n"
          "                       IP address is validated without a Retry)\n"
          "  --new-token-lifetime S  how long such a token is accepted, seconds (default 86400)\n"
          "  --key-update-every N update the 1-RTT keys every N packets sent (RFC 9001 §6;\n"
          "                       default 0: only when the AEAD limit requires it)\n"
          "  --allow-migration    let clients migrate (no disable_active_migration; NAT rebinding is\n"
          "                       followed either way)\n"
          "  --preferred-address ADDR:PORT\n"
          "                       also listen on ADDR:PORT (same address family as --listen) and\n"
          "                       advertise it as the server's preferred address (RFC 9000 §9.6): a\n"
          "                       client validates it and moves there after the handshake; the\n"
          "                       server sends from there once the client's packets arrive there\n"
          "  --early-data         accept 0-RTT from clients resuming a session (default off: 0-RTT\n"
          "                       requests can be replayed; each ticket is accepted for 0-RTT once)\n"
          "  --early-policy P     requests received in 0-RTT or marked Early-Data (RFC 8470):\n"
          "                       reject-unsafe answers those with an unsafe method (not GET, HEAD,\n"
          "                       OPTIONS, TRACE) 425 Too Early (the default), reject-all answers\n"
          "                       every one 425, accept serves them all\n"
          "  --no-tickets         issue no session tickets (no resumption)\n"
          "  -v, --verbose        trace connection events to stderr\n"
          "  -q, --quiet          no log line per request\n"
          "  -h, --help           this text\n");
}


int main(int argc, char **argv)
{
  const char *listen = "127.0.0.1:4433", *root = ".", *cert = NULL, *key = NULL, *alpn_s = "h3";
  const char *keylog = getenv("SSLKEYLOGFILE"), *cert_out = NULL, *cc = "cubic";
  uint64_t idle = 30000, max_conns = 10000, key_update_every = 0, retry_above = 0;
  int verbose = 0, no_gso = 0, no_ecn = 0;
  const char *qlog_dir = NULL;
  int retry = 0, allow_migration = 0, early = 0, no_tickets = 0, no_new_token = 0;
  int early_policy = VQ_H3_EARLY_REJECT_UNSAFE;
  uint64_t new_token_lifetime = 0;
  const char *pref_s = NULL;
  uint32_t versions[VQ_CONN_MAX_VERSIONS] = {0};
  static const struct option opts[] = {
      {"listen", 1, 0, 'l'}, {"root", 1, 0, 'r'},   {"cert", 1, 0, 'c'},      {"key", 1, 0, 'k'},
      {"alpn", 1, 0, 'a'},   {"keylog", 1, 0, 'K'}, {"cert-out", 1, 0, 'O'},  {"cc", 1, 0, 'C'},
      {"idle-timeout", 1, 0, 'i'}, {"max-conns", 1, 0, 'm'}, {"verbose", 0, 0, 'v'}, {"no-gso", 0, 0, 'G'}, {"qlog-dir", 1, 0, 'Q'}, {"retry", 0, 0, 'R'}, {"preferred-address", 1, 0, 'P'}, {"retry-above", 1, 0, 'A'}, {"versions", 1, 0, 'W'},
      {"key-update-every", 1, 0, 'U'}, {"allow-migration", 0, 0, 'M'}, {"no-ecn", 0, 0, 'E'},
      {"early-data", 0, 0, 'Y'}, {"no-tickets", 0, 0, 'N'}, {"help", 0, 0, 'h'},
      {"no-new-token", 0, 0, 'T'}, {"new-token-lifetime", 1, 0, 'L'}, {"quiet", 0, 0, 'q'},
      {"early-policy", 1, 0, 'e'},
      {0, 0, 0, 0}};
  int o;
  int quiet = 0;
  while ((o = getopt_long(argc, argv, "vqh", opts, NULL)) != -1) {
    switch (o) {
    case 'q': quiet = 1; break;
    case 'l': listen = optarg; break;
    case 'r': root = optarg; break;
    case 'c': cert = optarg; break;
    case 'k': key = optarg; break;
    case 'a': alpn_s = optarg; break;
    case 'K': keylog = optarg; break;
    case 'O': cert_out = optarg; break;
    case 'C': cc = optarg; break;
    case 'i': idle = strtoull(optarg, NULL, 10); break;
    case 'm': max_conns = strtoull(optarg, NULL, 10); break;
    case 'v': verbose = 1; break;
    case 'Q': qlog_dir = optarg; break;
    case 'R': retry = 1; break;
    case 'A': {
      char *end = NULL;
      retry_above = strtoull(optarg, &end, 10);
      if (!end || *end || optarg[0] == '-' || optarg[0] == 0 || retry_above > UINT32_MAX) {
        fprintf(stderr, "vq-server: --retry-above %s: not a number of connections\n", optarg);
        return 2;
      }
      if (retry_above == 0)
        retry = 1; /* 0 or more connections held: always */
      break;
    }
    case 'T': no_new_token = 1; break;
    case 'L': {
      char *end = NULL;
      new_token_lifetime = strtoull(optarg, &end, 10);
      if (!end || *end || optarg[0] == '-' || optarg[0] == 0 || new_token_lifetime == 0 ||
          new_token_lifetime > 365u * 86400u) {
        fprintf(stderr, "vq-server: --new-token-lifetime %s: not a number of seconds (1 .. 31536000)\n",
                optarg);
        return 2;
      }
      break;
    }
    case 'M': allow_migration = 1; break;
    case 'P': pref_s = optarg; break;
    case 'G': no_gso = 1; break;
    case 'W':
      if (app_parse_versions(optarg, versions, VQ_CONN_MAX_VERSIONS) != 0) {
        fprintf(stderr, "vq-server: --versions: a list of v1, v2\n");
        return 2;
      }
      break;
    case 'E': no_ecn = 1; break;
    case 'U': {
      char *end = NULL;
      key_update_every = strtoull(optarg, &end, 10);
      if (!end || *end || optarg[0] == '-') {
        fprintf(stderr, "vq-server: --key-update-every %s: not a number of packets\n", optarg);
        return 2;
      }
      break;
    }
    case 'Y': early = 1; break;
    case 'e':
      if (strcmp(optarg, "reject-unsafe") == 0)
        early_policy = VQ_H3_EARLY_REJECT_UNSAFE;
      else if (strcmp(optarg, "reject-all") == 0)
        early_policy = VQ_H3_EARLY_REJECT_ALL;
      else if (strcmp(optarg, "accept") == 0)
        early_policy = VQ_H3_EARLY_ACCEPT;
      else {
        fprintf(stderr, "vq-server: --early-policy %s: reject-unsafe, reject-all or accept\n", optarg);
        return 2;
      }
      break;
    case 'N': no_tickets = 1; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    usage(stderr);
    return 2;
  }
  if ((cert == NULL) != (key == NULL)) {
    fprintf(stderr, "vq-server: --cert and --key go together\n");
    return 2;
  }
  if (strcmp(cc, "cubic") != 0 && strcmp(cc, "newreno") != 0) {
    fprintf(stderr, "vq-server: --cc must be newreno or cubic\n");
    return 2;
  }
  server s;
  memset(&s, 0, sizeof(s));
  s.root = root;
  s.verbose = verbose;
  s.quiet = quiet;
  s.qlog_dir = qlog_dir;
  if (!realpath(root, s.root_real)) {
    fprintf(stderr, "vq-server: --root %s: %s\n", root, strerror(errno));
    return 1;
  }
  s.root_fd = open(s.root_real, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s.root_fd < 0) {
    fprintf(stderr, "vq-server: --root %s: %s\n", root, strerror(errno));
    return 1;
  }
  vq_mem_init(&s.mem, vq_allocator_system(), NULL, (size_t)4 << 30);
  uint8_t alpn[256];
  size_t alpn_len = 0;
  if (app_build_alpn(alpn_s, alpn, sizeof(alpn), &alpn_len) != 0) {
    fprintf(stderr, "vq-server: bad --alpn list\n");
    return 2;
  }
  char err[512] = "";
  size_t cl = 0, kl = 0;
  uint8_t *cp = NULL, *kp = NULL;
  if (cert) {
    cp = app_read_file(cert, 1 << 20, &cl, err, sizeof(err));
    if (cp)
      kp = app_read_file(key, 1 << 20, &kl, err, sizeof(err));
    if (!cp || !kp) {
      fprintf(stderr, "vq-server: %s\n", err);
      return 1;
    }
  }
  FILE *kf = NULL;
  if (keylog && *keylog) {
    kf = fopen(keylog, "a");
    if (!kf) {
      fprintf(stderr, "vq-server: --keylog %s: %s\n", keylog, strerror(errno));
      return 1;
    }
  }
  vq_tls_ctx_config tc = {0};
  tc.is_server = 1;
  tc.cert_pem = cp;
  tc.cert_pem_len = cl;
  tc.key_pem = kp;
  tc.key_pem_len = kl;
  tc.selfsigned_name = "localhost";
  tc.alpn = alpn;
  tc.alpn_len = alpn_len;
  /* tickets (resumption) by default, with a random ticket key: they die with the process */
  tc.no_tickets = no_tickets;
  tc.enable_early_data = early;
  if (kf) {
    tc.keylog = app_keylog;
    tc.keylog_ud = kf;
  }
  vq_tls_ctx *tls = NULL;
  if (vq_tls_ctx_new(&tls, &tc, err, sizeof(err)) != VQ_OK) {
    fprintf(stderr, "vq-server: TLS: %s\n", err);
    return 1;
  }
  free(cp);
  free(kp);
  if (cert_out) {
    const char *pem;
    size_t pl;
    FILE *f = fopen(cert_out, "w");
    if (!f || vq_tls_ctx_leaf_pem(tls, &pem, &pl) != VQ_OK || fwrite(pem, 1, pl, f) != pl) {
      fprintf(stderr, "vq-server: --cert-out %s: cannot write\n", cert_out);
      return 1;
    }
    fclose(f);
  }
  vq_addr la;
  if (vq_addr_parse(&la, listen) != VQ_OK) {
    fprintf(stderr, "vq-server: --listen %s: not an address:port\n", listen);
    return 2;
  }
  /* exclusive: with SO_REUSEADDR a second server on the same port would bind and share the traffic
   * instead of failing (found by the interop harness, which picks ports) */
  vq_posix_config pc = {0};
  pc.flags = VQ_POSIX_EXCLUSIVE | (no_gso ? VQ_POSIX_NO_GSO : 0u);
  if (vq_posix_sock_open(&s.sock, &s.mem, &la, &pc) != VQ_OK) {
    fprintf(stderr, "vq-server: cannot listen on %s: %s\n", listen, strerror(errno));
    return 1;
  }
  vq_posix_loop *loop = NULL;
  if (vq_posix_loop_open(&loop, &s.mem, VQ_POSIX_LOOP_SIGNALS) != VQ_OK ||
      vq_posix_loop_add(loop, s.sock) != VQ_OK) {
    fprintf(stderr, "vq-server: event loop: %s\n", strerror(errno));
    return 1;
  }
  vq_tp_preferred_address pref;
  memset(&pref, 0, sizeof(pref));
  if (pref_s) {
    /* the preferred address: a second socket of the same family, advertised (RFC 9000 §9.6) */
    vq_addr pa2;
    if (vq_addr_parse_family(&pa2, pref_s, vq_addr_family(&la)) != VQ_OK) {
      fprintf(stderr, "vq-server: --preferred-address %s: not an address:port of --listen's family\n",
              pref_s);
      return 2;
    }
    if (vq_posix_sock_open(&s.sock2, &s.mem, &pa2, &pc) != VQ_OK ||
        vq_posix_loop_add(loop, s.sock2) != VQ_OK ||
        app_pa_fill(&pref, vq_posix_sock_local(s.sock2)) != 0) {
      fprintf(stderr, "vq-server: cannot listen on %s: %s\n", pref_s, strerror(errno));
      return 1;
    }
  }
  vq_endpoint_config ecfg = {0};
  ecfg.conn.is_server = 1;
  vq_addr pref_local;
  memset(&pref_local, 0, sizeof(pref_local));
  if (pref_s) {
    /* spec: rfc9000#9.6.2/2, rfc9000#9.6.2/3 — the connections know which datagrams arrive at the
     * preferred address and say which leave from it */
    app_addr_canon(&pref_local, vq_posix_sock_local(s.sock2));
    ecfg.conn.preferred_address = &pref;
    ecfg.conn.preferred_local = (const uint8_t *)&pref_local;
    ecfg.conn.preferred_local_len = sizeof(pref_local);
  }
  ecfg.conn.disable_ecn = no_ecn;
  ecfg.conn.tls = tls;
  ecfg.conn.max_idle_timeout_ms = idle;
  ecfg.conn.key_update_every = key_update_every;
  /* tickets are dated with the time of day; the endpoint's single-use record guards 0-RTT */
  ecfg.conn.wall_clock_base_ms = app_wall_clock_base_ms();
  ecfg.conn.cc = strcmp(cc, "cubic") == 0 ? VQ_CC_CUBIC : VQ_CC_NEWRENO;
  ecfg.max_conns = (uint32_t)max_conns;
  ecfg.retry = retry;
  ecfg.retry_above = (uint32_t)retry_above;
  /* NEW_TOKEN tokens bind the client's IP address, not its port (RFC 9000 §8.1.3) */
  ecfg.addr_host = vq_posix_addr_host;
  ecfg.new_token_off = no_new_token;
  ecfg.new_token_lifetime = (vq_time)new_token_lifetime * VQ_MS(1000);
  memcpy(ecfg.conn.versions, versions, sizeof(ecfg.conn.versions));
  /* the datagrams' source addresses go to the connections (vq_endpoint_recv): a client behind a NAT
   * that rebinds is followed; a port-only change keeps congestion control (RFC 9000 §9.4) */
  ecfg.conn.addr_same_host = vq_posix_addr_same_host;
  ecfg.conn.allow_active_migration = allow_migration;
  if (qlog_dir) {
    ecfg.conn_trace = conn_trace;
    ecfg.conn_trace_ud = &s;
  }
  vq_h3_config_default(&s.h3cfg, 1);
  /* spec: rfc9114#10.9/1 — RFC 8470: what happens to requests received in early data */
  s.h3cfg.early_policy = early_policy;
  /* spec: rfc9114#7.2.4.2/8 — the tickets carry our SETTINGS: 0-RTT only from sessions issued under
   * the same ones (a ticket from a server run with other settings resumes without 0-RTT) */
  uint8_t early_app[VQ_H3Q_SETTINGS_MAX];
  size_t early_app_len = 0;
  if (vq_h3q_early_app(&s.h3cfg, early_app, sizeof(early_app), &early_app_len) == VQ_OK) {
    ecfg.conn.early_app = early_app;
    ecfg.conn.early_app_len = early_app_len;
  }
  if (vq_endpoint_new(&s.ep, &s.mem, &ecfg) != VQ_OK) {
    fprintf(stderr, "vq-server: endpoint: out of memory\n");
    return 1;
  }
  vq_rng rng;
  vq_rng_seed(&rng, vq_posix_now() ^ ((uint64_t)getpid() << 32));
  rng.fill = app_crypto_fill; /* CIDs, PATH_CHALLENGE data...: unpredictable (rfc9000#5.1/1) */
  vq_trace trace = {app_trace, NULL};
  char la_s[VQ_ADDR_STRLEN];
  (void)vq_addr_format(vq_posix_sock_local(s.sock), la_s, sizeof(la_s));
  fprintf(stderr, "vq-server: serving %s on %s (HTTP/3 over QUIC v1)\n", s.root_real, la_s);

  int draining = 0;
  vq_time drain_deadline = VQ_TIME_NEVER;
  vq_posix_rx rx[64];
  for (;;) {
    vq_time deadline = vq_endpoint_next_timeout(s.ep);
    if (drain_deadline < deadline)
      deadline = drain_deadline;
    vq_posix_events ev;
    if (vq_posix_wait(loop, deadline, NULL, &ev) != VQ_OK)
      break;
    vq_cx cx = {vq_posix_now(), NULL, NULL, &rng, verbose ? &trace : NULL};
    s.cx = &cx;
    if (ev.signalled && !draining) {
      /* graceful shutdown: GOAWAY everywhere, finish what is in progress (RFC 9114 §5.2) */
      draining = 1;
      drain_deadline = cx.now + VQ_MS(5000);
      fprintf(stderr, "vq-server: signal %d: draining %zu connection(s)\n", ev.signalled,
              vq_endpoint_count(s.ep));
      for (vq_endpoint_conn *ec = vq_endpoint_next(s.ep, NULL); ec; ec = vq_endpoint_next(s.ep, ec))
        if (ec->ud)
          (void)vq_h3_shutdown(((sconn *)ec->ud)->q.h3, &cx);
    } else if (ev.signalled && draining) {
      break; /* a second signal: stop now */
    }
    for (int si = 0, more = 1; more;) {
      /* both sockets in turn until neither has anything */
      vq_posix_sock *rs = si ? s.sock2 : s.sock;
      size_t got = 0;
      if (!rs || vq_posix_recv(rs, rx, 64, &got) != VQ_OK || got == 0) {
        if (si == 0 && s.sock2) {
          si = 1;
          continue;
        }
        more = 0;
        break;
      }
      for (size_t i = 0; i < got; i++) {
        vq_addr peer;
        memset(&peer, 0, sizeof(peer));
        memcpy(&peer.ss, &rx[i].peer.ss, rx[i].peer.len);
        peer.len = rx[i].peer.len;
        vq_endpoint_conn *ec = NULL;
        int created = 0;
        uint8_t resp[1500];
        size_t resp_len = 0;
        (void)vq_endpoint_recv_at(s.ep, &cx, si, (const uint8_t *)&peer, sizeof(peer), rx[i].data,
                                  rx[i].len, rx[i].ecn, &ec, &created, resp, sizeof(resp),
                                  &resp_len);
        if (resp_len) {
          vq_posix_tx t = {resp, resp_len, &peer, NULL, VQ_ECN_NOT_ECT};
          size_t sent;
          (void)vq_posix_send(rs, &t, 1, &sent);
        }
        sconn *nsc = created && ec ? sconn_new(&s, ec, &peer) : NULL;
        if (nsc) {
          nsc->qt = s.pending_qt;
          s.pending_qt = NULL;
        }
        app_qtrace_free(s.pending_qt); /* a connection that was not created */
        s.pending_qt = NULL;
        if (created && ec && (draining || !nsc))
          (void)vq_conn_close(ec->conn, &cx, 0, VQ_TE_CONNECTION_REFUSED, "server shutting down");
      }
      /* its queue emptied at that read: the next read would find nothing (epoll is level
       * triggered, so anything newer wakes the next wait) */
      if (vq_posix_recv_drained(rs)) {
        if (si == 0 && s.sock2) {
          si = 1;
          continue;
        }
        more = 0;
      }
    }
    cx.now = vq_posix_now();
    vq_endpoint_conn *next;
    for (vq_endpoint_conn *ec = vq_endpoint_next(s.ep, NULL); ec; ec = next) {
      next = vq_endpoint_next(s.ep, ec);
      if (vq_conn_next_timeout(ec->conn) <= cx.now)
        (void)vq_conn_handle_timeout(ec->conn, &cx);
      sconn *sc = ec->ud;
      if (sc) {
        (void)vq_h3q_process(&sc->q, &cx);
        if (draining) {
          vq_h3_stats hs;
          vq_h3_get_stats(sc->q.h3, &hs);
          if (hs.active_requests == 0 && vq_conn_get_state(ec->conn) == VQ_CONN_ESTABLISHED)
            (void)vq_h3_close(sc->q.h3, &cx, VQ_H3_NO_ERROR, "shutting down");
        }
      }
      int blocked;
      const vq_addr *peer = (const vq_addr *)ec->addr;
      (void)app_flush_from(s.sock, s.sock2, ec->conn, &cx, peer, &blocked);
      if (vq_conn_get_state(ec->conn) == VQ_CONN_CLOSED) {
        app_qtrace *qt = NULL;
        if (sc) {
          vq_h3q_process(&sc->q, &cx);
          qt = sc->qt;
          sconn_free(sc);
        }
        uint64_t owed = 0;
        vq_endpoint_remove(s.ep, ec, &owed);
        app_qtrace_free(qt);
      }
    }
    if (draining && (vq_endpoint_count(s.ep) == 0 || cx.now >= drain_deadline))
      break;
  }
  app_qtrace *qts[4096];
  size_t nqt = 0;
  for (vq_endpoint_conn *ec = vq_endpoint_next(s.ep, NULL); ec; ec = vq_endpoint_next(s.ep, ec))
    if (ec->ud) {
      sconn *sc = ec->ud;
      if (sc->qt && nqt < sizeof(qts) / sizeof(qts[0]))
        qts[nqt++] = sc->qt;
      sconn_free(sc);
    }
  {
    /* address validation at a glance (RFC 9000 §8.1.2, §8.1.3): what the interop cases check */
    vq_endpoint_stats es;
    vq_endpoint_get_stats(s.ep, &es);
    fprintf(stderr,
            "vq-server: address validation: %llu connection(s), Retry sent %llu, Retry tokens refused %llu, "
            "NEW_TOKEN issued %llu, NEW_TOKEN tokens accepted %llu, refused %llu, "
            "tokens used again %llu, record full %llu\n",
            (unsigned long long)es.conns_created, (unsigned long long)es.retries_sent,
            (unsigned long long)es.tokens_refused, (unsigned long long)es.new_tokens_issued,
            (unsigned long long)es.new_tokens_accepted, (unsigned long long)es.new_tokens_refused,
            (unsigned long long)es.tokens_replayed, (unsigned long long)es.token_record_full);
  }
  vq_endpoint_free(s.ep);
  for (size_t i = 0; i < nqt; i++)
    app_qtrace_free(qts[i]);
  vq_posix_loop_close(loop);
  close(s.root_fd);
  vq_posix_sock_close(s.sock);
  vq_posix_sock_close(s.sock2);
  vq_tls_ctx_free(tls);
  if (kf)
    fclose(kf);
  if (early)
    fprintf(stderr, "vq-server: early data: %llu request(s) received in 0-RTT or marked Early-Data, %llu answered 425 (Too Early)\n",
            (unsigned long long)s.early_requests, (unsigned long long)s.early_rejected);
  fprintf(stderr, "vq-server: stopped after %llu request(s)\n", (unsigned long long)s.requests);
  return 0;
}
