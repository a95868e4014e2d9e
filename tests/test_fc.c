/* Tests of flow-control accounting (src/transport/fc.c, RFC 9000 §4). */
#include "vqtest.h"
#include "vquic/fc.h"
#include "vquic/varint.h"

/* spec: rfc9000#4.1/1, rfc9000#2.2/4, rfc9000#19.10/3, rfc9000#19.9/1 — never send past the peer's
 * limit; spec: rfc9000#4.1/3 — ignore limits that do not increase. */
VQ_TEST(fc_tx_limits)
{
  vq_fc_tx tx;
  vq_fc_tx_init(&tx, 100);
  CHECK_EQ(vq_fc_tx_credit(&tx), 100);
  CHECK_EQ(vq_fc_tx_take_blocked(&tx), 0);
  CHECK_EQ(vq_fc_tx_consume(&tx, 60), VQ_OK);
  CHECK_EQ(vq_fc_tx_consume(&tx, 41), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(tx.sent, 60);
  CHECK_EQ(vq_fc_tx_consume(&tx, 40), VQ_OK);
  CHECK_EQ(vq_fc_tx_credit(&tx), 0);
  CHECK_EQ(vq_fc_tx_consume(&tx, 1), VQ_ERR_FLOW_CONTROL);
  /* Blocked is signalled once per limit. */
  CHECK_EQ(vq_fc_tx_take_blocked(&tx), 1);
  CHECK_EQ(tx.blocked_at, 100);
  CHECK_EQ(vq_fc_tx_take_blocked(&tx), 0);
  CHECK_EQ(vq_fc_tx_update(&tx, 90), 0);  /* a smaller limit is ignored */
  CHECK_EQ(vq_fc_tx_update(&tx, 100), 0); /* so is an equal one */
  CHECK_EQ(tx.limit, 100);
  CHECK_EQ(vq_fc_tx_update(&tx, 150), 1);
  CHECK_EQ(vq_fc_tx_credit(&tx), 50);
  CHECK_EQ(vq_fc_tx_take_blocked(&tx), 0);
  CHECK_EQ(vq_fc_tx_consume(&tx, 50), VQ_OK);
  CHECK_EQ(vq_fc_tx_take_blocked(&tx), 1); /* blocked again, at the new limit */
  CHECK_EQ(tx.blocked_at, 150);
  /* A zero initial limit: blocked at once. */
  vq_fc_tx_init(&tx, 0);
  CHECK_EQ(vq_fc_tx_take_blocked(&tx), 1);
  CHECK_EQ(vq_fc_tx_consume(&tx, 0), VQ_OK);
  CHECK_EQ(vq_fc_tx_consume(&tx, UINT64_MAX), VQ_ERR_FLOW_CONTROL);
}

/* spec: rfc9000#4.1/2, rfc9000#19.10/4, rfc9000#19.9/2 — stream or connection data beyond the
 * advertised limit is FLOW_CONTROL_ERROR. */
VQ_TEST(fc_rx_flow_control_error)
{
  vq_fc_rx rx;
  uint64_t g = 99;
  vq_fc_rx_init(&rx, 1000, 4000);
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 1000, 0, &g), VQ_OK);
  CHECK_EQ(g, 1000);
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 500, 0, &g), VQ_OK); /* a retransmission grows nothing */
  CHECK_EQ(g, 0);
  g = 77;
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 1001, 0, &g), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(g, 77);
  CHECK_EQ(rx.received, 1000);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_FLOW_CONTROL), VQ_TE_FLOW_CONTROL_ERROR);

  vq_fc_rx conn;
  vq_fc_rx_init(&conn, 100, 100);
  CHECK_EQ(vq_fc_rx_on_bytes(&conn, 60), VQ_OK);
  CHECK_EQ(vq_fc_rx_on_bytes(&conn, 41), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(conn.received, 60);
  CHECK_EQ(vq_fc_rx_on_bytes(&conn, 40), VQ_OK);
  CHECK_EQ(vq_fc_rx_on_bytes(&conn, UINT64_MAX), VQ_ERR_FLOW_CONTROL);
}

/* spec: rfc9000#4.5 — the final size cannot change, no data beyond it, and it cannot be below what
 * was received: FINAL_SIZE_ERROR. */
