/* vquic — flow-control accounting (RFC 9000 §4), written for WP. Every function preserves the state
 * invariant and changes nothing when it fails. */
#include "vquic/fc.h"
#include "fc_acsl.h"

#define VARINT_MAX 4611686018427387903u

/*@ requires \valid(fc);
    assigns *fc;
    ensures fc->limit == initial_limit && fc->sent == 0;
    ensures vq_fc_tx_ok(fc); */
void vq_fc_tx_init(vq_fc_tx *fc, uint64_t initial_limit)
{
  fc->limit = initial_limit;
  fc->sent = 0;
  fc->blocked_at = UINT64_MAX;
}

/*@ requires \valid_read(fc) && vq_fc_tx_ok(fc);
    assigns \nothing;
    ensures \result == fc->limit - fc->sent; */
uint64_t vq_fc_tx_credit(const vq_fc_tx *fc)
{
  return fc->limit - fc->sent;
}

/* spec: rfc9000#4.1/1, rfc9000#2.2/4 — a sender MUST NOT send data in excess of either limit.
 * spec: rfc9000#19.10/3 — data sent on a stream MUST NOT exceed the largest MAX_STREAM_DATA.
 * spec: rfc9000#19.9/1 — the connection's counter keeps the sum over all streams within MAX_DATA. */
/*@ requires \valid(fc) && vq_fc_tx_ok(fc);
    assigns fc->sent;
    ensures vq_fc_tx_ok(fc);
    behavior within:
      assumes n <= fc->limit - fc->sent;
      ensures \result == VQ_OK && fc->sent == \old(fc->sent) + n;
    behavior over:
      assumes n > fc->limit - fc->sent;
      ensures \result == VQ_ERR_FLOW_CONTROL && fc->sent == \old(fc->sent);
    complete behaviors; disjoint behaviors; */
vq_status vq_fc_tx_consume(vq_fc_tx *fc, uint64_t n)
{
  if (n > fc->limit - fc->sent) return VQ_ERR_FLOW_CONTROL;
  fc->sent += n;
  return VQ_OK;
}

/* spec: rfc9000#4.1/3 — a sender MUST ignore any MAX_STREAM_DATA or MAX_DATA frames that do not
 * increase flow control limits. */
/*@ requires \valid(fc) && vq_fc_tx_ok(fc);
    assigns fc->limit;
    ensures vq_fc_tx_ok(fc);
    behavior raise:
      assumes new_limit > fc->limit;
      ensures \result == 1 && fc->limit == new_limit;
    behavior ignore:
      assumes new_limit <= fc->limit;
      ensures \result == 0 && fc->limit == \old(fc->limit);
    complete behaviors; disjoint behaviors; */
int vq_fc_tx_update(vq_fc_tx *fc, uint64_t new_limit)
{
  if (new_limit <= fc->limit) return 0;
  fc->limit = new_limit;
  return 1;
}

/* spec: rfc9000#4.1 — a sender SHOULD send a STREAM_DATA_BLOCKED or DATA_BLOCKED frame when it has
 * data to send and is blocked by flow control limits (once per limit). */
/*@ requires \valid(fc) && vq_fc_tx_ok(fc);
    assigns fc->blocked_at;
    ensures vq_fc_tx_ok(fc);
    behavior signal:
      assumes fc->sent == fc->limit && fc->blocked_at != fc->limit;
      ensures \result == 1 && fc->blocked_at == fc->limit;
    behavior quiet:
      assumes !(fc->sent == fc->limit && fc->blocked_at != fc->limit);
      ensures \result == 0 && fc->blocked_at == \old(fc->blocked_at);
    complete behaviors; disjoint behaviors; */
int vq_fc_tx_take_blocked(vq_fc_tx *fc)
{
  if (fc->sent != fc->limit || fc->blocked_at == fc->limit) return 0;
  fc->blocked_at = fc->limit;
  return 1;
}

/*@ requires \valid(fc);
    requires window <= max_window <= 4611686018427387903;
    assigns *fc;
    ensures vq_fc_rx_ok(fc);
    ensures fc->limit == window && fc->received == 0 && fc->consumed == 0; */
void vq_fc_rx_init(vq_fc_rx *fc, uint64_t window, uint64_t max_window)
{
  fc->limit = window;
  fc->received = 0;
  fc->consumed = 0;
  fc->window = window;
  fc->max_window = max_window;
  fc->last_raise = 0;
  fc->raised = 0;
  fc->final_size = 0;
  fc->final_known = 0;
}

/* spec: rfc9000#4.5 — once a final size for a stream is known, it cannot change; data at or beyond
 * the final size, a changed final size, or a final size below the data received is FINAL_SIZE_ERROR.
 * spec: rfc9000#4.1/2, rfc9000#19.10/4 — stream data beyond the advertised limit is FLOW_CONTROL_ERROR.
 * spec: rfc9000#4.5/1 — *grown is what the connection-level controller must count, up to the final
 * size (a RESET_STREAM's final size included) even for bytes never received. */
