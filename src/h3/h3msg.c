/* vquic — HTTP/3 message validation (RFC 9114 §4.2, §4.3, §4.4, §10.3; RFC 9220 §3): the checks a
 * received header or trailer section passes before the application sees it, also applied to what the
 * application asks us to send. */
#include "vquic/h3conn.h"

#include <string.h>

static int str_is(const uint8_t *p, size_t n, const char *lit)
{
  const size_t l = strlen(lit);
  return n == l && memcmp(p, lit, l) == 0;
}

/* RFC 9110 §5.6.2 tchar, without the uppercase letters (RFC 9114 §4.2). */
static int is_tchar_lower(uint8_t c)
{
  if (c >= 'a' && c <= 'z') return 1;
  if (c >= '0' && c <= '9') return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9110 §5.6.2 tchar, uppercase letters included (a method is a case-sensitive token). */
static int token_ok(const uint8_t *p, size_t n)
{
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_tchar_lower(p[i]) && !(p[i] >= 'A' && p[i] <= 'Z')) return 0;
  return 1;
}

/* spec: rfc9114#4.2/2, rfc9114#10.3/1 — field names are non-empty tokens in lowercase; uppercase or any
 * other character makes the message malformed. (A pseudo-header name is ':' then such a token.) */
static int name_ok(const uint8_t *p, size_t n)
{
  size_t i = 0;
  if (n > 0 && p[0] == ':') i = 1;
  if (n <= i) return 0;
  for (; i < n; i++)
    if (!is_tchar_lower(p[i])) return 0;
  return 1;
}

/* spec: rfc9114#10.3/2 — a field value containing NUL, CR or LF is malformed. */
static int value_ok(const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] == 0 || p[i] == '\r' || p[i] == '\n') return 0;
  return 1;
}

/* spec: rfc9114#4.2/3 — connection-specific fields make a message malformed.
 * spec: rfc9114#4.1/7 — Transfer-Encoding among them: never sent (vq_h3_request and vq_h3_respond
 * validate what they send) and refused on receipt. */