VQ_TEST(fc_rx_final_size)
{
  vq_fc_rx rx;
  uint64_t g;
  vq_fc_rx_init(&rx, 1000, 1000);
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 300, 0, &g), VQ_OK);
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 200, 1, &g), VQ_ERR_FINAL_SIZE); /* below received */
  CHECK_EQ(rx.final_known, 0);
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 400, 1, &g), VQ_OK);
  CHECK_EQ(rx.final_size, 400);
  CHECK_EQ(g, 100);
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 400, 1, &g), VQ_OK);           /* same FIN again */
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 350, 0, &g), VQ_OK);           /* data within */
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 401, 0, &g), VQ_ERR_FINAL_SIZE); /* beyond */
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 399, 1, &g), VQ_ERR_FINAL_SIZE); /* changed */
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 500, 1, &g), VQ_ERR_FINAL_SIZE);
  CHECK_EQ(rx.final_size, 400);
  CHECK_EQ(rx.received, 400);
  CHECK_EQ(vq_status_transport_error(VQ_ERR_FINAL_SIZE), VQ_TE_FINAL_SIZE_ERROR);
  /* A final size beyond the limit is a flow-control violation (§4.5 allows either error). */
  vq_fc_rx_init(&rx, 100, 100);
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 101, 1, &g), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(rx.final_known, 0);
  /* A connection counter refuses to be used as a stream. */
  CHECK_EQ(vq_fc_rx_on_stream_data(&rx, 10, 1, &g), VQ_OK);
  CHECK(vq_fc_rx_on_bytes(&rx, 1) != VQ_OK);
}

/* spec: rfc9000#4.5/1 — the connection-level controller counts every byte up to a stream's final
 * size, also when the final size arrives without the data (as in RESET_STREAM): the stream counter
 * reports the growth and the connection counter takes it, and a final size the connection cannot
 * afford is a FLOW_CONTROL_ERROR there. */
VQ_TEST(fc_final_size_counts_at_connection_level)
{
  vq_fc_rx st, conn;
  uint64_t g = 0;
  vq_fc_rx_init(&st, 1000, 1000);
  vq_fc_rx_init(&conn, 1500, 1500);
  CHECK_EQ(vq_fc_rx_on_stream_data(&st, 100, 0, &g), VQ_OK);
  CHECK_EQ(g, 100);
  CHECK_EQ(vq_fc_rx_on_bytes(&conn, g), VQ_OK);
  /* A final size of 700 with only 100 bytes received: 600 more count against the connection. */
  CHECK_EQ(vq_fc_rx_on_stream_data(&st, 700, 1, &g), VQ_OK);
  CHECK_EQ(g, 600);
  CHECK_EQ(vq_fc_rx_on_bytes(&conn, g), VQ_OK);
  CHECK_EQ(conn.received, 700);
  /* A second stream's final size of 900 exceeds what is left of MAX_DATA (800). */
  vq_fc_rx_init(&st, 1000, 1000);
  CHECK_EQ(vq_fc_rx_on_stream_data(&st, 900, 1, &g), VQ_OK);
  CHECK_EQ(g, 900);
  CHECK_EQ(vq_fc_rx_on_bytes(&conn, g), VQ_ERR_FLOW_CONTROL);
  CHECK_EQ(conn.received, 700);
}

/* spec: rfc9000#4.2/2 — window updates as data is consumed, with no BLOCKED frame asked for;
 * auto-tuning doubles the window when the
 * peer uses it within two round trips, up to the ceiling. */
