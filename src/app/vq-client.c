/* vq-client — fetches URLs over HTTP/3 (RFC 9114) on vquic, all on one connection, in parallel
 * (or one after the other with --sequential; each URL N times with --repeat N).
 *
 *   vq-client [--cafile FILE | --insecure] [-o FILE | --output-dir DIR] URL...
 *
 * Bodies go to stdout (or -o FILE for a single URL, or DIR/<basename>); exits 0 only when every
 * response was a 2xx received completely. Failures say what failed: connection refused or timed out,
 * the handshake's TLS alert and certificate error, the peer's close code, the HTTP status. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "vquic/tp.h"
#include "qlog.h"
#include "vquic/h3.h"
#include "vquic/h3quic.h"
#include "vquic/tls.h"

#define MAX_URLS 256
#define MAX_REQUESTS 1000000 /* URLs x --repeat */
#define RX_BATCH 8 /* datagrams read before the client acknowledges when more wait (see the loop) */

/* one URL of the command line */
typedef struct curl {
  const char *url;
  char path[1024];
  FILE *out;
  int close_out;
} curl;

/* one request: a URL, once (--repeat N makes N requests of each URL, in command-line order) */
typedef struct creq {
  curl *u;
  uint64_t id;
  uint64_t body_off; /* --data: bytes of the body sent */
  int sent;
  int status;
  int done, failed;
  uint64_t bytes;
  vq_time start, end;
} creq;

typedef struct client {
  curl url[MAX_URLS];
  int nurl;
  creq *req; /* n of them */
  int n;
  int sent, done;
  int first_open; /* every request before it is done */
  int sequential; /* one request at a time */
  char host[256];
  const char *method; /* -X (default GET, POST with --data) */
  const uint8_t *body; /* --data FILE: the request body (NULL: none) */
  size_t body_len;
  char body_len_s[24];
  const vq_cx *cx;
  vq_h3q q;
  int progress;
  vq_time last_progress;
  uint64_t total_bytes;
} client;

static int parse_url(const char *url, char *host, size_t hcap, char *hostport, size_t hpcap, char *path,
                     size_t pcap)
{
  const char *p = url;
  if (strncmp(p, "https://", 8) == 0)
    p += 8;
  else
    return -1;
  const char *slash = strchr(p, '/');
  size_t alen = slash ? (size_t)(slash - p) : strlen(p);
  if (alen == 0 || alen >= hpcap)
    return -1;
  memcpy(hostport, p, alen);
  hostport[alen] = 0;
  snprintf(path, pcap, "%s", slash ? slash : "/");
  /* host without port (for SNI and the certificate check) */
  if (hostport[0] == '[') {
    const char *e = strchr(hostport, ']');
    if (!e)
      return -1;
    size_t hl = (size_t)(e - hostport - 1);
    if (hl >= hcap)
      return -1;
    memcpy(host, hostport + 1, hl);
    host[hl] = 0;
    if (e[1] == 0) {
      size_t l = strlen(hostport);
      snprintf(hostport + l, hpcap - l, ":443");
    }
  } else {
    const char *c = strrchr(hostport, ':');
    size_t hl = c ? (size_t)(c - hostport) : strlen(hostport);
    if (hl >= hcap)
      return -1;
    memcpy(host, hostport, hl);
    host[hl] = 0;
    if (!c) {
      size_t l = strlen(hostport);
      snprintf(hostport + l, hpcap - l, ":443");
    }
  }
  return 0;
}

static creq *req_by_id(client *c, uint64_t id)
{
  while (c->first_open < c->sent && c->req[c->first_open].done)
    c->first_open++;
  for (int i = c->first_open; i < c->sent; i++)
    if (c->req[i].id == id)
      return &c->req[i];
  return NULL;
}

static void on_response(void *ud, vq_h3 *h3, uint64_t id, void *sud, const vq_h3_head *head)
{
  client *c = ud;
  (void)h3;
  (void)sud;
  creq *r = req_by_id(c, id);
  if (r && head->status >= 200)
    r->status = head->status;
}

static void on_data(void *ud, vq_h3 *h3, uint64_t id, void *sud, const uint8_t *data, size_t len)
{
  client *c = ud;
  (void)h3;
  (void)sud;
  creq *r = req_by_id(c, id);
  if (!r)
    return;
  if (r->u->out && fwrite(data, 1, len, r->u->out) != len)
    r->failed = 1;
  r->bytes += len;
  c->total_bytes += len;
}

static void on_end(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  client *c = ud;
  (void)h3;
  (void)sud;
  creq *r = req_by_id(c, id);
  if (!r || r->done)
    return;
  r->done = 1;
  r->end = c->cx ? c->cx->now : 0;
  c->done++;
  if (r->u->out)
    fflush(r->u->out);
}

/* spec: rfc9114#10.9/1 — RFC 8470 §5.2: the session sent a request of ours that got 425 (Too Early)
 * in 0-RTT again after the handshake, on another stream: the request goes on under that ID */
