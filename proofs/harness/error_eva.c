/* Eva entry point for src/core/error.c: every lookup over every status value from the lowest to
 * just past zero (the table's statuses and the unknown values between them), and transport error
 * codes over the named range, the CRYPTO_ERROR range and beyond. */
#include "__fc_builtin.h"
#include "vquic/error.h"

void eva_main(void)
{
  /*@ loop unroll 240; */
  for (int v = -230; v <= 2; v++) {
    const vq_status s = (vq_status)v;
    (void)vq_status_disposition(s);
    (void)vq_status_transport_error(s);
    (void)vq_status_app_error(s);
    (void)vq_status_reason(s);
    (void)vq_status_tls_alert(s);
  }
  (void)vq_status_reason((vq_status)-2147483647);
  (void)vq_status_reason((vq_status)2147483647);
  (void)vq_transport_error_name(Frama_C_unsigned_long_interval(0, 17));
  (void)vq_transport_error_name(Frama_C_unsigned_long_interval(18, 0xffu));
  (void)vq_transport_error_name(Frama_C_unsigned_long_interval(0x100u, 0x1ffu));
  (void)vq_transport_error_name(Frama_C_unsigned_long_interval(0x200u, 0xffffffffu));
}