VQ_TEST(fc_rx_window_updates_and_autotune)
{
  vq_fc_rx rx;
  uint64_t nl = 0;
  vq_fc_rx_init(&rx, 1000, 4000);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(1), VQ_MS(10), &nl), 0); /* nothing consumed yet */
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, 500), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, 500), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(1), VQ_MS(10), &nl), 0); /* exactly half left: not yet */
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, 1), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, 1), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(1), VQ_MS(10), &nl), 1);
  CHECK_EQ(nl, 1501);
  CHECK_EQ(rx.window, 1000); /* first raise: no growth */
  /* Consumed a window's worth again 5 ms later, RTT 10 ms: the window doubles. */
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, 1000), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, 1000), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(6), VQ_MS(10), &nl), 1);
  CHECK_EQ(rx.window, 2000);
  CHECK_EQ(nl, 1501 + 2000);
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, 2000), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, 2000), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(7), VQ_MS(10), &nl), 1);
  CHECK_EQ(rx.window, 4000); /* the ceiling */
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, 4000), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, 4000), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(8), VQ_MS(10), &nl), 1);
  CHECK_EQ(rx.window, 4000);
  /* Slow reader (more than 2 RTT between raises): no growth. */
  vq_fc_rx_init(&rx, 1000, 4000);
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, 600), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, 600), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(100), VQ_MS(10), &nl), 1);
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, 1000), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, 1000), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, VQ_MS(200), VQ_MS(10), &nl), 1);
  CHECK_EQ(rx.window, 1000);
  /* Consuming more than received is refused. */
  CHECK_EQ(vq_fc_rx_consume(&rx, 1), VQ_ERR_INVALID_ARGUMENT);
  /* The limit saturates at 2^62-1. */
  vq_fc_rx_init(&rx, VQ_VARINT_MAX, VQ_VARINT_MAX);
  CHECK_EQ(vq_fc_rx_on_bytes(&rx, VQ_VARINT_MAX), VQ_OK);
  CHECK_EQ(vq_fc_rx_consume(&rx, VQ_VARINT_MAX), VQ_OK);
  CHECK_EQ(vq_fc_rx_update(&rx, 1, 1, &nl), 0);
  CHECK_EQ(rx.limit, VQ_VARINT_MAX);
}

/* Seeded property test: random operation sequences keep the invariants, and no operation that
 * fails changes anything; the sender's total never exceeds the highest limit granted. */
VQ_TEST(fc_property_invariants)
{
  uint64_t seed = 0xfc0001;
  for (int run = 0; run < 2000; run++) {
    vq_fc_tx tx;
    vq_fc_rx rx;
    uint64_t w = vq_rand(&seed) % 5000, mw = w + vq_rand(&seed) % 20000;
    vq_fc_tx_init(&tx, w);
    vq_fc_rx_init(&rx, w, mw);
    vq_time now = 0;
    int ok = 1;
    for (int step = 0; step < 200 && ok; step++) {
      vq_fc_tx tx0 = tx;
      vq_fc_rx rx0 = rx;
      uint64_t n = vq_rand(&seed) % 3000;
      now += vq_rand(&seed) % VQ_MS(20);
      switch (vq_rand(&seed) % 4) {
      case 0: { /* send what credit allows, receiver sees it */
        uint64_t take = n < vq_fc_tx_credit(&tx) ? n : vq_fc_tx_credit(&tx);
        if (vq_fc_tx_consume(&tx, take) != VQ_OK) ok = 0;
        if (vq_fc_rx_on_bytes(&rx, take) != VQ_OK) ok = 0; /* a conforming sender never errs */
        break;
      }
      case 1: /* a misbehaving send */
        if (vq_fc_tx_consume(&tx, vq_fc_tx_credit(&tx) + 1 + n) != VQ_ERR_FLOW_CONTROL) ok = 0;
        if (memcmp(&tx, &tx0, sizeof tx)) ok = 0;
        if (vq_fc_rx_on_bytes(&rx, rx.limit - rx.received + 1) != VQ_ERR_FLOW_CONTROL) ok = 0;
        if (memcmp(&rx, &rx0, sizeof rx)) ok = 0;
        break;
      case 2: { /* the application reads */
        uint64_t avail = rx.received - rx.consumed;
        if (vq_fc_rx_consume(&rx, n < avail ? n : avail) != VQ_OK) ok = 0;
        break;
      }
      default: { /* window update travels to the sender */
        uint64_t nl;
        if (vq_fc_rx_update(&rx, now, VQ_MS(30), &nl)) vq_fc_tx_update(&tx, nl);
      }
      }
      if (!(tx.sent <= tx.limit && rx.consumed <= rx.received && rx.received <= rx.limit &&
            rx.window <= rx.max_window && tx.limit == rx.limit && tx.sent == rx.received))
        ok = 0;
    }
    if (!ok) {
      CHECK(ok);
      return;
    }
  }
  CHECK(1);
}