static void on_retry(void *ud, vq_h3 *h3, uint64_t old_id, uint64_t new_id, void *sud)
{
  client *c = ud;
  (void)h3;
  (void)sud;
  creq *r = req_by_id(c, old_id);
  if (r)
    r->id = new_id;
}

/* Sends what the stream takes of the request body (--data). */
static void pump_body(client *c, const vq_cx *cx, creq *r)
{
  while (c->body && r->sent && r->body_off < c->body_len) {
    size_t acc = 0;
    size_t n = c->body_len - (size_t)r->body_off;
    if (vq_h3_send_body(c->q.h3, cx, r->id, c->body + r->body_off, n, 1, &acc) != VQ_OK || acc == 0)
      return; /* wait for on_writable */
    r->body_off += acc;
  }
}

static void on_writable(void *ud, vq_h3 *h3, uint64_t id, void *sud)
{
  client *c = ud;
  (void)sud;
  creq *r = req_by_id(c, id);
  if (r)
    pump_body(c, vq_h3_cx(h3), r);
}

static void on_reset(void *ud, vq_h3 *h3, uint64_t id, void *sud, uint64_t err)
{
  client *c = ud;
  (void)h3;
  (void)sud;
  creq *r = req_by_id(c, id);
  if (!r || r->done)
    return;
  r->done = 1;
  r->failed = 1;
  c->done++;
  fprintf(stderr, "vq-client: %s: stream reset by the server (0x%llx)\n", r->u->url,
          (unsigned long long)err);
}

/* Where the connection sends: the server's address, or its preferred address once moved there. */
static const vq_addr *cur_peer(const vq_conn *conn, const vq_addr *dflt)
{
  const uint8_t *a;
  size_t n;
  if (vq_conn_peer_addr(conn, &a, &n) && n == sizeof(vq_addr))
    return (const vq_addr *)(const void *)a;
  return dflt;
}

static void send_requests(client *c, const vq_cx *cx)
{
  while (c->sent < c->n && !(c->sequential && c->done < c->sent)) {
    creq *r = &c->req[c->sent];
    vq_h3_field f[2] = {
        {(const uint8_t *)"user-agent", 10, (const uint8_t *)"vq-client", 9, 0},
        {(const uint8_t *)"content-length", 14, (const uint8_t *)c->body_len_s, strlen(c->body_len_s), 0}};
    uint64_t id;
    /* the pseudo-header fields from the URL (vq_h3_request_to: :scheme https, :authority the URL's
     * host[:port], :path its path and query).
     * spec: rfc9114#10.9/1 — RFC 8470 §4: in 0-RTT the session refuses a request with an unsafe
     * method (VQ_ERR_STREAM_STATE) unless --early-unsafe: it is made again here once the handshake
     * completed */
    vq_status st = vq_h3_request_to(c->q.h3, cx, c->method, (const uint8_t *)r->u->url, strlen(r->u->url), f,
                                    c->body ? 2 : 1, c->body != NULL, &id);
    if (st != VQ_OK) {
      vq_cx_trace(cx, "request_deferred", "%s: %s", r->u->url, vq_status_reason(st));
      return; /* stream limit, or an unsafe method during the handshake: retried on the next turn */
    }
    r->id = id;
    r->sent = 1;
    r->start = cx->now;
    c->sent++;
    pump_body(c, cx, r);
  }
}

