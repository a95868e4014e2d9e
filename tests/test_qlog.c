/* qlog records (JSON-SEQ) from connection trace events. */
#include <string.h>

#include "vqtest.h"
#include "vquic/qlog.h"

VQ_TEST(qlog_packet_events)
{
  char b[512];
  size_t n = vq_qlog_event(b, sizeof(b), VQ_US(1500), "packet_sent", "space=2 pn=17 size=1200 eliciting=1");
  const char *want = "\x1e{\"time\":1.500,\"name\":\"transport:packet_sent\",\"data\":{\"eliciting\":1,"
                     "\"header\":{\"packet_type\":\"1RTT\",\"packet_number\":17},\"raw\":{\"length\":1200}}}\n";
  CHECK_EQ(n, strlen(want));
  CHECK(memcmp(b, want, n) == 0);
  n = vq_qlog_event(b, sizeof(b), 0, "packet_received", "space=0 pn=0 size=1252");
  want = "\x1e{\"time\":0.000,\"name\":\"transport:packet_received\",\"data\":{\"header\":{\"packet_type\":"
         "\"initial\",\"packet_number\":0},\"raw\":{\"length\":1252}}}\n";
  CHECK_EQ(n, strlen(want));
  CHECK(memcmp(b, want, n) == 0);
}

VQ_TEST(qlog_escaping_and_unknown_events)
{
  char b[512];
  /* a reason with spaces, quotes and a control character stays one escaped string */
  size_t n = vq_qlog_event(b, sizeof(b), VQ_MS(2), "connection_closed",
                           "local code=0xa app=0 reason=bad \"frame\"\x01 here");
  const char *want = "\x1e{\"time\":2.000,\"name\":\"connectivity:connection_closed\",\"data\":{\"text\":"
                     "\"local\",\"code\":\"0xa\",\"app\":0,\"reason\":\"bad \\\"frame\\\"\\u0001 here\"}}\n";
  CHECK_EQ(n, strlen(want));
  CHECK(memcmp(b, want, n) == 0);
  n = vq_qlog_event(b, sizeof(b), 0, "frame_error", "space=1");
  want = "\x1e{\"time\":0.000,\"name\":\"vquic:frame_error\",\"data\":{\"space\":1}}\n";
  CHECK_EQ(n, strlen(want));
  CHECK(memcmp(b, want, n) == 0);
}

VQ_TEST(qlog_header_and_bounds)
{
  char b[512];
  size_t n = vq_qlog_header(b, sizeof(b), 1, "vq-server");
  CHECK(n > 0);
  CHECK_EQ((unsigned char)b[0], 0x1eu);
  CHECK_EQ(b[n - 1], '\n');
  CHECK(strstr(b, "\"type\":\"server\"") != NULL);
  CHECK(strstr(b, "\"qlog_format\":\"JSON-SEQ\"") != NULL);
  /* a record that does not fit gives 0 and nothing is written past cap */
  char small[40];
  memset(small, 'x', sizeof(small));
  char guard = small[sizeof(small) - 1];
  CHECK_EQ(vq_qlog_event(small, sizeof(small) - 1, 0, "packet_sent", "space=2 pn=1 size=3"), (size_t)0);
  CHECK_EQ(small[sizeof(small) - 1], guard);
  for (size_t cap = 0; cap < 120; cap++)
    CHECK(vq_qlog_event(b, cap, 0, "packet_sent", "space=2 pn=1 size=3") < cap ||
          vq_qlog_event(b, cap, 0, "packet_sent", "space=2 pn=1 size=3") == 0);
}

VQ_TEST(qlog_ecn_and_datagram_events)
{
  char b[512];
  /* the connection's ECN state changes become qlog's recovery:ecn_state_updated with "new" */
  size_t n = vq_qlog_event(b, sizeof(b), VQ_MS(3), "ecn_state_updated", "new=capable failure=0 space=2");
  const char *want = "\x1e{\"time\":3.000,\"name\":\"recovery:ecn_state_updated\",\"data\":{\"new\":"
                     "\"capable\",\"failure\":0,\"space\":2}}\n";
  CHECK_EQ(n, strlen(want));
  CHECK(memcmp(b, want, n) == 0);
  /* datagram and CE events keep their own names */
  n = vq_qlog_event(b, sizeof(b), 0, "datagram_dropped", "reason=too_large count=1");
  want = "\x1e{\"time\":0.000,\"name\":\"vquic:datagram_dropped\",\"data\":{\"reason\":\"too_large\","
         "\"count\":1}}\n";
  CHECK_EQ(n, strlen(want));
  CHECK(memcmp(b, want, n) == 0);
}
