/* The FUSE floor: the cheapest FUSE server that does the bench's work, in C
 * against libfuse3's low-level API. Every file lives in malloc'd memory
 * (writes copied in, reads copied out); nodes are never reused, a name is
 * found through one hash table keyed by (parent, name). It asks the kernel
 * for what pram asks (writeback cache, 1 MiB writes, keep_cache, 1 s entry
 * and attribute timeouts, negative entries, default_permissions, ENOSYS to
 * FLUSH) and, given a block device, is mounted fuseblk as pram is, so the
 * kernel sends both the same requests and the difference is the server.
 * usage: floorfs DIR PIDFILE [mt] [reserve=BYTES] [BLOCKDEV]
 *   mt: libfuse's multi-threaded loop; reserve: heap faulted in at start and
 *   kept (pram's arena is allocated at mount: neither pays a first-touch fault per page written)
 * Mounts DIR, daemonizes once mounted (the caller's wait ends then), writes
 * its pid to PIDFILE; `umount DIR` ends it. */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS (1u << 20)
#define TIMEOUT 1.0 /* pram's entry and attribute validity (src/fuse/session.ts) */

struct node {
  char *name;
  fuse_ino_t parent;
  mode_t mode;
  unsigned nlink;
  char *data;
  size_t size, cap;
  struct timespec mtime, ctime;
  fuse_ino_t next; /* hash chain */
};

static struct node **nodes; /* by ino; 1 is the root */
static fuse_ino_t count, room;
static fuse_ino_t bucket[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned hash(fuse_ino_t parent, const char *name) {
  unsigned h = 2166136261u ^ (unsigned)parent;
  for (; *name; name++) h = (h ^ (unsigned char)*name) * 16777619u;
  return h & (BUCKETS - 1);
}

static fuse_ino_t find(fuse_ino_t parent, const char *name) {
  for (fuse_ino_t i = bucket[hash(parent, name)]; i; i = nodes[i]->next)
    if (nodes[i]->parent == parent && strcmp(nodes[i]->name, name) == 0) return i;
  return 0;
}

static void unhash(fuse_ino_t ino) {
  fuse_ino_t *p = &bucket[hash(nodes[ino]->parent, nodes[ino]->name)];
  while (*p != ino) p = &nodes[*p]->next;
  *p = nodes[ino]->next;
}

static fuse_ino_t add(fuse_ino_t parent, const char *name, mode_t mode) {
  if (count + 1 >= room) {
    room = room ? room * 2 : 1024;
    nodes = realloc(nodes, room * sizeof *nodes);
    if (!nodes) abort();
  }
  fuse_ino_t ino = ++count;
  struct node *n = calloc(1, sizeof *n);
  if (!n || !(n->name = strdup(name))) abort();
  n->parent = parent;
  n->mode = mode;
  n->nlink = S_ISDIR(mode) ? 2 : 1;
  clock_gettime(CLOCK_REALTIME, &n->mtime);
  n->ctime = n->mtime;
  nodes[ino] = n;
  if (parent) {
    unsigned b = hash(parent, name);
    n->next = bucket[b];
    bucket[b] = ino;
  }
  return ino;
}

static void attr(fuse_ino_t ino, struct stat *st) {
  struct node *n = nodes[ino];
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_mode = n->mode;
  st->st_nlink = n->nlink;
  st->st_size = n->size;
  st->st_blksize = 4096;
  st->st_blocks = (n->size + 511) / 512;
  st->st_mtim = n->mtime;
  st->st_ctim = n->ctime;
  st->st_atim = n->mtime;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino) {
  struct fuse_entry_param e = {.ino = ino, .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT};
  if (ino) attr(ino, &e.attr);
  fuse_reply_entry(req, &e);
}

static void f_init(void *u, struct fuse_conn_info *c) {
  (void)u;
  if (c->capable & FUSE_CAP_WRITEBACK_CACHE) c->want |= FUSE_CAP_WRITEBACK_CACHE;
#ifdef FUSE_CAP_HANDLE_KILLPRIV_V2 /* libfuse 3.15+; before, no GETXATTR answer does the same after one ENOSYS */
  if (c->capable & FUSE_CAP_HANDLE_KILLPRIV_V2) c->want |= FUSE_CAP_HANDLE_KILLPRIV_V2;
#endif
  c->max_write = 1 << 20;
  if (c->max_readahead > (1u << 20)) c->max_readahead = 1 << 20;
  c->max_background = 64;
  c->congestion_threshold = 48;
  c->time_gran = 1;
}

static void f_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  pthread_mutex_lock(&lock);
  reply_entry(req, find(parent, name)); /* ino 0: a negative entry with a timeout, as pram answers */
  pthread_mutex_unlock(&lock);
}

