/* vquic — what the transport needs to know about a frame type (RFC 9000 §12.4, §12.5, §13.2;
 * RFC 9002 §2; RFC 9221 §4, §5) and about stream IDs (RFC 9000 §2.1). */
#include "vquic/frame.h"
#include "frame_acsl.h"

/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> vq_frame_known(t); */
int vq_frame_type_known(uint64_t t)
{
  if (t <= VQ_FRAME_HANDSHAKE_DONE) return 1;
  if (t == VQ_FRAME_DATAGRAM || t == VQ_FRAME_DATAGRAM_LEN) return 1;
  return 0;
}

/* spec: rfc9002#2 — all frames other than ACK, PADDING and CONNECTION_CLOSE are ack-eliciting. */
/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> vq_frame_known(t) && t != 0 && t != 2 && t != 3 && t != 0x1c && t != 0x1d; */
int vq_frame_is_ack_eliciting(uint64_t t)
{
  if (vq_frame_type_known(t) == 0) return 0;
  if (t == VQ_FRAME_PADDING || t == VQ_FRAME_ACK || t == VQ_FRAME_ACK_ECN) return 0;
  if (t == VQ_FRAME_CONNECTION_CLOSE || t == VQ_FRAME_CONNECTION_CLOSE_APP) return 0;
  return 1;
}

/* spec: rfc9002#2 — a packet is in flight when it is ack-eliciting or contains PADDING. So ACK (Table
 * 3 "C" in rfc9000#12.4) and CONNECTION_CLOSE (neither ack-eliciting nor PADDING) do not count. */
/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 <==> vq_frame_known(t) && t != 2 && t != 3 && t != 0x1c && t != 0x1d; */
int vq_frame_counts_in_flight(uint64_t t)
{
  if (t == VQ_FRAME_PADDING) return 1;
  return vq_frame_is_ack_eliciting(t);
}

/* spec: rfc9000#12.4 — Table 3 "Pkts": Initial and Handshake carry only PADDING, PING, ACK, CRYPTO
 * and CONNECTION_CLOSE of type 0x1c; all frames may appear in 1-RTT.
 * spec: rfc9000#12.4/3, rfc9000#17.2.4/2 — the receiver's check: a frame this refuses is a
 * PROTOCOL_VIOLATION (the connection closes with it).
 * spec: rfc9000#12.5/3, rfc9000#12.5/5 — CONNECTION_CLOSE 0x1d and every frame other than PADDING, PING,
 * ACK, CRYPTO and CONNECTION_CLOSE 0x1c belong to the application data space (0-RTT and 1-RTT). */
/* spec: rfc9000#12.5 — not in 0-RTT: ACK, CRYPTO, HANDSHAKE_DONE, NEW_TOKEN, PATH_RESPONSE,
 * RETIRE_CONNECTION_ID. spec: rfc9001#8.3/2 — so a CRYPTO frame in a 0-RTT packet is refused. */
/* spec: rfc9221#5/3, rfc9221#6/1 — DATAGRAM frames are protected with 0-RTT or 1-RTT keys: allowed
 * in 0-RTT and 1-RTT packets only, never in Initial or Handshake packets. */
/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 ==> vq_frame_known(t);
    ensures pkt == VQ_FRAME_PKT_1RTT ==> (\result == 1 <==> vq_frame_known(t));
    ensures (pkt == VQ_FRAME_PKT_INITIAL || pkt == VQ_FRAME_PKT_HANDSHAKE) ==>
              (\result == 1 <==> (t == 0 || t == 1 || t == 2 || t == 3 || t == 6 || t == 0x1c)); */
int vq_frame_allowed_in(uint64_t t, vq_frame_pkt pkt)
{
  if (vq_frame_type_known(t) == 0) return 0;
  if (pkt == VQ_FRAME_PKT_1RTT) return 1;
  if (pkt == VQ_FRAME_PKT_INITIAL || pkt == VQ_FRAME_PKT_HANDSHAKE) {
    if (t <= VQ_FRAME_ACK_ECN || t == VQ_FRAME_CRYPTO || t == VQ_FRAME_CONNECTION_CLOSE) return 1;
    return 0;
  }
  if (pkt == VQ_FRAME_PKT_0RTT) {
    if (t == VQ_FRAME_ACK || t == VQ_FRAME_ACK_ECN || t == VQ_FRAME_CRYPTO || t == VQ_FRAME_NEW_TOKEN)
      return 0;
    if (t == VQ_FRAME_HANDSHAKE_DONE || t == VQ_FRAME_PATH_RESPONSE || t == VQ_FRAME_RETIRE_CONNECTION_ID)
      return 0;
    return 1;
  }
  return 0;
}

/* spec: rfc9000#2.1 — the least significant bit of a stream ID is 1 for server-initiated streams. */
/*@ assigns \nothing;
    ensures \result == stream_id % 2; */
int vq_stream_is_server_initiated(uint64_t stream_id)
{
  return (int)(stream_id % 2u);
}

/* spec: rfc9000#2.1 — the second least significant bit is 1 for unidirectional streams. */
/*@ assigns \nothing;
    ensures \result == (stream_id / 2) % 2; */
int vq_stream_is_unidirectional(uint64_t stream_id)
{
  return (int)((stream_id / 2u) % 2u);
}

/* spec: rfc9000#2.1 — a unidirectional stream carries data from its initiator only. */
/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures (stream_id / 2) % 2 == 0 ==> \result == 1;
    ensures (stream_id / 2) % 2 == 1 ==> (\result == 1 <==> (stream_id % 2 == 1 <==> local_is_server != 0)); */
int vq_stream_can_send(uint64_t stream_id, int local_is_server)
{
  if (vq_stream_is_unidirectional(stream_id) == 0) return 1;
  const int server_init = vq_stream_is_server_initiated(stream_id);
  if (local_is_server != 0) return server_init;
  return 1 - server_init;
}

/*@ assigns \nothing;
    ensures \result == 0 || \result == 1;
    ensures (stream_id / 2) % 2 == 0 ==> \result == 1;
    ensures (stream_id / 2) % 2 == 1 ==> (\result == 1 <==> (stream_id % 2 == 1 <==> local_is_server == 0)); */
int vq_stream_can_receive(uint64_t stream_id, int local_is_server)
{
  if (vq_stream_is_unidirectional(stream_id) == 0) return 1;
  const int server_init = vq_stream_is_server_initiated(stream_id);
  if (local_is_server != 0) return 1 - server_init;
  return server_init;
}
