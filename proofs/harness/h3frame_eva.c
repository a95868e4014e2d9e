/* Eva entry point for src/h3/h3frame*.c: every function on buffers of unknown contents and lengths
 * (0 included), values over the whole uint64 range, state machines from every state (and an invalid
 * one) with every frame class. */
#include "__fc_builtin.h"
#include "vquic/h3frame.h"
#include "vquic/varint.h"

#define IN_MAX 40
#define OUT_MAX 80

void eva_main(void)
{
  uint8_t in[IN_MAX];
  uint8_t out[OUT_MAX];
  vq_h3_frame_hdr hdr;
  size_t need, used;
  uint64_t v;

  for (size_t i = 0; i < sizeof in; i++) in[i] = Frama_C_unsigned_char_interval(0, 255);
  size_t len = Frama_C_size_t_interval(0, IN_MAX);
  uint64_t x = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  uint64_t y = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  uint64_t z = Frama_C_unsigned_long_long_interval(0, UINT64_MAX);
  size_t cap = Frama_C_size_t_interval(0, OUT_MAX);
  int flag = Frama_C_int_interval(-1, 1);

  (void)vq_h3_is_reserved(x);
  (void)vq_h3_grease(x);
  (void)vq_h3_frame_classify(x);
  (void)vq_h3_frame_is_buffered(x);

  (void)vq_h3_frame_header_parse(in, len, &hdr, &need);
  (void)vq_h3_frame_header_check(x, y, z);
  (void)vq_h3_frame_header_read(in, len, z, &hdr, &need);
  (void)vq_h3_frame_header_encode(out, cap, x, y, &used);

  size_t plen = Frama_C_size_t_interval(0, IN_MAX);
  (void)vq_h3_frame_encode_span(out, cap, x, in, plen, &used);
  (void)vq_h3_id_frame_parse(in, len, &v);
  (void)vq_h3_id_frame_encode(out, cap, x, y, &used);
  uint64_t t3 = Frama_C_unsigned_long_long_interval(0, 16);
  (void)vq_h3_id_frame_encode(out, cap, t3, y, &used);
  size_t fs_off;
  (void)vq_h3_push_promise_parse(in, len, &v, &fs_off);
  (void)vq_h3_push_promise_encode(out, cap, x, in, plen, &used);

  vq_h3_settings s;
  (void)vq_h3_settings_parse(in, len, &s);
  s.max_field_section_size = x;
  s.qpack_max_table_capacity = y;
  s.qpack_blocked_streams = z;
  s.enable_connect_protocol = Frama_C_unsigned_char_interval(0, 255);
  s.h3_datagram = Frama_C_unsigned_char_interval(0, 255);
  s.has_max_field_section_size = Frama_C_unsigned_char_interval(0, 1);
  s.has_qpack_max_table_capacity = Frama_C_unsigned_char_interval(0, 1);
  s.has_qpack_blocked_streams = Frama_C_unsigned_char_interval(0, 1);
  s.has_enable_connect_protocol = Frama_C_unsigned_char_interval(0, 1);
  s.has_h3_datagram = Frama_C_unsigned_char_interval(0, 1);
  (void)vq_h3_settings_encode(out, cap, &s, flag, y, z, &used);

  vq_h3_ctrl c;
  vq_h3_ctrl_init(&c, flag);
  c.state = (vq_h3_ctrl_state)Frama_C_int_interval(0, 2);
  (void)vq_h3_ctrl_on_frame(&c, x);

  vq_h3_msg m;
  vq_h3_msg_init(&m, flag);
  m.state = (vq_h3_msg_state)Frama_C_int_interval(0, 4);
  m.push_promise_ok = Frama_C_unsigned_char_interval(0, 1);
  (void)vq_h3_msg_on_frame(&m, x);
  m.state = (vq_h3_msg_state)Frama_C_int_interval(0, 4);
  (void)vq_h3_msg_interim(&m);
  m.state = (vq_h3_msg_state)Frama_C_int_interval(0, 4);
  (void)vq_h3_msg_can_end(&m);

  size_t u;
  (void)vq_h3_uni_type_parse(in, len, &v, &u, &need);
  (void)vq_h3_uni_classify(x);
  (void)vq_h3_uni_unknown_abort_code();
  (void)vq_h3_goaway_check(x, flag, flag, y);

  /* src/core/varint.c is part of this module's sources: reach all of it. */
  (void)vq_varint_len(x);
  (void)vq_varint_len_of_first(in[0]);
  (void)vq_varint_decode(in, len, &v, &u);
  (void)vq_varint_encode(out, cap, x, &u);
  (void)vq_varint_encode_n(out, cap, x, Frama_C_size_t_interval(0, 9));
}
