/* vquic programs — qlog files (see qlog.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
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

static void qtrace_emit(void *ud, vq_time now, const char *event, const char *detail)
{
  app_qtrace *qt = ud;
  app_qlog_emit(&qt->q, now, event, detail);
  if (qt->also_stderr)
    app_trace(NULL, now, event, detail);
}

app_qtrace *app_qtrace_open(const char *dir, const char *name, int is_server, const char *title,
                            int also_stderr)
{
  app_qtrace *qt = calloc(1, sizeof(*qt));
  if (!qt)
    return NULL;
  if (app_qlog_open(&qt->q, dir, name, is_server, title) != 0) {
    int e = errno;
    free(qt);
    errno = e;
    return NULL;
  }
  qt->t.emit = qtrace_emit;
  qt->t.ud = qt;
  qt->also_stderr = also_stderr;
  return qt;
}

void app_qtrace_free(app_qtrace *qt)
{
  if (!qt)
    return;
  app_qlog_close(&qt->q);
  free(qt);
}
