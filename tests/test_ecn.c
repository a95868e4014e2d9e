/* Tests of ECN marking, validation and receive counts (src/transport/ecn.c, RFC 9000 §13.4). */
#include "vqtest.h"
#include "vquic/ecn.h"

#define APP 2u

static void send_n(vq_ecn *e, unsigned space, int n, vq_time now)
{
  for (int i = 0; i < n; i++) vq_ecn_on_sent(e, space, vq_ecn_mark(e, now, VQ_MS(100)));
}

/* spec: rfc9000#13.4.2 — ECT(0) on the first ten packets; spec: rfc9000#A.4 — then "unknown" until an
 * ACK validates the counts ("capable", marked again). spec: rfc9000#13.4.2.2/3 */
VQ_TEST(ecn_testing_unknown_capable)
{
  vq_ecn e;
  vq_ecn_init(&e, 1, 0);
  CHECK_EQ(e.state, VQ_ECN_TESTING);
  for (int i = 0; i < 10; i++) {
    CHECK_EQ(vq_ecn_mark(&e, 0, VQ_MS(100)), VQ_ECN_ECT0);
    vq_ecn_on_sent(&e, APP, VQ_ECN_ECT0);
  }
  CHECK_EQ(e.state, VQ_ECN_UNKNOWN);
  CHECK_EQ(vq_ecn_mark(&e, 0, VQ_MS(100)), VQ_ECN_NOT_ECT);
  vq_ecn_on_sent(&e, APP, VQ_ECN_NOT_ECT);
  CHECK_EQ(e.sent_ect0[APP], 10);
  vq_ecn_counts c = {4, 0, 1};
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 5, 1, &c, 5), 1); /* 4 ECT(0) + 1 CE for 5 marked packets */
  CHECK_EQ(e.state, VQ_ECN_CAPABLE);
  CHECK_EQ(vq_ecn_mark(&e, 0, VQ_MS(100)), VQ_ECN_ECT0);
  CHECK_EQ(e.ce_total, 1);
  /* An ACK validated while counts grow more than the newly acked packets (lost ACKs) is fine. */
  c.ect0 = 9;
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 9, 1, &c, 2), 0);
  CHECK_EQ(e.state, VQ_ECN_CAPABLE);
}

/* An "unknown" path with no marked packet acknowledged does not become capable (A.4). */
VQ_TEST(ecn_unknown_needs_marked_ack)
{
  vq_ecn e;
  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 10, 0);
  vq_ecn_counts c = {0, 0, 0};
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 1, 1, &c, 0), 0);
  CHECK_EQ(e.state, VQ_ECN_UNKNOWN);
}

/* Testing packets acknowledged with valid counts while still testing (in the handshake spaces), then
 * only plain ACKs (the 1-RTT space saw no mark yet): the next ACK completes the validation, and a
 * plain ACK without validated marked packets does not. */
VQ_TEST(ecn_capable_after_marked_acked_while_testing)
{
  vq_ecn e;
  vq_ecn_init(&e, 1, 0);
  send_n(&e, 0, 4, 0); /* Initial space */
  vq_ecn_counts c = {4, 0, 0};
  CHECK_EQ(vq_ecn_on_ack(&e, 0, 3, 1, &c, 4), 0);
  CHECK_EQ(e.state, VQ_ECN_TESTING);
  vq_ecn_on_sent(&e, APP, VQ_ECN_NOT_ECT);
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 0, 0, NULL, 0), 0);
  CHECK_EQ(e.state, VQ_ECN_TESTING);
  send_n(&e, 1, 6, 0); /* Handshake space: the tenth marked packet ends testing */
  CHECK_EQ(e.state, VQ_ECN_UNKNOWN);
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 1, 0, NULL, 0), 0);
  CHECK_EQ(e.state, VQ_ECN_CAPABLE);
  CHECK_EQ(vq_ecn_mark(&e, 0, VQ_MS(100)), VQ_ECN_ECT0);

  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 10, 0);
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 1, 0, NULL, 0), 0);
  CHECK_EQ(e.state, VQ_ECN_UNKNOWN);
}

/* spec: rfc9000#13.4.2 — or for a period of three PTOs. */
VQ_TEST(ecn_testing_ends_after_three_ptos)
{
  vq_ecn e;
  vq_ecn_init(&e, 1, VQ_MS(1000));
  CHECK_EQ(vq_ecn_mark(&e, VQ_MS(1000), VQ_MS(100)), VQ_ECN_ECT0);
  CHECK_EQ(vq_ecn_mark(&e, VQ_MS(1299), VQ_MS(100)), VQ_ECN_ECT0);
  CHECK_EQ(vq_ecn_mark(&e, VQ_MS(1300), VQ_MS(100)), VQ_ECN_NOT_ECT);
  CHECK_EQ(e.state, VQ_ECN_UNKNOWN);
}