static const char *ecn_name(int state)
{
  static const char *const names[] = {"testing", "unknown", "capable", "failed"};
  return state >= 0 && state < 4 ? names[state] : "?";
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: vq-client [--cafile FILE | --insecure] [-o FILE | --output-dir DIR] [-X METHOD] [--data FILE] URL...\n"
          "Fetches https:// URLs over HTTP/3 (QUIC v1 or v2), all on one connection.\n"
          "  --cafile FILE        PEM trust anchors (default: the system's)\n"
          "  --insecure           do not verify the server's certificate chain and name\n"
          "  -o, --output FILE    write the body here (one URL only; default stdout)\n"
          "  --output-dir DIR     write each body to DIR/<last path segment>\n"
          "  --alpn LIST          comma-separated ALPN protocols (default h3)\n"
          "  --version v1|v2      QUIC version of the first flight (default v1)\n"
          "  --versions LIST      versions we may use, best first, e.g. v2,v1: answers to Version\n"
          "                       Negotiation and compatible negotiation (default: --version only)\n"
          "  --keylog FILE        NSS key log (also $SSLKEYLOGFILE)\n"
          "  --timeout MS         give up when idle this long (default 10000)\n"
          "  --stats              print transport statistics (RTT, loss, bytes) at the end, and\n"
          "                       whether the session was resumed and 0-RTT accepted\n"
          "  --key-update-every N update the 1-RTT keys every N packets sent (RFC 9001 §6;\n"
          "                       default 0: only when the AEAD limit requires it)\n"
          "  --session-file FILE  resume with the session in FILE when it holds a valid one, and\n"
          "                       store the newest session of this connection there (mode 0600);\n"
          "                       also an address validation token (NEW_TOKEN) of that server:\n"
          "                       offered once in the next connection to it, then replaced\n"
          "  --early-data         with a session: send the requests in 0-RTT (replayable: a request\n"
          "                       with an unsafe method, e.g. POST, waits for the handshake unless\n"
          "                       --early-unsafe; one answered 425 (Too Early) is sent again once\n"
          "                       after the handshake, RFC 8470)\n"
          "  --early-unsafe       with --early-data: send requests with unsafe methods in 0-RTT too\n"
          "  -X, --method METHOD  request method (default GET, or POST with --data)\n"
          "  --data FILE          send FILE as the request body (with content-length)\n"
          "  --no-gso             send every datagram on its own (no UDP GSO trains)\n"
          "  --no-ecn             do not mark datagrams with ECT(0) (RFC 9000 §13.4)\n"
          "  --sequential         one request at a time: the next when the previous ended\n"
          "  --repeat N           fetch every URL N times (bodies appended to its output)\n"
          "  --timings FILE       one line per request: its URL, start (us since the first\n"
          "                       request), duration until its last byte (us), status, bytes\n"
          "  -q, --quiet          no progress bar\n"
          "  --qlog-dir DIR       write the connection's qlog (JSON-SEQ) into DIR\n"
          "  --migrate-after N    after N response bytes, move to a new local port (a new socket)\n"
          "                       and migrate the connection there (RFC 9000 §9.2; the server must\n"
          "                       allow it: vq-server --allow-migration)\n"
          "  --no-preferred-address  stay at the server's address even when it gives a preferred\n"
          "                       address (default: after the handshake the client validates it\n"
          "                       and moves there, RFC 9000 §9.6; --stats says what happened)\n"
          "  --max-data N         connection flow-control window we grant, in bytes: initial and\n"
          "                       the ceiling of its auto-tuning (default 4 MiB, up to 32 MiB)\n"
          "  --max-stream-data N  the same per stream (default 1 MiB, up to 16 MiB)\n"
          "  -v, --verbose        trace connection events to stderr\n"
          "  -h, --help           this text\n");
}

