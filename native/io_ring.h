/* One io_uring, raw (io_ring.c, no Node-API, no liburing): io_uring_setup and
 * io_uring_enter by syscall, the rings and SQEs mapped. Its SQEs are 128 bytes
 * (IORING_SETUP_SQE128: a URING_CMD's 80-byte command area). No lock: one
 * thread produces SQEs, one consumes CQEs (fuse_uring.c's main and queue thread). */
#ifndef PRAM_IO_RING_H
#define PRAM_IO_RING_H
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct {
  int fd;                 /* the io_uring; -1 before open and after close */
  void *sq_ring, *cq_ring;
  size_t sq_ring_len, cq_ring_len;
  struct io_uring_sqe *sqes;   /* SQE128: two slots of 64 bytes each */
  size_t sqes_len;
  _Atomic unsigned *sq_tail, *cq_head, *cq_tail;
  unsigned *sq_array, sq_mask, cq_mask;
  struct io_uring_cqe *cqes;
} io_ring_t;

/* Creates the ring with room for sq_entries SQEs and maps it; 0 or an errno (io_ring_close undoes what was done). */
int io_ring_open(io_ring_t *r, unsigned sq_entries);
/* Unmaps and closes (closing cancels the commands still in flight); again: nothing. */
void io_ring_close(io_ring_t *r);
/* The next free SQE, zeroed, and the tail to publish it at (the ring never fills: the caller sizes it). */
struct io_uring_sqe *io_ring_sqe(io_ring_t *r, unsigned *tail);
/* Publishes the SQE taken at `tail` and submits it; 0 or an errno. */
int io_ring_submit(io_ring_t *r, unsigned tail);
/* Waits for at least one CQE; 0, or an errno (EINTR: wait again; any other: the ring is gone). */
int io_ring_wait(io_ring_t *r);

#endif
