/*
 * The process the kexec e2e test checkpoints with CRIU and restores after each
 * kexec. It holds MEM_BYTES of memory filled from a seed and counts, ten times
 * a second. On SIGUSR1 it recomputes the memory's checksum and writes
 * "pid=P counter=N sum=S sum0=S0" (sum0: the checksum taken at start, kept in
 * memory) to the status path given as argv[1], through a temporary file and a
 * rename: a reader never sees half a line, and between requests the process
 * has no file open (stdio is /dev/null), which keeps the dump self-contained.
 * It writes one status unasked, once its handler is installed: until then
 * SIGUSR1 would kill it.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MEM_BYTES (8u << 20)

static volatile sig_atomic_t asked;

static void on_usr1(int sig) { (void)sig; asked = 1; }

static uint64_t checksum(const uint64_t *mem, size_t words) {
	uint64_t h = 0xcbf29ce484222325ull;             /* FNV-1a over 64-bit words */
	for (size_t i = 0; i < words; i++) h = (h ^ mem[i]) * 0x100000001b3ull;
	return h;
}

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: counter STATUS-PATH SEED\n"); return 2; }
	const char *status = argv[1];
	size_t words = MEM_BYTES / sizeof(uint64_t);
	uint64_t *mem = malloc(MEM_BYTES);
	if (!mem) return 1;
	uint64_t x = strtoull(argv[2], NULL, 0) | 1;
	for (size_t i = 0; i < words; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; mem[i] = x; }
	const uint64_t sum0 = checksum(mem, words);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	asked = 1;                                      /* the first status says: ready for signals */
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", status);
	for (uint64_t counter = 0;; counter++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (!asked) continue;
		asked = 0;
		FILE *f = fopen(tmp, "w");
		if (!f) continue;
		fprintf(f, "pid=%d counter=%llu sum=%016llx sum0=%016llx\n", (int)getpid(),
			(unsigned long long)counter, (unsigned long long)checksum(mem, words), (unsigned long long)sum0);
		fclose(f);
		rename(tmp, status);
	}
}
