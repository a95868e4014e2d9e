/* vquic — qlog records (draft-ietf-quic-qlog-main-schema, JSON-SEQ): see vquic/qlog.h. Formats into
 * caller buffers; writing them anywhere is the driver's business (sans-I/O). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vquic/qlog.h"

#define RS "\x1e"

typedef struct vq_sb {
  char *p;
  size_t cap, len; /* len may pass cap: the record is then too long and nothing is returned */
} vq_sb;

static void vq_sbf(vq_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vq_sbf(vq_sb *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->len < b->cap ? b->p + b->len : NULL, b->len < b->cap ? b->cap - b->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0)
    b->len += (size_t)n;
}

static void vq_sbc(int c, vq_sb *b)
{
  if (b->len + 1 < b->cap)
    b->p[b->len] = (char)c;
  b->len++;
}

static void json_str(vq_sb *f, const char *s, size_t n)
{
  vq_sbc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      vq_sbf(f, "\\%c", c);
    else if (c < 0x20)
      vq_sbf(f, "\\u%04x", c);
    else
      vq_sbc(c, f);
  }
  vq_sbc('"', f);
}

/* One "key=value" of the detail line: key in *k and *kl, value in *v and *vl; returns the rest or NULL at the end. Values
 * run to the next " key=" (so a reason with spaces stays whole when it is last). */
static const char *next_kv(const char *p, const char **k, size_t *kl, const char **v, size_t *vl)
{
  while (*p == ' ')
    p++;
  if (!*p)
    return NULL;
  const char *eq = strchr(p, '=');
  const char *sp = strchr(p, ' ');
  if (!eq || (sp && sp < eq)) { /* a bare word */
    *k = "text";
    *kl = 4;
    *v = p;
    *vl = sp ? (size_t)(sp - p) : strlen(p);
    return p + *vl;
  }
  *k = p;
  *kl = (size_t)(eq - p);
  *v = eq + 1;
  const char *e = *v;
  for (;;) {
    const char *s = strchr(e, ' ');
    if (!s) {
      e += strlen(e);
      break;
    }
    const char *t = s + 1;
    while (*t && (isalnum((unsigned char)*t) || *t == '_'))
      t++;
    if (*t == '=' && t > s + 1) {
      e = s;
      break;
    }
    e = s + 1;
  }
  *vl = (size_t)(e - *v);
  return e;
}

static int is_number(const char *v, size_t n)
{
  if (n == 0 || n > 19)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)v[i]))
      return 0;
  return 1;
}

static const char *space_name(const char *v, size_t n)
{
  if (n == 1 && v[0] == '0')
    return "initial";
  if (n == 1 && v[0] == '1')
    return "handshake";
  if (n == 1 && v[0] == '2')
    return "1RTT";
  return "unknown";
}

static void field(vq_sb *f, int *first, const char *k, size_t kl, const char *v, size_t vl)
{
  vq_sbf(f, "%s", *first ? "" : ",");
  *first = 0;
  json_str(f, k, kl);
  vq_sbc(':', f);
  if (is_number(v, vl))
    vq_sbf(f, "%.*s", (int)vl, v);
  else
    json_str(f, v, vl);
}

/* transport:packet_sent / packet_received: {"header":{"packet_type","packet_number"},"raw":{"length"}} */
static void packet_event(vq_sb *f, const char *detail)
{
  const char *k, *v, *p = detail;
  size_t kl, vl;
  const char *type = "unknown", *pn = "0", *len = "0";
  size_t pnl = 1, lenl = 1;
  int first = 1;
  vq_sbf(f, "{");
  while ((p = next_kv(p, &k, &kl, &v, &vl))) {
    if (kl == 5 && !memcmp(k, "space", 5))
      type = space_name(v, vl);
    else if (kl == 2 && !memcmp(k, "pn", 2)) {
      pn = v;
      pnl = vl;
    } else if (kl == 4 && !memcmp(k, "size", 4)) {
      len = v;
      lenl = vl;
    } else {
      field(f, &first, k, kl, v, vl);
    }
  }
  vq_sbf(f, "%s\"header\":{\"packet_type\":\"%s\",\"packet_number\":%.*s},\"raw\":{\"length\":%.*s}}",
          first ? "" : ",", type, (int)pnl, pn, (int)lenl, len);
}

static void generic(vq_sb *f, const char *detail)
{
  const char *k, *v, *p = detail;
  size_t kl, vl;
  int first = 1;
  vq_sbf(f, "{");
  while ((p = next_kv(p, &k, &kl, &v, &vl)))
    field(f, &first, k, kl, v, vl);
  vq_sbf(f, "}");
}


size_t vq_qlog_header(char *out, size_t cap, int is_server, const char *title)
{
  vq_sb b = {out, cap, 0};
  vq_sbf(&b, RS "{\"qlog_version\":\"0.3\",\"qlog_format\":\"JSON-SEQ\",\"title\":");
  json_str(&b, title, strlen(title));
  vq_sbf(&b, ",\"trace\":{\"vantage_point\":{\"name\":\"vquic\",\"type\":\"%s\"},"
             "\"common_fields\":{\"time_format\":\"relative\",\"reference_time\":0,"
             "\"protocol_type\":[\"QUIC\",\"HTTP3\"]}}}\n",
         is_server ? "server" : "client");
  return b.len < cap ? b.len : 0;
}

size_t vq_qlog_event(char *out, size_t cap, vq_time rel, const char *event, const char *detail)
{
  static const struct {
    const char *ours, *qlog;
  } names[] = {{"packet_sent", "transport:packet_sent"},
               {"packet_received", "transport:packet_received"},
               {"key_updated", "security:key_updated"},
               {"key_discarded", "security:key_discarded"},
               {"pto", "recovery:loss_timer_updated"},
               {"ecn_state_updated", "recovery:ecn_state_updated"},
               {"handshake_complete", "connectivity:connection_state_updated"},
               {"connection_closed", "connectivity:connection_closed"}};
  vq_sb b = {out, cap, 0};
  const char *name = NULL;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(event, names[i].ours) == 0)
      name = names[i].qlog;
  vq_sbf(&b, RS "{\"time\":%llu.%03llu,\"name\":", (unsigned long long)(rel / 1000000u),
         (unsigned long long)(rel % 1000000u / 1000u));
  if (name) {
    json_str(&b, name, strlen(name));
  } else {
    vq_sbf(&b, "\"vquic:");
    vq_sb tmp = b;
    json_str(&tmp, event, strlen(event)); /* escaped, then the quotes are trimmed below */
    size_t n = tmp.len - b.len;
    if (tmp.len < cap && n >= 2) {
      memmove(b.p + b.len, b.p + b.len + 1, n - 2);
      b.len += n - 2;
    } else {
      b.len = tmp.len;
    }
    vq_sbc('"', &b);
  }
  vq_sbf(&b, ",\"data\":");
  if (!strcmp(event, "packet_sent") || !strcmp(event, "packet_received"))
    packet_event(&b, detail);
  else if (!strcmp(event, "handshake_complete"))
    vq_sbf(&b, "{\"new\":\"handshake_complete\"}");
  else if (!strcmp(event, "pto")) {
    vq_sbf(&b, "{\"event_type\":\"expired\",\"timer_type\":\"pto\",\"detail\":");
    json_str(&b, detail, strlen(detail));
    vq_sbf(&b, "}");
  } else
    generic(&b, detail);
  vq_sbf(&b, "}\n");
  return b.len < cap ? b.len : 0;
}
