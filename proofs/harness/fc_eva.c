/* Eva entry point for src/transport/fc.c.
 *
 * The flow-control state is relational (sent <= limit, consumed <= received <= limit), which Eva's
 * interval domains cannot represent, so unknown values over whole ranges would leave Eva unable to
 * see the invariant the preconditions state. The harness therefore drives every function from every
 * combination of boundary values (0, 1, 2, a middle value, 2^62-2, 2^62-1, UINT64_MAX where legal),
 * each analysed exactly; WP proves the same functions for all values the contracts allow. */
#include "__fc_builtin.h"
#include "vquic/fc.h"

#define VMAX 4611686018427387903ull
#define NV 6
static const uint64_t limits[NV] = {0, 1, 2, 1000, VMAX - 1, VMAX};
#define NA 7
static const uint64_t amounts[NA] = {0, 1, 2, 999, VMAX - 1, VMAX, UINT64_MAX};

static void tx_cases(void)
{
  /*@ loop unroll NV; */
  for (int i = 0; i < NV; i++) {
    /*@ loop unroll NA; */
    for (int j = 0; j < NA; j++) {
      vq_fc_tx tx;
      vq_fc_tx_init(&tx, limits[i]);
      (void)vq_fc_tx_take_blocked(&tx);
      (void)vq_fc_tx_consume(&tx, amounts[j]);
      (void)vq_fc_tx_credit(&tx);
      (void)vq_fc_tx_take_blocked(&tx);
      (void)vq_fc_tx_take_blocked(&tx);
      (void)vq_fc_tx_update(&tx, limits[(i + j) % NV]);
      (void)vq_fc_tx_update(&tx, limits[(i + 1) % NV]);
      (void)vq_fc_tx_consume(&tx, amounts[(j + 3) % NA]);
      (void)vq_fc_tx_take_blocked(&tx);
    }
  }
}

static void rx_stream_cases(void)
{
  /*@ loop unroll NV; */
  for (int i = 0; i < NV; i++) {
    /*@ loop unroll NA; */
    for (int j = 0; j < NA; j++) {
      /*@ loop unroll 2; */
      for (int fin = 0; fin < 2; fin++) {
        vq_fc_rx rx;
        uint64_t grown, nl;
        vq_fc_rx_init(&rx, limits[i], VMAX);
        (void)vq_fc_rx_on_stream_data(&rx, amounts[j], fin, &grown);
        (void)vq_fc_rx_on_stream_data(&rx, amounts[(j + 1) % NA], 0, &grown);
        (void)vq_fc_rx_on_stream_data(&rx, amounts[j], 1, &grown);
        (void)vq_fc_rx_on_stream_data(&rx, amounts[(j + 6) % NA], 1, &grown);
        (void)vq_fc_rx_consume(&rx, amounts[(j + fin) % NA]);
        (void)vq_fc_rx_update(&rx, 0, 0, &nl);
        (void)vq_fc_rx_update(&rx, 10, 100, &nl);
      }
    }
  }
}

static void rx_conn_cases(void)
{
  /*@ loop unroll NV; */
  for (int i = 0; i < NV; i++) {
    /*@ loop unroll NA; */
    for (int j = 0; j < NA; j++) {
      vq_fc_rx rx;
      uint64_t nl;
      vq_fc_rx_init(&rx, limits[i], limits[(i + j) % NV] >= limits[i] ? limits[(i + j) % NV] : limits[i]);
      (void)vq_fc_rx_on_bytes(&rx, amounts[j]);
      (void)vq_fc_rx_on_bytes(&rx, amounts[(j + 1) % NA]);
      (void)vq_fc_rx_consume(&rx, amounts[j]);
      (void)vq_fc_rx_update(&rx, 1000, 600, &nl);   /* first raise */
      (void)vq_fc_rx_on_bytes(&rx, amounts[(j + 2) % NA]);
      (void)vq_fc_rx_consume(&rx, amounts[(j + 2) % NA]);
      (void)vq_fc_rx_update(&rx, 1500, 600, &nl);   /* within 2 RTT: window grows */
      (void)vq_fc_rx_update(&rx, 900, UINT64_MAX, &nl); /* clock went back; huge RTT */
      (void)vq_fc_rx_update(&rx, UINT64_MAX, 1, &nl);   /* long after: no growth */
    }
  }
  /* Auto-tuning: the peer reads a whole window within two RTTs of the last raise. */
  vq_fc_rx at;
  uint64_t nl2;
  vq_fc_rx_init(&at, 1000, 8000);
  (void)vq_fc_rx_on_bytes(&at, 999);
  (void)vq_fc_rx_consume(&at, 999);
  (void)vq_fc_rx_update(&at, 1000, 600, &nl2);
  (void)vq_fc_rx_on_bytes(&at, 1000);
  (void)vq_fc_rx_consume(&at, 1000);
  (void)vq_fc_rx_update(&at, 1500, 600, &nl2);
  /* A connection-level counter must not be used with a final size. */
  vq_fc_rx s;
  uint64_t g;
  vq_fc_rx_init(&s, 10, 10);
  (void)vq_fc_rx_on_stream_data(&s, 5, 1, &g);
  (void)vq_fc_rx_on_bytes(&s, 1);
}

void eva_main(void)
{
  tx_cases();
  rx_stream_cases();
  rx_conn_cases();
}