static int connection_specific(const uint8_t *p, size_t n)
{
  static const char *const names[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                      "upgrade"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (str_is(p, n, names[i])) return 1;
  return 0;
}

/* A content-length value: digits only (a list of equal values is not accepted); -1 otherwise. */
static int64_t parse_length(const uint8_t *p, size_t n)
{
  if (n == 0 || n > 18) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

static int set_once(vq_h3_str *s, const vq_h3_field *f)
{
  if (s->p) return 0; /* spec: rfc9114#4.3.1/6 — exactly one value */
  s->p = f->value_len ? f->value : (const uint8_t *)"";
  s->len = f->value_len;
  return 1;
}

vq_status vq_h3_validate(const vq_h3_field *f, size_t n, vq_h3_section_kind kind, int connect_protocol,
                         vq_h3_head *head)
{
  vq_h3_head h;
  memset(&h, 0, sizeof h);
  h.content_length = -1;
  vq_h3_str status = {NULL, 0};
  size_t i = 0;
  /* spec: rfc9114#4.3/5, rfc9114#4.3/6 — pseudo-header fields come first; one after a regular field is
   * malformed (the loop below sees it as a regular field starting with ':'). */
  for (; i < n && f[i].name_len > 0 && f[i].name[0] == ':'; i++) {
    const vq_h3_field *x = &f[i];
    if (!value_ok(x->value, x->value_len)) return VQ_ERR_H3_MESSAGE;
    int ok = 0;
    /* spec: rfc9114#4.3/2, rfc9114#4.3/3, rfc9114#4.3/4 — only the pseudo-header fields defined for the
     * kind: request ones in requests, :status in responses, none in trailers. */
    if (kind == VQ_H3_SECTION_REQUEST) {
      if (str_is(x->name, x->name_len, ":method")) ok = set_once(&h.method, x);
      else if (str_is(x->name, x->name_len, ":scheme")) ok = set_once(&h.scheme, x);
      else if (str_is(x->name, x->name_len, ":authority")) ok = set_once(&h.authority, x);
      else if (str_is(x->name, x->name_len, ":path")) ok = set_once(&h.path, x);
      else if (str_is(x->name, x->name_len, ":protocol")) ok = set_once(&h.protocol, x);
    } else if (kind == VQ_H3_SECTION_RESPONSE) {
      if (str_is(x->name, x->name_len, ":status")) ok = set_once(&status, x);
    }
    if (!ok) return VQ_ERR_H3_MESSAGE;
  }
  h.fields = f + i;
  h.nfields = n - i;
  vq_h3_str host = {NULL, 0};
  for (; i < n; i++) {
    const vq_h3_field *x = &f[i];
    if (!name_ok(x->name, x->name_len) || x->name[0] == ':') return VQ_ERR_H3_MESSAGE;
    if (!value_ok(x->value, x->value_len)) return VQ_ERR_H3_MESSAGE;
    if (connection_specific(x->name, x->name_len)) return VQ_ERR_H3_MESSAGE;
    /* spec: rfc9114#4.2/4 — TE may appear in a request, and then only with the value "trailers". */
    if (str_is(x->name, x->name_len, "te")) {
      if (kind != VQ_H3_SECTION_REQUEST || !str_is(x->value, x->value_len, "trailers"))
        return VQ_ERR_H3_MESSAGE;
    }
    if (str_is(x->name, x->name_len, "content-length") && kind != VQ_H3_SECTION_TRAILERS) {
      const int64_t v = parse_length(x->value, x->value_len);
      if (v < 0 || (h.content_length >= 0 && v != h.content_length)) return VQ_ERR_H3_MESSAGE;
      h.content_length = v;
    }
    if (str_is(x->name, x->name_len, "host")) {
      /* spec: rfc9114#4.3.1/9 — Host lines that disagree name no single authority: malformed. */
      if (host.p && (host.len != x->value_len || memcmp(host.p, x->value, host.len) != 0))
        return VQ_ERR_H3_MESSAGE;
      host.p = x->value_len ? x->value : (const uint8_t *)"";
      host.len = x->value_len;
    }
  }
  if (kind == VQ_H3_SECTION_RESPONSE) {
    /* spec: rfc9114#4.3.2/1 — :status in every response: three digits. 101 (Switching Protocols) has
     * no meaning in HTTP/3 (rfc9114#4.5). */
    if (!status.p || status.len != 3) return VQ_ERR_H3_MESSAGE;
    int s = 0;
    for (size_t k = 0; k < 3; k++) {
      if (status.p[k] < '0' || status.p[k] > '9') return VQ_ERR_H3_MESSAGE;
      s = s * 10 + (status.p[k] - '0');
    }
    if (s < 100 || s > 599 || s == 101) return VQ_ERR_H3_MESSAGE;
    h.status = s;
  } else if (kind == VQ_H3_SECTION_REQUEST) {
    /* spec: rfc9114#4.3.1/6 — :method present, and a valid value (a token, RFC 9110 §9.1): a request
     * with an invalid value for a pseudo-header field is malformed (RFC 9114 §4.3.1). */
    if (!h.method.p || !token_ok(h.method.p, h.method.len)) return VQ_ERR_H3_MESSAGE;
    const int connect = str_is(h.method.p, h.method.len, "CONNECT");
    if (h.protocol.p) {
      /* RFC 9220 §3, §4: :protocol only on a CONNECT request, only once the server sent
       * SETTINGS_ENABLE_CONNECT_PROTOCOL = 1; such a request carries :scheme, :path and :authority. */
      if (!connect_protocol || !connect || h.protocol.len == 0) return VQ_ERR_H3_MESSAGE;
      if (!h.scheme.p || !h.path.p || !h.authority.p || h.path.len == 0 || h.authority.len == 0)
        return VQ_ERR_H3_MESSAGE;
      if (host.p && (h.authority.len != host.len || memcmp(h.authority.p, host.p, host.len) != 0))
        return VQ_ERR_H3_MESSAGE;
    } else if (connect) {
      /* spec: rfc9114#4.4/1 — CONNECT: :scheme and :path omitted, :authority holds host and port. */
      if (h.scheme.p || h.path.p || !h.authority.p || h.authority.len == 0) return VQ_ERR_H3_MESSAGE;
      /* spec: rfc9114#4.3.1/9 — a Host line, if any, names the same authority. */
      if (host.p && (h.authority.len != host.len || memcmp(h.authority.p, host.p, host.len) != 0))
        return VQ_ERR_H3_MESSAGE;
    } else {
      /* spec: rfc9114#4.3.1/6 — :method, :scheme and :path exactly once (duplicates refused above). */
      if (!h.scheme.p || !h.path.p) return VQ_ERR_H3_MESSAGE;
      const int http = str_is(h.scheme.p, h.scheme.len, "http") || str_is(h.scheme.p, h.scheme.len, "https");
      /* spec: rfc9114#4.3.1/5 — :path not empty for http and https: "/" or an absolute path (and
       * query), or "*" for an OPTIONS request without a path (RFC 9110 §7.1). */
      if (http && h.path.len == 0) return VQ_ERR_H3_MESSAGE;
      if (http && h.path.p[0] != '/' &&
          !(str_is(h.path.p, h.path.len, "*") && str_is(h.method.p, h.method.len, "OPTIONS")))
        return VQ_ERR_H3_MESSAGE;
      if (!http) {
        /* Another scheme (RFC 9114 §3.1.2): the authority may be omitted (rfc9114#4.3.1/10 cannot be
         * checked: the request target is not known here); spec: rfc9114#4.3.1/9 — when :authority and
         * Host are both present they are the same. */
        if (h.authority.p && host.p &&
            (h.authority.len != host.len || memcmp(h.authority.p, host.p, host.len) != 0))
          return VQ_ERR_H3_MESSAGE;
      }
      if (http) {
        /* spec: rfc9114#4.3.1/7, rfc9114#4.3.1/8, rfc9114#4.3.1/9 — an authority in :authority or
         * Host, not empty, the same when both are present. */
        if (!h.authority.p && !host.p) return VQ_ERR_H3_MESSAGE;
        if ((h.authority.p && h.authority.len == 0) || (host.p && host.len == 0)) return VQ_ERR_H3_MESSAGE;
        if (h.authority.p && host.p &&
            (h.authority.len != host.len || memcmp(h.authority.p, host.p, host.len) != 0))
          return VQ_ERR_H3_MESSAGE;
        /* spec: rfc9114#4.3.1/1 — no userinfo in the authority of http and https URIs. */
        if (h.authority.p && memchr(h.authority.p, '@', h.authority.len)) return VQ_ERR_H3_MESSAGE;
      }
    }
  }
  if (head) *head = h;
  return VQ_OK;
}