static void f_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  pthread_mutex_lock(&lock);
  attr(ino, &st);
  pthread_mutex_unlock(&lock);
  fuse_reply_attr(req, &st, TIMEOUT);
}

static int resize(struct node *n, size_t size) {
  if (size > n->cap) {
    size_t cap = n->cap ? n->cap : 4096;
    while (cap < size) cap *= 2;
    char *d = realloc(n->data, cap);
    if (!d) return ENOSPC;
    n->data = d;
    n->cap = cap;
  }
  if (size > n->size) memset(n->data + n->size, 0, size - n->size);
  n->size = size;
  return 0;
}

static void f_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *a, int set, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  int err = 0;
  pthread_mutex_lock(&lock);
  struct node *n = nodes[ino];
  if (set & FUSE_SET_ATTR_SIZE) err = resize(n, a->st_size);
  if (set & FUSE_SET_ATTR_MODE) n->mode = (n->mode & S_IFMT) | (a->st_mode & 07777);
  if (set & FUSE_SET_ATTR_MTIME) n->mtime = a->st_mtim;
  clock_gettime(CLOCK_REALTIME, &n->ctime);
  attr(ino, &st);
  pthread_mutex_unlock(&lock);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_attr(req, &st, TIMEOUT);
}

static void make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  pthread_mutex_lock(&lock);
  fuse_ino_t ino = find(parent, name) ? 0 : add(parent, name, mode);
  if (ino && S_ISDIR(mode)) nodes[parent]->nlink++;
  struct fuse_entry_param e = {.ino = ino, .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT};
  if (ino) attr(ino, &e.attr);
  pthread_mutex_unlock(&lock);
  if (!ino) fuse_reply_err(req, EEXIST);
  else if (fi) {
    fi->keep_cache = 1;
    fuse_reply_create(req, &e, fi);
  } else fuse_reply_entry(req, &e);
}

static void f_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  make(req, parent, name, S_IFREG | (mode & 07777), fi);
}

static void f_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  make(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

static void f_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  pthread_mutex_lock(&lock);
  if (fi->flags & O_TRUNC) resize(nodes[ino], 0);
  pthread_mutex_unlock(&lock);
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

static void f_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  pthread_mutex_lock(&lock);
  struct node *n = nodes[ino];
  size_t len = (size_t)off >= n->size ? 0 : n->size - off < size ? n->size - off : size;
  fuse_reply_buf(req, len ? n->data + off : NULL, len); /* the copy out happens here, under the lock */
  pthread_mutex_unlock(&lock);
}

static void f_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  pthread_mutex_lock(&lock);
  struct node *n = nodes[ino];
  int err = off + size > n->size ? resize(n, off + size) : 0;
  if (!err) {
    memcpy(n->data + off, buf, size);
    clock_gettime(CLOCK_REALTIME, &n->mtime);
  }
  pthread_mutex_unlock(&lock);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_write(req, size);
}

static void f_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino; (void)fi;
  fuse_reply_err(req, 0);
}

/* As pram's: ENOSYS makes the kernel stop sending FLUSH on close (fc->no_flush). */
static void f_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino; (void)fi;
  fuse_reply_err(req, ENOSYS);
}

static void f_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  fuse_reply_open(req, fi);
}

static void f_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  (void)datasync;
  f_ok(req, ino, fi);
}