/*@ requires \valid(fc) && vq_fc_rx_ok(fc);
    requires \valid(grown) && \separated(fc, grown);
    assigns fc->received, fc->final_size, fc->final_known, *grown;
    ensures vq_fc_rx_ok(fc);
    behavior beyond_final:
      assumes fc->final_known != 0 && end > fc->final_size;
      ensures \result == VQ_ERR_FINAL_SIZE;
      assigns \nothing;
    behavior final_changed:
      assumes fc->final_known != 0 && end <= fc->final_size && fin != 0 && end != fc->final_size;
      ensures \result == VQ_ERR_FINAL_SIZE;
      assigns \nothing;
    behavior final_below_received:
      assumes fc->final_known == 0 && fin != 0 && end < fc->received;
      ensures \result == VQ_ERR_FINAL_SIZE;
      assigns \nothing;
    behavior over_limit:
      assumes !(fc->final_known != 0 && end > fc->final_size);
      assumes !(fc->final_known != 0 && fin != 0 && end != fc->final_size);
      assumes !(fc->final_known == 0 && fin != 0 && end < fc->received);
      assumes end > fc->limit;
      ensures \result == VQ_ERR_FLOW_CONTROL;
      assigns \nothing;
    behavior accepted:
      assumes !(fc->final_known != 0 && end > fc->final_size);
      assumes !(fc->final_known != 0 && fin != 0 && end != fc->final_size);
      assumes !(fc->final_known == 0 && fin != 0 && end < fc->received);
      assumes end <= fc->limit;
      ensures \result == VQ_OK;
      ensures fc->received == (end > \old(fc->received) ? end : \old(fc->received));
      ensures *grown == fc->received - \old(fc->received);
      ensures fin != 0 ==> fc->final_known != 0 && fc->final_size == end;
      ensures fin == 0 ==> fc->final_known == \old(fc->final_known) &&
                           fc->final_size == \old(fc->final_size);
    complete behaviors; disjoint behaviors; */
vq_status vq_fc_rx_on_stream_data(vq_fc_rx *fc, uint64_t end, int fin, uint64_t *grown)
{
  if (fc->final_known) {
    if (end > fc->final_size) return VQ_ERR_FINAL_SIZE;
    if (fin && end != fc->final_size) return VQ_ERR_FINAL_SIZE;
  } else if (fin && end < fc->received) {
    return VQ_ERR_FINAL_SIZE;
  }
  if (end > fc->limit) return VQ_ERR_FLOW_CONTROL;
  uint64_t before = fc->received;
  if (end > fc->received) fc->received = end;
  if (fin) {
    fc->final_known = 1;
    fc->final_size = end;
  }
  *grown = fc->received - before;
  return VQ_OK;
}

/* spec: rfc9000#4.1/2, rfc9000#19.9/2 — a receiver MUST close the connection with FLOW_CONTROL_ERROR
 * if the sender violates the advertised connection or stream data limits. */
/*@ requires \valid(fc) && vq_fc_rx_ok(fc);
    assigns fc->received;
    ensures vq_fc_rx_ok(fc);
    behavior within:
      assumes n <= fc->limit - fc->received && fc->final_known == 0;
      ensures \result == VQ_OK && fc->received == \old(fc->received) + n;
    behavior over:
      assumes n > fc->limit - fc->received || fc->final_known != 0;
      ensures \result != VQ_OK && fc->received == \old(fc->received);
    complete behaviors; disjoint behaviors; */
vq_status vq_fc_rx_on_bytes(vq_fc_rx *fc, uint64_t n)
{
  /* The connection-level counter has no final size; a caller mixing the two uses is a bug. */
  if (fc->final_known) return VQ_ERR_INVALID_ARGUMENT;
  if (n > fc->limit - fc->received) return VQ_ERR_FLOW_CONTROL;
  fc->received += n;
  return VQ_OK;
}

/*@ requires \valid(fc) && vq_fc_rx_ok(fc);
    assigns fc->consumed;
    ensures vq_fc_rx_ok(fc);
    behavior ok:
      assumes n <= fc->received - fc->consumed;
      ensures \result == VQ_OK && fc->consumed == \old(fc->consumed) + n;
    behavior too_much:
      assumes n > fc->received - fc->consumed;
      ensures \result == VQ_ERR_INVALID_ARGUMENT && fc->consumed == \old(fc->consumed);
    complete behaviors; disjoint behaviors; */
vq_status vq_fc_rx_consume(vq_fc_rx *fc, uint64_t n)
{
  if (n > fc->received - fc->consumed) return VQ_ERR_INVALID_ARGUMENT;
  fc->consumed += n;
  return VQ_OK;
}

/* spec: rfc9000#4.2/2 — a receiver sends MAX_STREAM_DATA / MAX_DATA as data is consumed, never
 * waiting for a STREAM_DATA_BLOCKED / DATA_BLOCKED frame; doing so early enough avoids blocking the
 * sender; the window may grow (auto-tuning) when updates come faster than twice per round trip. */
/*@ requires \valid(fc) && vq_fc_rx_ok(fc);
    requires \valid(new_limit) && \separated(fc, new_limit);
    assigns fc->window, fc->limit, fc->last_raise, fc->raised, *new_limit;
    ensures vq_fc_rx_ok(fc);
    ensures fc->limit >= \old(fc->limit);
    ensures \result == 1 ==> *new_limit == fc->limit && fc->limit > \old(fc->limit) &&
                            fc->raised == 1 && fc->last_raise == now;
    ensures \result == 0 ==> fc->limit == \old(fc->limit);
    ensures \result == 0 || \result == 1; */
int vq_fc_rx_update(vq_fc_rx *fc, vq_time now, vq_time rtt, uint64_t *new_limit)
{
  uint64_t remaining = fc->limit - fc->consumed;
  if (remaining * 2u >= fc->window) return 0;
  if (fc->raised) {
    uint64_t elapsed = now > fc->last_raise ? now - fc->last_raise : 0;
    /* elapsed < 2 * rtt, without overflow: the peer consumes a window faster than per two RTTs. */
    if (elapsed / 2u < rtt) {
      uint64_t w = fc->window * 2u;
      fc->window = w < fc->max_window ? w : fc->max_window;
    }
  }
  uint64_t nl = fc->consumed + fc->window;
  if (nl > VARINT_MAX) nl = VARINT_MAX;
  if (nl <= fc->limit) return 0;
  fc->limit = nl;
  fc->last_raise = now;
  fc->raised = 1;
  *new_limit = nl;
  return 1;
}