/* spec: rfc9000#13.4.2.1 — ECT(0) packets newly acknowledged by an ACK without ECN counts. */
VQ_TEST(ecn_fail_no_counts)
{
  vq_ecn e;
  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 3, 0);
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 0, 0, NULL, 0), 0); /* nothing marked acked: still fine */
  CHECK_EQ(e.state, VQ_ECN_TESTING);
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 2, 0, NULL, 2), 0);
  CHECK_EQ(e.state, VQ_ECN_FAILED);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_NO_COUNTS);
  /* spec: rfc9000#13.4.2.2/1 — disabled: nothing is marked any more. */
  CHECK_EQ(vq_ecn_mark(&e, 0, VQ_MS(100)), VQ_ECN_NOT_ECT);
  vq_ecn_counts c = {3, 0, 5};
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 3, 1, &c, 1), 0); /* no CE signal from a failed path */
}

/* Bleaching: the counts come back but do not grow with the marked packets acknowledged. */
VQ_TEST(ecn_fail_bleached_decreased_ect1_too_many)
{
  vq_ecn e;
  vq_ecn_counts c = {0, 0, 0};
  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 4, 0);
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 3, 1, &c, 4), 0);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_BLEACHED);

  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 4, 0);
  c.ect0 = 2;
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 1, 1, &c, 2), 0);
  c.ect0 = 1;
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 2, 1, &c, 0), 0);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_DECREASED);

  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 4, 0);
  c.ect0 = 2;
  c.ect1 = 1;
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 1, 1, &c, 2), 0);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_ECT1);

  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 4, 0);
  c.ect0 = 5;
  c.ect1 = 0;
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 1, 1, &c, 2), 0);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_TOO_MANY);
}

/* spec: rfc9000#13.4.2.1/1 — an ACK that does not increase the largest acknowledged (reordered) never
 * fails validation, and is ignored. */
VQ_TEST(ecn_reordered_ack_ignored)
{
  vq_ecn e;
  vq_ecn_counts c = {3, 0, 0};
  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 5, 0);
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 4, 1, &c, 3), 0);
  vq_ecn_counts old = {1, 0, 0};
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 2, 1, &old, 1), 0); /* lower counts, but a lower largest */
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 4, 0, NULL, 1), 0);
  CHECK(e.state != VQ_ECN_FAILED);
  CHECK_EQ(e.peer[APP].ect0, 3);
  /* Spaces are separate. */
  CHECK_EQ(vq_ecn_on_ack(&e, 0, 0, 1, &old, 0), 0);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_TOO_MANY); /* no ECT(0) was sent in Initial */
}

/* spec: rfc9002#7.1 — the validated increase of ECN-CE is the congestion signal. */
VQ_TEST(ecn_ce_increase)
{
  vq_ecn e;
  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 10, 0);
  vq_ecn_counts c = {2, 0, 3};
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 4, 1, &c, 5), 3);
  c.ce = 3;
  c.ect0 = 4;
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 6, 1, &c, 2), 0);
  c.ce = 7;
  c.ect0 = 5;
  CHECK_EQ(vq_ecn_on_ack(&e, APP, 10, 1, &c, 5), 4);
  CHECK_EQ(e.ce_total, 7);
}

/* spec: rfc9000#13.4.2 — every marked packet lost: disable marking. */
VQ_TEST(ecn_all_marked_lost)
{
  vq_ecn e;
  vq_ecn_init(&e, 1, 0);
  send_n(&e, APP, 10, 0);
  vq_ecn_on_lost(&e, 9);
  CHECK_EQ(e.state, VQ_ECN_UNKNOWN);
  vq_ecn_on_lost(&e, 1);
  CHECK_EQ(e.state, VQ_ECN_FAILED);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_ALL_LOST);
  /* spec: rfc9000#13.4.2.2/2 — revalidation later. */
  vq_ecn_restart(&e, VQ_MS(5000));
  CHECK_EQ(vq_ecn_mark(&e, VQ_MS(5000), VQ_MS(100)), VQ_ECN_ECT0);
  vq_ecn_init(&e, 0, 0);
  CHECK_EQ(e.failure, VQ_ECN_FAIL_DISABLED);
  CHECK_EQ(vq_ecn_mark(&e, 0, VQ_MS(100)), VQ_ECN_NOT_ECT);
}

