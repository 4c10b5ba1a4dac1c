/*
 * One io_uring without liburing (io_ring.h): the two syscalls, the rings'
 * mapping (one mapping for both when the kernel offers IORING_FEAT_SINGLE_MMAP)
 * and the SQ's producer side. The CQ's consumer reads cq_head/cq_tail/cqes
 * itself (fuse_uring.c's queue thread), after io_ring_wait.
 */
#include "io_ring.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_io_uring_setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_io_uring_enter(int fd, unsigned submit, unsigned min_complete, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, fd, submit, min_complete, flags, NULL, 0);
}

int io_ring_open(io_ring_t *r, unsigned sq_entries) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_SQE128;   /* the 80-byte cmd area holds a URING_CMD's command (struct fuse_uring_cmd_req) */
  int fd = sys_io_uring_setup(sq_entries, &p);
  if (fd < 0) return errno;
  r->fd = fd;
  r->sq_ring_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_ring_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    if (r->cq_ring_len > r->sq_ring_len) r->sq_ring_len = r->cq_ring_len;
    r->cq_ring_len = r->sq_ring_len;
  }
  r->sq_ring = mmap(NULL, r->sq_ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (r->sq_ring == MAP_FAILED) { r->sq_ring = NULL; return errno; }
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    r->cq_ring = r->sq_ring;
  } else {
    r->cq_ring = mmap(NULL, r->cq_ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (r->cq_ring == MAP_FAILED) { r->cq_ring = NULL; return errno; }
  }
  r->sqes_len = p.sq_entries * 2 * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) { r->sqes = NULL; return errno; }
  uint8_t *sq = r->sq_ring, *cq = r->cq_ring;
  r->sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (_Atomic unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
}

void io_ring_close(io_ring_t *r) {
  if (r->sqes) munmap(r->sqes, r->sqes_len);
  if (r->cq_ring && r->cq_ring != r->sq_ring) munmap(r->cq_ring, r->cq_ring_len);
  if (r->sq_ring) munmap(r->sq_ring, r->sq_ring_len);
  if (r->fd >= 0) close(r->fd);   /* cancels commands still registered */
  r->sqes = NULL; r->sq_ring = r->cq_ring = NULL; r->fd = -1;
}

struct io_uring_sqe *io_ring_sqe(io_ring_t *r, unsigned *tail) {
  *tail = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
  unsigned idx = *tail & r->sq_mask;
  struct io_uring_sqe *sqe = &r->sqes[idx * 2];
  memset(sqe, 0, 2 * sizeof *sqe);
  r->sq_array[idx] = idx;
  return sqe;
}

int io_ring_submit(io_ring_t *r, unsigned tail) {
  atomic_store_explicit(r->sq_tail, tail + 1, memory_order_release);
  int rc;
  do rc = sys_io_uring_enter(r->fd, 1, 0, 0); while (rc < 0 && errno == EINTR);
  return rc < 0 ? errno : 0;
}

int io_ring_wait(io_ring_t *r) {
  return sys_io_uring_enter(r->fd, 0, 1, IORING_ENTER_GETEVENTS) < 0 ? errno : 0;
}
