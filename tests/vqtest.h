/* vquic — the test framework. A test is `VQ_TEST(name) { ... }` in any tests/test_*.c; the Makefile
 * collects them (grep VQ_TEST) into the runner, so adding a test never touches a shared list.
 * A test fails if any CHECK in it fails; the runner prints one line per failure and ends with
 * `N passed, N failed`. Run: build/bin/vq-test [substring-filter], from the repository root. */
#ifndef VQTEST_H
#define VQTEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct vq_t {
  const char *name;
  int failed;
  unsigned long checks;
} vq_t;

#define VQ_TEST(name) void name(vq_t *t); void name(vq_t *t)

void vq_fail(vq_t *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK(c)                                                               \
  do {                                                                         \
    t->checks++;                                                               \
    if (!(c)) vq_fail(t, __FILE__, __LINE__, "CHECK(%s)", #c);                 \
  } while (0)

#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
    t->checks++;                                                               \
    if (a_ != b_)                                                              \
      vq_fail(t, __FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b, a_, b_); \
  } while (0)

#define CHECK_MEM(a, alen, b, blen)                                            \
  do {                                                                         \
    size_t al_ = (alen), bl_ = (blen);                                         \
    t->checks++;                                                               \
    if (al_ != bl_ || (al_ && memcmp((a), (b), al_) != 0))                     \
      vq_fail_mem(t, __FILE__, __LINE__, #a, (const uint8_t *)(a), al_,        \
                  (const uint8_t *)(b), bl_);                                  \
  } while (0)

void vq_fail_mem(vq_t *t, const char *file, int line, const char *what, const uint8_t *a,
                 size_t alen, const uint8_t *b, size_t blen);

/* Helpers for spec-derived data (spec/vectors/). */
/* Parses hex (whitespace ignored) into out; returns the byte count or -1. */
long vq_hex(const char *hex, uint8_t *out, size_t cap);
/* Reads a whole file relative to the repository root; caller frees. NULL if absent. */
char *vq_read_file(const char *path, size_t *len);
/* Looks up `key = value` (or `key: value`) in a vectors file's text; copies value into out. */
int vq_vector_get(const char *text, const char *key, char *out, size_t cap);

/* Deterministic PRNG for seeded property tests (xorshift64*). */
static inline uint64_t vq_rand(uint64_t *s)
{
  uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

#endif
