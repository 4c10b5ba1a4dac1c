/* The blackout bench's service: holds MIB MiB of memory filled from a seed
 * (every page touched) and sleeps. It writes "sum=S" (FNV-1a of the memory) to
 * STATUS once filled and again on SIGUSR1, through a rename, so a restored copy
 * proves its memory came back whole. stdio is /dev/null (a self-contained dump).
 * usage: toucher MIB STATUS */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t asked = 1;
static void on_usr1(int sig) { (void)sig; asked = 1; }

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  size_t words = (size_t)atol(argv[1]) << 17;   /* MiB -> 8-byte words */
  uint64_t *mem = malloc(words * 8), x = 0x5eed1234;
  if (!mem) return 1;
  for (size_t i = 0; i < words; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; mem[i] = x; }
  signal(SIGUSR1, on_usr1);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  for (;;) {
    if (asked) {
      asked = 0;
      uint64_t h = 0xcbf29ce484222325ull;
      for (size_t i = 0; i < words; i++) h = (h ^ mem[i]) * 0x100000001b3ull;
      FILE *f = fopen(tmp, "w");
      if (f) { fprintf(f, "sum=%016llx\n", (unsigned long long)h); fclose(f); rename(tmp, argv[2]); }
    }
    usleep(100000);
  }
}
