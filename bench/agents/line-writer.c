/*
 * The C twin of line-writer.mjs: 100-byte numbered lines, one write(2) per line, as fast as it
 * can for a while, then the same record. Shows the cost of capture to a writer with no runtime
 * of its own in the way.
 *   line-writer "SECONDS RECORD_FILE"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  double seconds = atof(argv[1]);
  const char *record = strchr(argv[1], ' ');
  if (!record) return 2;
  record++;
  char line[101];
  double start = now_ms(), end = start + seconds * 1000;
  long lines = 0;
  for (;;) {
    if ((lines & 255) == 0 && now_ms() >= end) break;
    snprintf(line, 12, "%010ld ", lines++ % 10000000000L);
    memset(line + 11, 'x', 88);
    line[99] = '\n';
    for (size_t at = 0; at < 100;) {
      ssize_t n = write(1, line + at, 100 - at);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return 1;
      at += (size_t)n;
    }
  }
  double ms = now_ms() - start;
  FILE *f = fopen(record, "w");
  if (!f) return 1;
  line[99] = '\0';
  fprintf(f, "{\"lines\":%ld,\"bytes\":%ld,\"ms\":%.3f,\"last\":\"%s\"}", lines, lines * 100, ms, line);
  return fclose(f) == 0 ? 0 : 1;
}
