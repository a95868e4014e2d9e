/* Eva entry point for src/core/tp.c: the decoder on buffers of unknown contents and every length from
 * 0 to past the largest preferred_address, for both sender roles; the encoder on parameter sets whose
 * every field, present flag, connection ID length, version list and unknown entry is unknown, into
 * buffers of every capacity class (0, too small, large enough); and the small public accessors. */
#include "__fc_builtin.h"
#include "vquic/tp.h"
#include "vquic/varint.h"

#define IN_MAX (VQ_TP_MAX_LEN + 1)
#define OUT_MAX (VQ_TP_MAX_LEN + 1)

static void eva_decode(void)
{
  /* Every length up to one past VQ_TP_MAX_LEN (rejected). The array is twice that: Eva is not
   * relational, so it bounds a read at off + n by max(off) + max(n); the contracts (and WP) keep every
   * access within buf[0 .. len). */
  static uint8_t in[2 * IN_MAX + 16];
  vq_tp tp;
  Frama_C_make_unknown((char *)in, sizeof in);
  size_t len = Frama_C_size_t_interval(0, IN_MAX);
  vq_tp_role role = Frama_C_nondet(0, 1) ? VQ_TP_CLIENT : VQ_TP_SERVER;
  (void)vq_tp_decode(in, len, role, &tp);
  (void)vq_tp_has(&tp, Frama_C_unsigned_long_long_interval(0, UINT64_MAX));
  (void)vq_tp_set_present(&tp, Frama_C_unsigned_long_long_interval(0, UINT64_MAX), Frama_C_nondet(0, 1));
}

static void eva_encode(void)
{
  static uint8_t pool[64];
  static uint8_t out[2 * OUT_MAX + 16]; /* spare bytes: see eva_decode */
  vq_tp tp;
  size_t used;
  Frama_C_make_unknown((char *)pool, sizeof pool);
  vq_tp_init_defaults(&tp);
  for (size_t k = 0; k < VQ_TP_KNOWN; k++) tp.present[k] = Frama_C_unsigned_char_interval(0, 1);
  tp.original_destination_connection_id.len = Frama_C_unsigned_char_interval(0, 255);
  tp.initial_source_connection_id.len = Frama_C_unsigned_char_interval(0, 255);
  tp.retry_source_connection_id.len = Frama_C_unsigned_char_interval(0, 255);
  tp.preferred_address.cid.len = Frama_C_unsigned_char_interval(0, 255);
  tp.preferred_address.ipv4_port = Frama_C_unsigned_short_interval(0, 65535);
  tp.preferred_address.ipv6_port = Frama_C_unsigned_short_interval(0, 65535);
  tp.max_idle_timeout = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.max_udp_payload_size = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.initial_max_data = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.initial_max_stream_data_bidi_local = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.initial_max_stream_data_bidi_remote = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.initial_max_stream_data_uni = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.initial_max_streams_bidi = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.initial_max_streams_uni = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.ack_delay_exponent = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.max_ack_delay = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.active_connection_id_limit = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.max_datagram_frame_size = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  tp.version_information.chosen = Frama_C_unsigned_int_interval(0, UINT32_MAX);
  tp.version_information.n_available = Frama_C_unsigned_int_interval(0, VQ_TP_MAX_VERSIONS + 1);
  for (size_t i = 0; i < VQ_TP_MAX_VERSIONS; i++)
    tp.version_information.available[i] = Frama_C_unsigned_int_interval(0, UINT32_MAX);
  for (size_t i = 0; i < VQ_TP_MAX_UNKNOWN; i++) {
    tp.unknown[i].id = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
    tp.unknown[i].len = Frama_C_size_t_interval(0, 8);
    tp.unknown[i].value = pool + Frama_C_size_t_interval(0, sizeof pool - 8);
  }
  tp.n_unknown = Frama_C_size_t_interval(0, VQ_TP_MAX_UNKNOWN + 1);
  vq_tp_role role = Frama_C_nondet(0, 1) ? VQ_TP_CLIENT : VQ_TP_SERVER;
  size_t cap = Frama_C_size_t_interval(0, OUT_MAX); /* includes a cap above VQ_TP_MAX_LEN */
  (void)vq_tp_encode(&tp, role, out, cap, &used);
}

/* The varint functions tp.c does not call, so that every function of the module's sources is reached. */
static void eva_varint_rest(void)
{
  uint8_t b[8];
  for (size_t i = 0; i < sizeof b; i++) b[i] = Frama_C_unsigned_char_interval(0, 255);
  size_t used;
  (void)vq_varint_len_of_first(b[0]);
  (void)vq_varint_encode(b, Frama_C_size_t_interval(0, sizeof b),
                         Frama_C_unsigned_long_long_interval(0, UINT64_MAX), &used);
  (void)vq_varint_encode_n(b, Frama_C_size_t_interval(0, sizeof b),
                           Frama_C_unsigned_long_long_interval(0, UINT64_MAX), Frama_C_size_t_interval(0, 9));
}

void eva_main(void)
{
  eva_varint_rest();
  eva_decode();
  eva_encode();
}
