/* Eva entry point for src/core/frame*.c: every function on inputs of unknown contents.
 * - vq_frame_parse on an unknown buffer, for every length 0 .. IN_MAX as a separate singleton (the
 *   unrolled loop keeps `pos <= len` visible to Eva's interval domain);
 * - vq_frame_encode / vq_frame_encoded_len on a frame whose type and every field are unknown (byte
 *   fields of every length 0 .. 40, ACK range arrays of 0 .. 4 entries), for every capacity
 *   0 .. OUT_MAX;
 * - the ACK iterator over an unknown range section, to the end and past it;
 * - the classification and stream-ID helpers over the whole uint64 range and every packet type. */
#include "__fc_builtin.h"
#include "vquic/frame.h"

#define IN_MAX 48
#define OUT_MAX 48
#define DATA_MAX 40

static uint64_t any_u64(void)
{
  return Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
}

static void eva_parse(void)
{
  uint8_t in[IN_MAX];
  vq_frame f;
  size_t used;
  for (size_t i = 0; i < IN_MAX; i++) in[i] = Frama_C_unsigned_char_interval(0, 255);
  /* Each length a singleton: 0 .. 10 (every truncation of the short frames), then long enough for
   * every field of every frame (NEW_CONNECTION_ID needs 40 bytes). */
  static const size_t lens[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 24, 33, IN_MAX};
  /*@ loop unroll 15; */
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) (void)vq_frame_parse(in, lens[k], &f, &used);
}

static void eva_encode(void)
{
  static uint8_t data[DATA_MAX];
  static uint8_t out[OUT_MAX];
  static vq_ack_range ranges[4];
  vq_frame f;
  size_t used;
  for (size_t i = 0; i < DATA_MAX; i++) data[i] = Frama_C_unsigned_char_interval(0, 255);
  for (size_t i = 0; i < 4; i++) {
    ranges[i].smallest = any_u64();
    ranges[i].largest = any_u64();
  }
  f.type = Frama_C_unsigned_long_long_interval(0, 0x40);
  f.padding.count = Frama_C_size_t_interval(0, OUT_MAX + 1);
  f.ack.largest = any_u64();
  f.ack.delay = any_u64();
  f.ack.range_count = any_u64();
  f.ack.first_range = any_u64();
  f.ack.ranges = data;
  f.ack.ranges_len = 0;
  f.ack.ect0 = any_u64();
  f.ack.ect1 = any_u64();
  f.ack.ecn_ce = any_u64();
  f.ack.ranges_in = Frama_C_nondet(0, 1) ? ranges : NULL;
  f.ack.range_count_in = f.ack.ranges_in ? Frama_C_size_t_interval(0, 4) : 0;
  f.reset_stream.stream_id = any_u64();
  f.reset_stream.error_code = any_u64();
  f.reset_stream.final_size = any_u64();
  f.stop_sending.stream_id = any_u64();
  f.stop_sending.error_code = any_u64();
  f.crypto.offset = any_u64();
  f.crypto.data = data;
  f.crypto.len = Frama_C_size_t_interval(0, DATA_MAX);
  f.new_token.token = data;
  f.new_token.len = Frama_C_size_t_interval(0, DATA_MAX);
  f.stream.stream_id = any_u64();
  f.stream.offset = any_u64();
  f.stream.data = data;
  f.stream.len = Frama_C_size_t_interval(0, DATA_MAX);
  f.stream.fin = Frama_C_unsigned_char_interval(0, 2);
  f.max_data.maximum = any_u64();
  f.max_stream_data.stream_id = any_u64();
  f.max_stream_data.maximum = any_u64();
  f.max_streams.maximum = any_u64();
  f.data_blocked.maximum = any_u64();
  f.stream_data_blocked.stream_id = any_u64();
  f.stream_data_blocked.maximum = any_u64();
  f.streams_blocked.maximum = any_u64();
  f.new_cid.sequence = any_u64();
  f.new_cid.retire_prior_to = any_u64();
  f.new_cid.cid = data;
  f.new_cid.cid_len = Frama_C_size_t_interval(0, 21);
  f.new_cid.reset_token = data + 8;
  f.retire_cid.sequence = any_u64();
  f.path.data = data;
  f.close.error_code = any_u64();
  f.close.frame_type = any_u64();
  f.close.reason = data;
  f.close.reason_len = Frama_C_size_t_interval(0, DATA_MAX);
  f.datagram.data = data;
  f.datagram.len = Frama_C_size_t_interval(0, DATA_MAX);

  (void)vq_frame_encoded_len(&f, &used);
  static const size_t caps[] = {0, 1, 2, 3, 5, 9, 17, OUT_MAX};
  /*@ loop unroll 8; */
  for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
    (void)vq_frame_encode(out, caps[k], &f, &used);
    (void)vq_frame_encode(NULL, caps[k], &f, &used);
  }
}

static void eva_iter(void)
{
  static uint8_t sect[24];
  vq_frame_ack a;
  vq_ack_iter it;
  vq_ack_range r;
  for (size_t i = 0; i < sizeof sect; i++) sect[i] = Frama_C_unsigned_char_interval(0, 255);
  a.largest = any_u64();
  a.first_range = any_u64();
  a.range_count = Frama_C_unsigned_long_long_interval(0, 16);
  a.ranges = sect;
  a.ranges_len = sizeof sect;
  vq_ack_iter_init(&it, &a);
  while (vq_ack_iter_next(&it, &r) == 1) {
  }
  (void)vq_ack_iter_next(&it, &r);
}

static void eva_info(void)
{
  uint64_t t = any_u64();
  vq_frame_pkt pkt = (vq_frame_pkt)Frama_C_int_interval(0, 4);
  (void)vq_frame_type_known(t);
  (void)vq_frame_is_ack_eliciting(t);
  (void)vq_frame_counts_in_flight(t);
  (void)vq_frame_allowed_in(t, pkt);
  uint64_t id = any_u64();
  int srv = Frama_C_int_interval(0, 1);
  (void)vq_stream_is_server_initiated(id);
  (void)vq_stream_is_unidirectional(id);
  (void)vq_stream_can_send(id, srv);
  (void)vq_stream_can_receive(id, srv);
}

void eva_main(void)
{
  eva_parse();
  eva_encode();
  eva_iter();
  eva_info();
}
