/* vquic — the ACSL library shared by every proved module: logic functions for the wire encodings and
 * the predicates the contracts reuse. Pure logic; compiles to nothing. */
#ifndef VQ_ACSL_H
#define VQ_ACSL_H

/*@
  // RFC 9000 §16: shortest varint encoding length of v (v <= 2^62-1).
  logic integer vq_varint_size(integer v) =
    v < 64 ? 1 : v < 16384 ? 2 : v < 1073741824 ? 4 : 8;

  // Length announced by a varint's first byte (its two most significant bits).
  logic integer vq_varint_size_of(integer b0) =
    b0 < 64 ? 1 : b0 < 128 ? 2 : b0 < 192 ? 4 : 8;

  // The value of the n-byte varint at p (n = 1, 2, 4, 8): big-endian, the two top bits removed.
  logic integer vq_varint_value{L}(uint8_t *p, integer n) =
    n == 1 ? p[0] % 64 :
    n == 2 ? (p[0] % 64) * 256 + p[1] :
    n == 4 ? (((p[0] % 64) * 256 + p[1]) * 256 + p[2]) * 256 + p[3] :
    (((((((p[0] % 64) * 256 + p[1]) * 256 + p[2]) * 256 + p[3]) * 256 + p[4]) * 256 + p[5])
        * 256 + p[6]) * 256 + p[7];

  // Big-endian unsigned value of n bytes at p, for n <= 4 (packet numbers, fixed fields).
  logic integer vq_be_value{L}(uint8_t *p, integer n) =
    n == 1 ? p[0] :
    n == 2 ? p[0] * 256 + p[1] :
    n == 3 ? (p[0] * 256 + p[1]) * 256 + p[2] :
    ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3];

  predicate vq_readable{L}(uint8_t *p, integer n) = n > 0 ==> \valid_read(p + (0 .. n - 1));
  predicate vq_writable{L}(uint8_t *p, integer n) = n > 0 ==> \valid(p + (0 .. n - 1));
*/

#endif
