/* vquic programs — a qlog file per connection (vquic/qlog.h formats the records). */
#ifndef VQ_APP_QLOG_H
#define VQ_APP_QLOG_H

#include <stdio.h>

#include "vquic/qlog.h"

typedef struct app_qlog {
  FILE *f;
  vq_time start;     /* reference time: the first event */
  int started;
  unsigned long events;
} app_qlog;

/* Opens DIR/<name>.sqlog and writes the header. 0 on success, -1 (errno) otherwise. */
int app_qlog_open(app_qlog *q, const char *dir, const char *name, int is_server, const char *title);
/* A vq_trace sink: ud is the app_qlog. */
void app_qlog_emit(void *ud, vq_time now, const char *event, const char *detail);
void app_qlog_close(app_qlog *q);

/* A heap-held qlog file with its vq_trace sink (it must outlive the connection using it); with
 * also_stderr the events are printed as by -v too. NULL (errno) when the file cannot be opened. */
typedef struct app_qtrace {
  app_qlog q;
  vq_trace t;
  int also_stderr;
} app_qtrace;
app_qtrace *app_qtrace_open(const char *dir, const char *name, int is_server, const char *title,
                            int also_stderr);
void app_qtrace_free(app_qtrace *qt);

#endif