static void progress(client *c, vq_time now, int final)
{
  if (!c->progress || (!final && now - c->last_progress < VQ_MS(200)))
    return;
  c->last_progress = now;
  double mb = (double)c->total_bytes / 1e6;
  double secs = c->req[0].start ? (double)(now - c->req[0].start) / 1e9 : 0;
  fprintf(stderr, "\r%d/%d done, %.1f MB, %.1f Mbit/s   ", c->done, c->n, mb,
          secs > 0 ? mb * 8 / secs : 0.0);
  if (final)
    fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
  const char *cafile = NULL, *output = NULL, *outdir = NULL, *alpn_s = "h3";
  const char *keylog = getenv("SSLKEYLOGFILE");
  int insecure = 0, stats = 0, quiet = 0, verbose = 0, no_gso = 0, no_ecn = 0, early = 0, early_unsafe = 0;
  const char *method = NULL, *data_file = NULL;
  const char *qlog_dir = NULL, *session_file = NULL, *timings = NULL;
  int sequential = 0;
  uint64_t repeat = 1;
  uint64_t timeout_ms = 10000, key_update_every = 0, migrate_after = 0, max_data = 0, max_sdata = 0;
  int no_pa = 0;
  uint32_t first_version[2] = {0, 0}, versions[VQ_CONN_MAX_VERSIONS] = {0};
  static const struct option opts[] = {
      {"cafile", 1, 0, 'A'}, {"insecure", 0, 0, 'I'}, {"output", 1, 0, 'o'},
      {"output-dir", 1, 0, 'D'}, {"alpn", 1, 0, 'a'}, {"keylog", 1, 0, 'K'},
      {"timeout", 1, 0, 'T'}, {"stats", 0, 0, 'S'}, {"quiet", 0, 0, 'q'},
      {"verbose", 0, 0, 'v'}, {"no-gso", 0, 0, 'G'}, {"qlog-dir", 1, 0, 'Q'},
      {"version", 1, 0, 'V'}, {"versions", 1, 0, 'W'}, {"key-update-every", 1, 0, 'U'},
      {"migrate-after", 1, 0, 'M'}, {"no-ecn", 0, 0, 'E'}, {"session-file", 1, 0, 'F'},
      {"early-data", 0, 0, 'Y'}, {"max-data", 1, 0, 'x'}, {"max-stream-data", 1, 0, 'Z'},
      {"sequential", 0, 0, 's'}, {"repeat", 1, 0, 'r'}, {"timings", 1, 0, 't'},
      {"no-preferred-address", 0, 0, 'P'}, {"help", 0, 0, 'h'}, {"early-unsafe", 0, 0, 'u'},
      {"method", 1, 0, 'X'}, {"data", 1, 0, 'd'}, {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "o:qvhX:", opts, NULL)) != -1) {
    switch (o) {
    case 'A': cafile = optarg; break;
    case 'I': insecure = 1; break;
    case 'o': output = optarg; break;
    case 'D': outdir = optarg; break;
    case 'a': alpn_s = optarg; break;
    case 'K': keylog = optarg; break;
    case 'T': timeout_ms = strtoull(optarg, NULL, 10); break;
    case 'S': stats = 1; break;
    case 'q': quiet = 1; break;
    case 'v': verbose = 1; break;
    case 'Q': qlog_dir = optarg; break;
    case 'G': no_gso = 1; break;
    case 'V':
      if (app_parse_versions(optarg, first_version, 1) != 0) {
        fprintf(stderr, "vq-client: --version: v1 or v2\n");
        return 2;
      }
      break;
    case 'W':
      if (app_parse_versions(optarg, versions, VQ_CONN_MAX_VERSIONS) != 0) {
        fprintf(stderr, "vq-client: --versions: a list of v1, v2\n");
        return 2;
      }
      break;
    case 'E': no_ecn = 1; break;
    case 'U': {
      char *end = NULL;
      key_update_every = strtoull(optarg, &end, 10);
      if (!end || *end || optarg[0] == '-') {
        fprintf(stderr, "vq-client: --key-update-every %s: not a number of packets\n", optarg);
        return 2;
      }
      break;
    }
    case 'M': migrate_after = strtoull(optarg, NULL, 10); break;
    case 'P': no_pa = 1; break;
    case 'x':
    case 'Z': {
      char *end = NULL;
      uint64_t v = strtoull(optarg, &end, 10);
      if (!end || *end || optarg[0] == '-' || v == 0) {
        fprintf(stderr, "vq-client: --%s %s: not a positive number of bytes\n",
                o == 'x' ? "max-data" : "max-stream-data", optarg);
        return 2;
      }
      *(o == 'x' ? &max_data : &max_sdata) = v;
      break;
    }
    case 's': sequential = 1; break;
    case 't': timings = optarg; break;
    case 'r': {
      char *end = NULL;
      repeat = strtoull(optarg, &end, 10);
      if (!end || *end || optarg[0] == '-' || repeat == 0 || repeat > MAX_REQUESTS) {
        fprintf(stderr, "vq-client: --repeat %s: a number of times from 1 to %d\n", optarg,
                MAX_REQUESTS);
        return 2;
      }
      break;
    }
    case 'F': session_file = optarg; break;
    case 'Y': early = 1; break;
    case 'u': early_unsafe = 1; break;
    case 'X': method = optarg; break;
    case 'd': data_file = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  static client cl;
  client *c = &cl;
  c->nurl = argc - optind;
  c->sequential = sequential;
  if (c->nurl <= 0 || c->nurl > MAX_URLS || (output && c->nurl != 1) || (output && outdir)) {
    usage(stderr);
    return 2;
  }
  if ((uint64_t)c->nurl * repeat > MAX_REQUESTS) {
    fprintf(stderr, "vq-client: %d URLs x --repeat %llu: more than %d requests\n", c->nurl,
            (unsigned long long)repeat, MAX_REQUESTS);
    return 2;
  }
  char hostport[300] = "";
  for (int i = 0; i < c->nurl; i++) {
    curl *r = &c->url[i];
    r->url = argv[optind + i];
    char h[256], hp[300];
    if (parse_url(r->url, h, sizeof(h), hp, sizeof(hp), r->path, sizeof(r->path)) != 0) {
      fprintf(stderr, "vq-client: %s: not an https:// URL\n", r->url);
      return 2;
    }
    if (i == 0) {
      snprintf(hostport, sizeof(hostport), "%s", hp);
      snprintf(c->host, sizeof(c->host), "%s", h);
    } else if (strcmp(hp, hostport) != 0) {
      fprintf(stderr, "vq-client: %s: every URL must name the same server (one connection)\n",
              r->url);
      return 2;
    }
  }
  c->method = method ? method : data_file ? "POST" : "GET";
  uint8_t *data = NULL;
  if (data_file) {
    char derr[512] = "";
    size_t dl = 0;
    if (!(data = app_read_file(data_file, (size_t)1 << 30, &dl, derr, sizeof(derr)))) {
      fprintf(stderr, "vq-client: --data: %s\n", derr);
      return 1;
    }
    c->body = data;
    c->body_len = dl;
    snprintf(c->body_len_s, sizeof(c->body_len_s), "%zu", dl);
  }
  c->n = (int)((uint64_t)c->nurl * repeat);
  c->req = calloc((size_t)c->n, sizeof(*c->req));
  if (!c->req) {
    fprintf(stderr, "vq-client: out of memory for %d requests\n", c->n);
    return 1;
  }
  for (int i = 0; i < c->n; i++)
    c->req[i].u = &c->url[i % c->nurl];
  FILE *tf = NULL;
  if (timings && !(tf = fopen(timings, "w"))) {
    fprintf(stderr, "vq-client: --timings %s: %s\n", timings, strerror(errno));
    return 1;
  }
  for (int i = 0; i < c->nurl; i++) {
    curl *r = &c->url[i];
    if (output) {
      r->out = fopen(output, "wb");
      r->close_out = 1;
    } else if (outdir) {
      const char *b = strrchr(r->path, '/');
      b = b && b[1] ? b + 1 : "index.html";
      char fn[2048];
      snprintf(fn, sizeof(fn), "%s/%s", outdir, b);
      r->out = fopen(fn, "wb");
      r->close_out = 1;
    } else {
      r->out = stdout;
    }
    if (!r->out) {
      fprintf(stderr, "vq-client: cannot write output for %s: %s\n", r->url, strerror(errno));
      return 1;
    }
  }
  c->progress = !quiet && isatty(2) && !verbose;

  uint8_t alpn[256];
  size_t alpn_len = 0;
  if (app_build_alpn(alpn_s, alpn, sizeof(alpn), &alpn_len) != 0) {
    fprintf(stderr, "vq-client: bad --alpn list\n");
    return 2;
  }
  char err[512] = "";
  uint8_t *ca = NULL;
  size_t ca_len = 0;
  if (cafile && !(ca = app_read_file(cafile, 4 << 20, &ca_len, err, sizeof(err)))) {
    fprintf(stderr, "vq-client: --cafile: %s\n", err);
    return 1;
  }
  FILE *kf = NULL;
  if (keylog && *keylog && !(kf = fopen(keylog, "a"))) {
    fprintf(stderr, "vq-client: --keylog %s: %s\n", keylog, strerror(errno));
    return 1;
  }
  vq_tls_ctx_config tc = {0};
  tc.ca_pem = ca;
  tc.ca_pem_len = ca_len;
  tc.insecure = insecure;
  tc.alpn = alpn;
  tc.alpn_len = alpn_len;
  tc.enable_early_data = early;
  if (kf) {
    tc.keylog = app_keylog;
    tc.keylog_ud = kf;
  }
  vq_tls_ctx *tls = NULL;
  if (vq_tls_ctx_new(&tls, &tc, err, sizeof(err)) != VQ_OK) {
    fprintf(stderr, "vq-client: TLS: %s\n", err);
    return 1;
  }
  free(ca);
  vq_addr peer0, peer;
  vq_status ast = vq_addr_parse(&peer0, hostport);
  if (ast != VQ_OK) {
    fprintf(stderr, "vq-client: %s: cannot resolve (%s)\n", hostport, vq_status_reason(ast));
    return 1;
  }
  /* the connection compares addresses byte for byte: its bytes beyond the sockaddr are zero */
  app_addr_canon(&peer, &peer0);
  vq_mem mem;
  vq_mem_init(&mem, vq_allocator_system(), NULL, (size_t)1 << 30);
  vq_addr local;
  (void)vq_addr_parse(&local, vq_addr_family(&peer) == AF_INET6 ? "[::]:0" : "0.0.0.0:0");
  vq_posix_sock *sock = NULL;
  vq_posix_loop *loop = NULL;
  vq_posix_config pc = {0};
  pc.flags = no_gso ? VQ_POSIX_NO_GSO : 0u;
  if (vq_posix_sock_open(&sock, &mem, &local, &pc) != VQ_OK ||
      vq_posix_loop_open(&loop, &mem, 0) != VQ_OK || vq_posix_loop_add(loop, sock) != VQ_OK) {
    fprintf(stderr, "vq-client: socket: %s\n", strerror(errno));
    return 1;
  }
  vq_rng rng;
  vq_rng_seed(&rng, vq_posix_now() ^ ((uint64_t)getpid() << 32));
  rng.fill = app_crypto_fill; /* CIDs, PATH_CHALLENGE data...: unpredictable (rfc9000#5.1/1) */
  vq_trace trace = {app_trace, NULL};
  vq_cx cx = {vq_posix_now(), NULL, NULL, &rng, verbose ? &trace : NULL};
  vq_conn_config cc = {0};
  cc.disable_ecn = no_ecn;
  cc.tls = tls;
  cc.server_name = c->host; /* spec: rfc9114#3.1/1 — the certificate is checked against it */
  cc.max_idle_timeout_ms = timeout_ms;
  cc.cc = VQ_CC_CUBIC;
  cc.version = first_version[0];
  memcpy(cc.versions, versions, sizeof(cc.versions));
  cc.key_update_every = key_update_every;
  /* a window given here is also the auto-tuning ceiling: it stays that small (interop: small windows) */
  cc.initial_max_data = cc.max_conn_window = max_data;
  cc.initial_max_stream_data = cc.max_stream_window = max_sdata;
  cc.allow_active_migration = migrate_after > 0;
  /* spec: rfc9000#9.6.1 — the server's preferred address (of the family we use) is validated and
   * moved to after the handshake, unless --no-preferred-address */
  cc.preferred_addr_map = app_pa_map;
  cc.preferred_addr_ud = &peer;
  cc.ignore_preferred_address = no_pa;
  /* tickets need the time of day: the wall clock at cx.now == 0 */
  cc.wall_clock_base_ms = app_wall_clock_base_ms();
  uint8_t *sess = NULL;
  size_t sess_len = 0;
  vq_h3q_session_file old_file;
  memset(&old_file, 0, sizeof(old_file));
  vq_h3_settings rem_settings;
  int has_rem_settings = 0;
  if (session_file) {
    /* an absent, unreadable or invalid file just means a full handshake (the file is untrusted:
     * vq_h3q_session_file_decode bounds-checks the container and parses the settings, and
     * vq_conn_new_client decodes the session with bounds checks and refuses what is not one). The
     * format is vq_h3q_session_file_encode's (vquic/h3quic.h): the session, the server's SETTINGS,
     * and a NEW_TOKEN token with the server it came from. */
    sess = app_read_file(session_file, VQ_H3Q_SESSION_MAX, &sess_len, err, sizeof(err));
    if (sess && vq_h3q_session_file_decode(sess, sess_len, &old_file) == VQ_OK) {
      cc.session = old_file.session;
      cc.session_len = old_file.session_len;
      rem_settings = old_file.settings;
      has_rem_settings = old_file.has_settings;
      /* spec: rfc9000#8.1.3/10 — a token only to the server it came from (the URL's host:port);
       * spec: rfc9000#8.1.3/9 — then it goes in the Initial */
      if (old_file.token && old_file.origin_len == strlen(hostport) &&
          memcmp(old_file.origin, hostport, old_file.origin_len) == 0) {
        cc.token = old_file.token;
        cc.token_len = old_file.token_len;
        cc.token_version = old_file.token_version;
      }
    } else if (sess) {
      fprintf(stderr, "vq-client: --session-file %s: not a session file (ignored)\n", session_file);
      memset(&old_file, 0, sizeof(old_file));
    }
  }
  app_qtrace *qt = NULL;
  if (qlog_dir) {
    char name[64];
    snprintf(name, sizeof(name), "client-%ld", (long)getpid());
    qt = app_qtrace_open(qlog_dir, name, 0, "vq-client", verbose);
    if (!qt) {
      fprintf(stderr, "vq-client: --qlog-dir %s: %s\n", qlog_dir, strerror(errno));
      return 1;
    }
    cc.trace = &qt->t;
  }
  vq_conn *conn = NULL;
  vq_status st = vq_conn_new_client(&conn, &mem, &cc, &cx);
  if (st == VQ_ERR_TLS_SESSION_INVALID) {
    fprintf(stderr, "vq-client: --session-file %s: not a valid session (ignored)\n", session_file);
    cc.session = NULL;
    cc.session_len = 0;
    st = vq_conn_new_client(&conn, &mem, &cc, &cx);
  }
  if (st != VQ_OK) {
    free(sess);
    fprintf(stderr, "vq-client: cannot start the connection: %s\n", vq_status_reason(st));
    return 1;
  }
  vq_h3_config hc;
  vq_h3_config_default(&hc, 0);
  hc.early_unsafe = early_unsafe;
  vq_h3_callbacks cb = {0};
  cb.ud = c;
  cb.on_response = on_response;
  cb.on_data = on_data;
  cb.on_end = on_end;
  cb.on_reset = on_reset;
  cb.on_retry = on_retry;
  cb.on_writable = on_writable;
  if (vq_h3q_init(&c->q, conn, &mem, &hc, &cb) != VQ_OK) {
    fprintf(stderr, "vq-client: out of memory\n");
    return 1;
  }
  /* spec: rfc9114#7.2.4.2/6 — 0-RTT under the server's settings stored with the session */
  if (has_rem_settings && cc.session)
    vq_h3q_remember_settings(&c->q, &rem_settings);
  c->cx = &cx;
  (void)vq_conn_set_peer_addr(conn, (const uint8_t *)&peer, sizeof(peer));
  int blocked;
  /* with 0-RTT the session has started: the requests go in the first flight */
  (void)vq_h3q_process(&c->q, &cx);
  if (c->q.started)
    send_requests(c, &cx);
  app_flush(sock, conn, &cx, cur_peer(conn, &peer), &blocked);
  int closing = 0, handshake = 0, migrated = 0;
  vq_time start = cx.now;
  vq_posix_rx rx[RX_BATCH];
  while (vq_conn_get_state(conn) != VQ_CONN_CLOSED) {
    vq_posix_events ev;
    if (vq_posix_wait(loop, vq_conn_next_timeout(conn), NULL, &ev) != VQ_OK)
      break;
    cx.now = vq_posix_now();
    for (;;) {
      size_t got = 0;
      if (vq_posix_recv(sock, rx, RX_BATCH, &got) != VQ_OK || got == 0)
        break;
      for (size_t i = 0; i < got; i++) {
        /* the connection drops what comes from another address than the server's (its handshake
         * address, or its preferred address once probed: RFC 9000 §9/7, §9.6) */
        vq_addr from;
        app_addr_canon(&from, &rx[i].peer);
        (void)vq_conn_recv_from(conn, &cx, (const uint8_t *)&from, sizeof(from), rx[i].data,
                                rx[i].len, rx[i].ecn);
      }
      if (got < RX_BATCH)
        break;
      /* More is waiting: read what arrived and acknowledge it before going on. Draining the socket
       * first made one ACK the only answer to a sender's whole flight; losing it stalled a
       * congestion-limited sender until its PTO (~30 ms each time at 1 % loss). */
      (void)vq_h3q_process(&c->q, &cx);
      app_flush(sock, conn, &cx, cur_peer(conn, &peer), &blocked);
    }
    cx.now = vq_posix_now();
    if (vq_conn_next_timeout(conn) <= cx.now)
      (void)vq_conn_handle_timeout(conn, &cx);
    (void)vq_h3q_process(&c->q, &cx);
    if (c->q.started) {
      handshake = vq_conn_get_state(conn) != VQ_CONN_HANDSHAKE;
      send_requests(c, &cx);
    }
    progress(c, cx.now, 0);
    if (migrate_after && !migrated && c->total_bytes >= migrate_after) {
      /* a new socket on another local port, then the connection probes the path from it */
      vq_posix_sock *ns = NULL;
      vq_status mst = vq_posix_sock_open(&ns, &mem, &local, &pc);
      if (mst == VQ_OK) {
        mst = vq_conn_migrate(conn, &cx);
        if (mst == VQ_OK && vq_posix_loop_add(loop, ns) == VQ_OK) {
          (void)vq_posix_loop_remove(loop, sock);
          vq_posix_sock_close(sock);
          sock = ns;
          ns = NULL;
        }
        if (ns)
          vq_posix_sock_close(ns);
      }
      migrated = 1;
      char la[VQ_ADDR_STRLEN] = "";
      (void)vq_addr_format(vq_posix_sock_local(sock), la, sizeof(la));
      if (mst != VQ_OK)
        fprintf(stderr, "vq-client: migration not possible: %s\n", vq_status_reason(mst));
      else if (verbose)
        fprintf(stderr, "vq-client: migrated to %s\n", la);
    }
    if (!closing && c->done == c->n) {
      closing = 1;
      (void)vq_h3_close(c->q.h3, &cx, VQ_H3_NO_ERROR, "done");
    }
    app_flush(sock, conn, &cx, cur_peer(conn, &peer), &blocked);
    if (closing)
      break; /* the CONNECTION_CLOSE is out: a client need not wait out the closing period */
    if (c->q.closed)
      break;
  }
  progress(c, cx.now, 1);
  int rc = 0;
  int app = 0, by_peer = 0;
  const char *reason = "";
  uint64_t code = vq_conn_close_error(conn, &app, &by_peer, &reason);
  if (!closing) {
    rc = 1;
    const vq_tls *t = vq_conn_tls(conn);
    if (!handshake && t && vq_tls_alert(t) >= 0)
      fprintf(stderr, "vq-client: handshake failed: TLS alert %d%s%s\n", vq_tls_alert(t),
              *vq_tls_error_detail(t) ? ": " : "", vq_tls_error_detail(t));
    else if (!handshake && vq_conn_get_state(conn) == VQ_CONN_CLOSED && !by_peer && code == 0)
      fprintf(stderr, "vq-client: %s: no answer after %llu ms (timeout; is a server there?)\n",
              hostport, (unsigned long long)((cx.now - start) / 1000000u));
    else
      fprintf(stderr, "vq-client: connection closed %s with %s 0x%llx%s%s\n",
              by_peer ? "by the server" : "locally", app ? "application error" : "transport error",
              (unsigned long long)code, reason && *reason ? ": " : "", reason ? reason : "");
  }
  int incomplete = 0, bad_status = 0;
  for (int i = 0; i < c->n; i++) {
    creq *r = &c->req[i];
    if (!r->done || r->failed) {
      if (closing && incomplete++ < 10)
        fprintf(stderr, "vq-client: %s: incomplete\n", r->u->url);
      rc = 1;
    } else if (r->status < 200 || r->status > 299) {
      if (bad_status++ < 10)
        fprintf(stderr, "vq-client: %s: HTTP %d\n", r->u->url, r->status);
      rc = 1;
    }
    if (tf && r->sent)
      fprintf(tf, "%s %llu %lld %d %llu\n", r->u->url,
              (unsigned long long)((r->start - c->req[0].start) / 1000u),
              r->done ? (long long)((r->end - r->start) / 1000u) : -1LL, r->status,
              (unsigned long long)r->bytes);
  }
  if (incomplete > 10 || bad_status > 10)
    fprintf(stderr, "vq-client: %d requests incomplete, %d with a status other than 2xx\n", incomplete,
            bad_status);
  for (int i = 0; i < c->nurl; i++)
    if (c->url[i].close_out && c->url[i].out)
      fclose(c->url[i].out);
  if (tf && fclose(tf) != 0) {
    fprintf(stderr, "vq-client: --timings %s: %s\n", timings, strerror(errno));
    rc = 1;
  }
  int token_stored = 0;
  if (session_file) {
    static uint8_t blob[VQ_TLS_SESSION_MAX], tok[VQ_CONN_TOKEN_MAX], file[VQ_H3Q_SESSION_MAX];
    size_t blen = 0, tlen = 0, flen = 0;
    vq_h3_stats hs;
    vq_h3_get_stats(c->q.h3, &hs);
    vq_h3q_session_file nf;
    memset(&nf, 0, sizeof(nf));
    /* spec: rfc9114#7.2.4.2/5 — the server's settings of this connection are stored with its
     * session (none when they never came); without a new session the stored one stays */
    if (vq_conn_session_get(conn, blob, sizeof(blob), &blen) == VQ_OK && blen > 0) {
      nf.session = blob;
      nf.session_len = blen;
      if (hs.peer_settings) {
        nf.settings = *vq_h3_peer_settings(c->q.h3);
        nf.has_settings = 1;
      }
    } else if (old_file.session) {
      nf.session = old_file.session;
      nf.session_len = old_file.session_len;
      nf.settings = old_file.settings;
      nf.has_settings = old_file.has_settings;
    }
    /* spec: rfc9000#8.1.3/13 — a token is used once: the one this connection used is not written
     * back, only the newest this connection received, for this server (rfc9000#8.1.3/10) */
    if (vq_conn_new_token_get(conn, tok, sizeof(tok), &tlen) == VQ_OK && tlen > 0 &&
        strlen(hostport) <= VQ_H3Q_ORIGIN_MAX) {
      nf.token = tok;
      nf.token_len = tlen;
      /* spec: rfc9369#5/1 — kept with the QUIC version it belongs to (the negotiated one) */
      nf.token_version = vq_conn_version(conn);
      nf.origin = (const uint8_t *)hostport;
      nf.origin_len = strlen(hostport);
      token_stored = 1;
    }
    if ((nf.session || nf.token || old_file.token) &&
        vq_h3q_session_file_encode(&nf, file, sizeof(file), &flen) == VQ_OK &&
        app_write_file_private(session_file, file, flen, err, sizeof(err)) != 0)
      fprintf(stderr, "vq-client: --session-file: %s\n", err);
  }
  free(sess);
  if (stats) {
    static const char *const early_s[] = {"not offered", "offered", "accepted", "rejected"};
    static const char *const pa_s[] = {"none", "probing", "moved", "failed"};
    fprintf(stderr, "stats: session %s, 0-RTT %s, preferred address %s\n",
            vq_conn_resumed(conn) ? "resumed" : "not resumed",
            early_s[vq_conn_early_data(conn) & 3], pa_s[vq_conn_preferred_state(conn) & 3]);
    vq_h3_stats hs;
    vq_h3_get_stats(c->q.h3, &hs);
    fprintf(stderr, "stats: h3 settings %s, qpack inserts sent %llu, closed %s (0x%llx)\n",
            hs.remembered_settings ? "remembered" : "not remembered",
            (unsigned long long)hs.qpack_inserts_tx, hs.closed ? "by the session" : "no",
            (unsigned long long)hs.close_code);
    fprintf(stderr, "stats: early data: requests sent in 0-RTT %llu, sent again after 425 %llu\n",
            (unsigned long long)hs.early_requests, (unsigned long long)hs.early_retried);
    vq_conn_stats s;
    vq_conn_get_stats(conn, &s);
    fprintf(stderr, "stats: address validation: Retry %s, token %s, new tokens received %llu%s\n",
            s.retry_received ? "received" : "none", s.token_sent ? "sent" : "not sent",
            (unsigned long long)s.new_tokens_recv, token_stored ? " (stored)" : "");
    fprintf(stderr,
            "stats: datagram size %llu (DPLPMTUD probes sent %llu acked %llu lost %llu, black holes "
            "%llu), largest datagram received %llu\n",
            (unsigned long long)s.max_udp_payload, (unsigned long long)s.pmtu_probes_sent,
            (unsigned long long)s.pmtu_probes_acked, (unsigned long long)s.pmtu_probes_lost,
            (unsigned long long)s.pmtu_black_holes, (unsigned long long)s.max_datagram_recv);
    fprintf(stderr,
            "stats: rtt %.3f ms (min %.3f), cwnd %llu, packets sent %llu recv %llu lost %llu, "
            "bytes sent %llu recv %llu, stream bytes recv %llu, key updates %llu+%llu, %.3f s, ecn %s (recv ect0 %llu ce %llu)\n",
            (double)s.srtt / 1e6, (double)s.min_rtt / 1e6, (unsigned long long)s.cwnd,
            (unsigned long long)s.pkts_sent, (unsigned long long)s.pkts_recv,
            (unsigned long long)s.pkts_lost, (unsigned long long)s.bytes_sent,
            (unsigned long long)s.bytes_recv, (unsigned long long)s.stream_bytes_recv,
            (unsigned long long)s.key_updates_initiated, (unsigned long long)s.key_updates_answered,
            (double)(cx.now - start) / 1e9, ecn_name(s.ecn_state),
            (unsigned long long)s.ecn_recv[VQ_ECN_ECT0], (unsigned long long)s.ecn_recv[VQ_ECN_CE]);
  }
  vq_h3q_free(&c->q);
  vq_conn_free(conn, NULL);
  app_qtrace_free(qt);
  vq_posix_loop_close(loop);
  vq_posix_sock_close(sock);
  vq_tls_ctx_free(tls);
  if (kf)
    fclose(kf);
  free(c->req);
  free(data);
  return rc;
}