static void f_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int dir) {
  int err = 0;
  pthread_mutex_lock(&lock);
  fuse_ino_t ino = find(parent, name);
  if (!ino) err = ENOENT;
  else if (dir != !!S_ISDIR(nodes[ino]->mode)) err = dir ? ENOTDIR : EISDIR;
  else if (dir && nodes[ino]->nlink > 2) err = ENOTEMPTY;
  else {
    struct node *n = nodes[ino];
    unhash(ino);
    n->nlink = 0; /* the node stays (the kernel may still ask for its attributes); its bytes go */
    free(n->data);
    n->data = NULL;
    n->size = n->cap = 0;
    if (dir) nodes[parent]->nlink--;
  }
  pthread_mutex_unlock(&lock);
  fuse_reply_err(req, err);
}

static void f_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) { f_remove(req, parent, name, 0); }
static void f_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) { f_remove(req, parent, name, 1); }

/* Entries are the live children in ino order; the offset is the next ino to look at. */
static void f_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  char *buf = malloc(size);
  size_t used = 0;
  struct stat st = {0};
  if (!buf) { fuse_reply_err(req, ENOMEM); return; }
  pthread_mutex_lock(&lock);
  for (fuse_ino_t i = off + 1; i <= count; i++) {
    struct node *n = nodes[i];
    if (n->parent != ino || !n->nlink) continue;
    st.st_ino = i;
    st.st_mode = n->mode;
    size_t l = fuse_add_direntry(req, buf + used, size - used, n->name, &st, i);
    if (l > size - used) break;
    used += l;
  }
  pthread_mutex_unlock(&lock);
  fuse_reply_buf(req, buf, used);
  free(buf);
}

static void f_statfs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  struct statvfs s = {.f_bsize = 4096, .f_frsize = 4096, .f_blocks = 1u << 30, .f_bfree = 1u << 30, .f_bavail = 1u << 30,
                      .f_files = 1u << 30, .f_ffree = 1u << 30, .f_namemax = 255};
  fuse_reply_statfs(req, &s);
}

static const struct fuse_lowlevel_ops ops = {
  .init = f_init, .lookup = f_lookup, .getattr = f_getattr, .setattr = f_setattr, .create = f_create,
  .mkdir = f_mkdir, .open = f_open, .read = f_read, .write = f_write, .flush = f_flush, .release = f_ok,
  .fsync = f_fsync, .unlink = f_unlink, .rmdir = f_rmdir, .opendir = f_opendir, .readdir = f_readdir,
  .releasedir = f_ok, .statfs = f_statfs,
};

/* Freed memory stays in the heap (no mmap'd blocks, no trimming), so faulting `bytes` in once serves every later write. */
static void reserve(size_t bytes) {
  if (!bytes) return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  char *p = malloc(bytes);
  if (!p) return;
  for (volatile char *v = p; v < p + bytes; v += 4096) *v = 0; /* volatile: the compiler would drop the stores and the malloc */
  free(p);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: floorfs DIR PIDFILE [mt] [BLOCKDEV]\n"); return 2; }
  int mt = 0;
  size_t reserved = 0;
  static char opts[512] = "default_permissions,subtype=floorfs,fsname=floorfs";
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "mt") == 0) mt = 1;
    else if (strncmp(argv[i], "reserve=", 8) == 0) reserved = strtoull(argv[i] + 8, NULL, 10);
    /* A block device (a loop device over a placeholder): mounted fuseblk, as pram is, so RELEASE is synchronous and sync(2) sends SYNCFS for both. */
    else snprintf(opts, sizeof opts, "default_permissions,subtype=floorfs,blkdev,blksize=4096,fsname=%s", argv[i]);
  }
  char *fargv[] = {argv[0], "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  add(0, "", S_IFDIR | 0755); /* ino 1: the root */
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!se) return 1;
  if (fuse_session_mount(se, argv[1]) != 0) return 1;
  if (fuse_daemonize(0) != 0) return 1;
  reserve(reserved); /* after the fork: the pages are the server's own, not copy-on-write */
  /* Written whole, then renamed: the caller, whose wait ended with the mount, polls for it. */
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  FILE *pf = fopen(tmp, "w");
  if (pf) { fprintf(pf, "%d\n", (int)getpid()); fclose(pf); rename(tmp, argv[2]); }
  int r;
  if (mt) {
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    r = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
  } else r = fuse_session_loop(se);
  fuse_session_unmount(se);
  fuse_session_destroy(se);
  return r ? 1 : 0;
}
