/* Creates, stats and unlinks N empty files in DIR, each phase timed with
 * CLOCK_MONOTONIC; prints one JSON line. The bench's metadata harness: fio's
 * filecreate/filestat/filedelete engines walk their file list per I/O and take
 * minutes for 100 000 files on tmpfs, so they time fio, not the file system.
 * usage: metaops DIR N [drop] (drop: sync + drop_caches before stat and unlink) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void drop(void) {
  sync();
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd >= 0) { if (write(fd, "3\n", 2) < 0) perror("drop_caches"); close(fd); }
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: metaops DIR N [drop]\n"); return 2; }
  const char *dir = argv[1];
  long n = atol(argv[2]);
  int dropping = argc > 3;
  char p[4096];
  struct stat st;
  double t0 = now_ms();
  for (long i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/m%ld", dir, i);
    int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0 || close(fd) < 0) { perror(p); return 1; }
  }
  double t1 = now_ms();
  if (dropping) drop();
  double t2 = now_ms();
  for (long i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/m%ld", dir, i);
    if (stat(p, &st) < 0) { perror(p); return 1; }
  }
  double t3 = now_ms();
  if (dropping) drop();
  double t4 = now_ms();
  for (long i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/m%ld", dir, i);
    if (unlink(p) < 0) { perror(p); return 1; }
  }
  double t5 = now_ms();
  printf("{\"files\":%ld,\"createMs\":%.3f,\"statMs\":%.3f,\"unlinkMs\":%.3f}\n", n, t1 - t0, t3 - t2, t5 - t4);
  return 0;
}
