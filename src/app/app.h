/* vquic programs — what vq-server and vq-client share: reading files, the key log, the driver's
 * send path. The programs are the only place with real I/O (DESIGN.md: drivers and programs). */
#ifndef VQ_APP_H
#define VQ_APP_H

#include <stdio.h>

#include "vquic/conn.h"
#include "vquic/posix.h"

/* Reads a whole file (at most max bytes) into a malloc'd buffer; NULL with a message in err. */
uint8_t *app_read_file(const char *path, size_t max, size_t *len, char *err, size_t errcap);

/* SSLKEYLOGFILE sink for vq_tls_ctx_config.keylog: ud is a FILE *. */
void app_keylog(void *ud, const char *line);

/* Sends every datagram the connection has now to peer; returns the datagrams sent. A full socket
 * buffer stops early (the loop retries when writable). */
size_t app_flush(vq_posix_sock *sock, vq_conn *c, const vq_cx *cx, const vq_addr *peer, int *blocked);
/* The same for a server with a preferred address: the datagrams the connection sends from there
 * (vq_conn_send_path_from's from) leave from sock2. */
size_t app_flush_from(vq_posix_sock *sock, vq_posix_sock *sock2, vq_conn *c, const vq_cx *cx,
                      const vq_addr *peer, int *blocked);

/* A comma-separated ALPN list in wire form; 0, or -1 for an empty name, a name over 255 bytes, an
 * empty list, or more than cap bytes. */
int app_build_alpn(const char *list, uint8_t *out, size_t cap, size_t *len);
/* "v2,v1" (v1, v2, or 0x-prefixed hex) into out[0..cap), 0-terminated when shorter; -1 for an empty
 * or bad list, an unknown version, a repeat, or more than cap versions. */
int app_parse_versions(const char *list, uint32_t *out, size_t cap);

/* The wall clock (ms since 1970) at vq_posix_now() == 0, for vq_conn_config.wall_clock_base_ms. */
uint64_t app_wall_clock_base_ms(void);

/* Writes data to path atomically (a temporary file renamed over it), readable by its owner only
 * (mode 0600: session files hold a secret). 0, or -1 with a message in err. */
int app_write_file_private(const char *path, const uint8_t *data, size_t len, char *err, size_t errcap);

/* The server's preferred address (RFC 9000 §9.6) in the programs' address format (a vq_addr, its
 * bytes): vq_conn_config.preferred_addr_map with ud the server's handshake address (const vq_addr *,
 * whose family is used). app_pa_fill: the transport parameter's addresses from a (server): 0, or -1
 * for an address of another family. app_addr_canon: a copy whose unused bytes are zero (the
 * connections compare addresses byte for byte). */
struct vq_tp_preferred_address;
int app_pa_map(void *ud, const struct vq_tp_preferred_address *pa, uint8_t *addr, size_t *len);
int app_pa_fill(struct vq_tp_preferred_address *pa, const vq_addr *a);
void app_addr_canon(vq_addr *out, const vq_addr *in);

/* A trace sink printing to stderr when verbose. */
void app_trace(void *ud, vq_time now, const char *event, const char *detail);
/* vq_rng.fill for the programs: libcrypto's RAND_bytes (0 on success). */
int app_crypto_fill(void *ud, uint8_t *out, size_t len);

#endif
