/* vquic — runtime primitives shared by every layer (DESIGN.md principles 1, 2 and 5).
 *
 * vq_cx: what an operation may know of the world. Nothing below the drivers reads a clock, draws
 * randomness or checks for cancellation on its own: the caller hands a vq_cx to every externally visible
 * operation, which checks it first (vq_cx_checkpoint) and changes nothing when it says no.
 *
 * vq_mem: an allocator with a byte budget. Budgets nest (connection inside endpoint): an allocation is
 * charged to its budget and to every parent, and fails when any would go over. The system allocator
 * (or any other) is injected at the root; nothing in vquic calls malloc directly. */
#ifndef VQUIC_RT_H
#define VQUIC_RT_H

#include <stddef.h>
#include <stdint.h>
#include "vquic/error.h"

/* Monotonic time in nanoseconds since an arbitrary epoch chosen by the driver. */
typedef uint64_t vq_time;
#define VQ_TIME_NEVER UINT64_MAX
#define VQ_MS(x) ((vq_time)(x) * 1000000u)
#define VQ_US(x) ((vq_time)(x) * 1000u)

/* A seedable PRNG (xoshiro256**); the lab seeds it from the scenario seed, so a lab run is
 * reproducible. xoshiro is predictable from its output, so a driver facing a real network sets fill:
 * vq_rng_fill (connection IDs, PATH_CHALLENGE data, a client's stateless reset key, token nonces)
 * then takes its bytes from it, a CSPRNG such as libcrypto's RAND_bytes (returns 0 on success; on
 * failure the xoshiro stream is used). vq_rng_next / vq_rng_below (jitter, grease, padding sizes)
 * stay on xoshiro. TLS secrets always come from RAND_bytes. */
typedef struct vq_rng {
  uint64_t s[4];
  int (*fill)(void *ud, uint8_t *out, size_t len);
  void *fill_ud;
} vq_rng;
/* Seeds the xoshiro state and clears fill (set fill after seeding). */
void vq_rng_seed(vq_rng *r, uint64_t seed);
uint64_t vq_rng_next(vq_rng *r);
/* Uniform in [0, bound) without modulo bias; bound 0 gives 0. */
uint64_t vq_rng_below(vq_rng *r, uint64_t bound);
void vq_rng_fill(vq_rng *r, uint8_t *out, size_t len);

/* A cancellation token: the owner of an operation sets it; the operation sees it at its next
 * checkpoint. Tokens chain: a token is cancelled when it or any parent is. */
typedef struct vq_cancel {
  const struct vq_cancel *parent;
  int cancelled;
} vq_cancel;
void vq_cancel_init(vq_cancel *c, const vq_cancel *parent);
void vq_cancel_set(vq_cancel *c);
int vq_cancel_is_set(const vq_cancel *c);

/* Trace sink: structured events ("packet_sent", ...) with a formatted detail line. */
typedef struct vq_trace {
  void (*emit)(void *ud, vq_time now, const char *event, const char *detail);
  void *ud;
} vq_trace;

typedef struct vq_cx {
  vq_time now;              /* the current time, as the driver read it */
  const vq_cancel *cancel;  /* NULL: cannot be cancelled */
  uint64_t *budget;         /* units of work left (packets, frames ...); NULL: unlimited */
  vq_rng *rng;              /* NULL only for operations that draw nothing */
  const vq_trace *trace;    /* NULL: no tracing */
} vq_cx;

/* The checkpoint every externally visible operation makes before it changes state:
 * VQ_ECANCELED when the token is set, VQ_ERR_BUDGET when the work budget is spent, VQ_OK otherwise. */
vq_status vq_cx_checkpoint(const vq_cx *cx);
/* Charges n units of work; VQ_ERR_BUDGET (nothing charged) when fewer are left. */
vq_status vq_cx_charge(const vq_cx *cx, uint64_t n);
/* Emits a trace event when the cx has a sink (printf-style detail). */
void vq_cx_trace(const vq_cx *cx, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The injected allocator. */
typedef struct vq_allocator {
  void *(*alloc)(void *ud, size_t size);
  void (*free)(void *ud, void *p, size_t size);
  void *ud;
} vq_allocator;
/* The C library's allocator, for drivers and programs (never used implicitly by the library). */
const vq_allocator *vq_allocator_system(void);

/* A memory budget, possibly nested in a parent budget. */
typedef struct vq_mem {
  const vq_allocator *a;    /* root allocator (inherited from the parent when NULL) */
  struct vq_mem *parent;
  size_t limit;             /* bytes this budget may hold at once */
  size_t used;              /* bytes held now */
  size_t peak;              /* the most it ever held */
  uint64_t failures;        /* allocations refused for budget */
} vq_mem;
void vq_mem_init(vq_mem *m, const vq_allocator *a, vq_mem *parent, size_t limit);
/* Allocates size bytes charged to m and its parents; NULL (and nothing charged) when any budget would
 * be exceeded or the allocator fails. size 0 returns NULL. */
void *vq_mem_alloc(vq_mem *m, size_t size);
/* Zeroed allocation. */
void *vq_mem_calloc(vq_mem *m, size_t n, size_t size);
/* Frees p of the size it was allocated with; NULL is ignored. */
void vq_mem_free(vq_mem *m, void *p, size_t size);

#endif
