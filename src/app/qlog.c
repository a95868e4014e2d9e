/* vquic programs — qlog files (see qlog.h). */
#include <errno.h>
#include <string.h>

#include "qlog.h"

int app_qlog_open(app_qlog *q, const char *dir, const char *name, int is_server, const char *title)
{
  memset(q, 0, sizeof(*q));
  char path[4096];
  if (snprintf(path, sizeof(path), "%s/%s.sqlog", dir, name) >= (int)sizeof(path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  q->f = fopen(path, "w");
  if (!q->f)
    return -1;
  char buf[512];
  size_t n = vq_qlog_header(buf, sizeof(buf), is_server, title);
  fwrite(buf, 1, n, q->f);
  return 0;
}

void app_qlog_emit(void *ud, vq_time now, const char *event, const char *detail)
{
  app_qlog *q = ud;
  if (!q->f)
    return;
  if (!q->started) {
    q->start = now;
    q->started = 1;
  }
  char buf[2048];
  size_t n = vq_qlog_event(buf, sizeof(buf), now - q->start, event, detail);
  if (n) {
    fwrite(buf, 1, n, q->f);
    q->events++;
  }
}

void app_qlog_close(app_qlog *q)
{
  if (q->f)
    fclose(q->f);
  q->f = NULL;
}