/* spec: rfc9000#13.4.1/1 — counts of received codepoints per space, reported even when we do not
 * mark our packets. */
VQ_TEST(ecn_receive_counts)
{
  vq_ecn e;
  vq_ecn_counts c;
  vq_ecn_init(&e, 0, 0);
  CHECK_EQ(vq_ecn_rx_counts(&e, APP, &c), 0);
  vq_ecn_on_received(&e, APP, VQ_ECN_NOT_ECT);
  CHECK_EQ(vq_ecn_rx_counts(&e, APP, &c), 0);
  vq_ecn_on_received(&e, APP, VQ_ECN_ECT0);
  vq_ecn_on_received(&e, APP, VQ_ECN_ECT0);
  vq_ecn_on_received(&e, APP, VQ_ECN_ECT1);
  vq_ecn_on_received(&e, APP, 0xff); /* a full TOS byte: only the low bits count (CE) */
  vq_ecn_on_received(&e, 1, VQ_ECN_CE);
  vq_ecn_on_received(&e, 7, VQ_ECN_CE); /* no such space */
  CHECK_EQ(vq_ecn_rx_counts(&e, APP, &c), 1);
  CHECK_EQ(c.ect0, 2);
  CHECK_EQ(c.ect1, 1);
  CHECK_EQ(c.ce, 1);
  CHECK_EQ(vq_ecn_rx_counts(&e, 1, &c), 1);
  CHECK_EQ(c.ce, 1);
  CHECK_EQ(c.ect0, 0);
  CHECK_EQ(vq_ecn_rx_counts(&e, 0, &c), 0);
  CHECK_EQ(vq_ecn_rx_counts(&e, 9, &c), 0);
}

/* Randomized: a simulated path that delivers marks faithfully (with random CE marking, random
 * loss, ACK loss) never fails validation and the CE signal adds up to the CE marks that were
 * reported; a path that bleaches marks fails as soon as a marked packet is acknowledged. */
VQ_TEST(ecn_random_paths)
{
  for (uint64_t seed = 1; seed <= 300; seed++) {
    uint64_t rs = seed;
    const int bleach = seed % 4 == 0;
    vq_ecn sender, receiver;
    vq_ecn_init(&sender, 1, 0);
    vq_ecn_init(&receiver, 1, 0);
    uint8_t marks[400];
    int delivered[400];
    uint64_t largest = 0, acked_upto = 0, ce_signal = 0, marked_acked = 0;
    vq_time now = 0;
    for (uint64_t pn = 0; pn < 400; pn++) {
      now += VQ_MS(10);
      uint8_t m = vq_ecn_mark(&sender, now, VQ_MS(1000));
      vq_ecn_on_sent(&sender, APP, m);
      marks[pn] = m;
      uint8_t wire = m;
      if (bleach) wire = VQ_ECN_NOT_ECT;
      else if (m == VQ_ECN_ECT0 && vq_rand(&rs) % 8 == 0) wire = VQ_ECN_CE;
      delivered[pn] = vq_rand(&rs) % 10 != 0;
      if (delivered[pn]) {
        vq_ecn_on_received(&receiver, APP, wire);
        largest = pn;
      }
      if (pn % 7 == 6 && vq_rand(&rs) % 3 != 0) { /* an ACK (some are lost) */
        uint64_t newly = 0;
        for (uint64_t q = acked_upto; q <= largest; q++)
          if (delivered[q] && marks[q] == VQ_ECN_ECT0) newly++;
        vq_ecn_counts c;
        (void)vq_ecn_rx_counts(&receiver, APP, &c);
        ce_signal += vq_ecn_on_ack(&sender, APP, largest, 1, &c, newly);
        marked_acked += newly;
        acked_upto = largest + 1;
      }
    }
    if (bleach) {
      CHECK_EQ(sender.state, VQ_ECN_FAILED);
      CHECK_EQ(sender.failure, VQ_ECN_FAIL_BLEACHED);
    } else {
      CHECK(sender.state != VQ_ECN_FAILED);
      CHECK_EQ(ce_signal, sender.peer[APP].ce);
      CHECK(ce_signal <= receiver.rx[APP].ce);
      if (marked_acked > 0) CHECK_EQ(sender.state, VQ_ECN_CAPABLE);
    }
  }
}
