/*
 * pram's own native addon: the few Linux calls Node does not offer. This file
 * holds the small ones (fallocate, memfd_create, flock, a generic ioctl, a unix
 * datagram carrying fds in SCM_RIGHTS — systemd's notify protocol) and the
 * module's registration; mappings live in mapping.c, FUSE over io_uring in
 * fuse_uring.c, the /dev/fuse reader's uv_poll wake-up in fuse_poll.c, crc32c
 * in crc32c.c, a v3 record stream's framing and fields in records.c, the
 * argument and error helpers in napi_util.c.
 * Plain C over Node-API. Policy (which file, which size, which lock) lives in
 * src/mem/; this code only turns syscalls into values and errno into errors.
 */
#include <node_api.h>
#include "napi_util.h"
#include "pram_native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* fallocate(fd, mode, offset, length). */
static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  int32_t fd, mode; int64_t off, len;
  if (!get_i32(env, argv[0], &fd, "fallocate: fd must be an integer")) return NULL;
  if (!get_i32(env, argv[1], &mode, "fallocate: mode must be an integer")) return NULL;
  if (!get_i64(env, argv[2], &off, "fallocate: offset must be an integer")) return NULL;
  if (!get_i64(env, argv[3], &len, "fallocate: length must be an integer")) return NULL;
  int rc;
  do rc = fallocate(fd, mode, (off_t)off, (off_t)len); while (rc != 0 && errno == EINTR);
  if (rc != 0) return throw_errno(env, errno, "fallocate");
  return NULL;
}

/* memfdCreate(name, flags) -> fd. */
static napi_value js_memfd_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  char name[250]; size_t n; int32_t flags;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok) return type_error(env, "memfdCreate: name must be a string");
  if (!get_i32(env, argv[1], &flags, "memfdCreate: flags must be an integer")) return NULL;
  int fd = memfd_create(name, (unsigned)flags);
  if (fd < 0) return throw_errno(env, errno, "memfd_create");
  napi_value r;
  napi_create_int32(env, fd, &r);
  return r;
}

/* flock(fd, operation). */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t fd, op;
  if (!get_i32(env, argv[0], &fd, "flock: fd must be an integer")) return NULL;
  if (!get_i32(env, argv[1], &op, "flock: operation must be an integer")) return NULL;
  int rc;
  do rc = flock(fd, op); while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno == EWOULDBLOCK) {
    /* Same number as EAGAIN on Linux; flock(2) documents it by this name. */
    throw_errno(env, errno, "flock");
    napi_value ex, code;
    napi_get_and_clear_last_exception(env, &ex);
    napi_create_string_utf8(env, "EWOULDBLOCK", NAPI_AUTO_LENGTH, &code);
    napi_set_named_property(env, ex, "code", code);
    napi_throw(env, ex);
    return NULL;
  }
  if (rc != 0) return throw_errno(env, errno, "flock");
  return NULL;
}

/* ioctl(fd, request, arg) -> int: arg is a Buffer (the argument struct), an integer, or null. */
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  int32_t fd; int64_t req;
  if (!get_i32(env, argv[0], &fd, "ioctl: fd must be an integer")) return NULL;
  if (!get_i64(env, argv[1], &req, "ioctl: request must be an integer")) return NULL;
  if (req < 0 || req > UINT32_MAX) return type_error(env, "ioctl: request must be a 32-bit unsigned integer");
  unsigned long arg = 0;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  bool is_buf = false;
  if (t == napi_object) napi_is_buffer(env, argv[2], &is_buf);
  if (is_buf) {
    uint8_t *data = NULL; size_t len;
    if (!get_buffer(env, argv[2], &data, &len, "ioctl: arg")) return NULL;
    arg = (unsigned long)data;
  } else if (t == napi_number || t == napi_bigint) {
    int64_t x;
    if (!get_i64(env, argv[2], &x, "ioctl: arg must be an integer")) return NULL;
    arg = (unsigned long)x;
  } else if (t != napi_null && t != napi_undefined) {
    return type_error(env, "ioctl: arg must be a Buffer, an integer or null");
  }
  int rc = ioctl(fd, (unsigned long)req, arg);
  if (rc < 0) return throw_errno(env, errno, "ioctl");
  napi_value r;
  napi_create_int32(env, rc, &r);
  return r;
}

/* Most fds one datagram carries (systemd's own sd_notify has no lower limit; 16 is plenty here). */
#define MAX_SEND_FDS 16

/*
 * sendUnixDatagram(address, data, fds) -> bytes sent. address is sun_path's
 * bytes as they go on the wire (a leading NUL for an abstract name, no
 * trailing NUL); fds ride along in one SCM_RIGHTS message. Node's dgram has
 * no unix sockets and net cannot pass fds, hence this call.
 */
static napi_value js_send_unix_datagram(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  uint8_t *addr, *data;
  size_t alen, dlen;
  if (!get_buffer(env, argv[0], &addr, &alen, "address must be a Buffer")) return NULL;
  if (!get_buffer(env, argv[1], &data, &dlen, "data must be a Buffer")) return NULL;
  bool is_array;
  napi_is_array(env, argv[2], &is_array);
  if (!is_array) return type_error(env, "fds must be an array of numbers");
  uint32_t nfds;
  napi_get_array_length(env, argv[2], &nfds);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (alen == 0 || alen > sizeof sa.sun_path || nfds > MAX_SEND_FDS) return throw_errno(env, EINVAL, "sendmsg");
  memcpy(sa.sun_path, addr, alen);
  int fds[MAX_SEND_FDS];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    napi_get_element(env, argv[2], i, &v);
    if (!get_i32(env, v, &fds[i], "fds must be an array of numbers")) return NULL;
  }
  union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)]; } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = { .iov_base = data, .iov_len = dlen };
  struct msghdr msg = {
    .msg_name = &sa, .msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen),
    .msg_iov = &iov, .msg_iovlen = 1,
  };
  if (nfds > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, errno, "socket");
  ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
  int err = errno;
  close(s);
  if (n < 0) return throw_errno(env, err, "sendmsg");
  napi_value r;
  napi_create_int64(env, (int64_t)n, &r);
  return r;
}

static napi_value js_pagesize(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, (int32_t)sysconf(_SC_PAGESIZE), &r);
  return r;
}

static void set_const(napi_env env, napi_value exports, const char *name, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, exports, name, v);
}

#define CONST(name) set_const(env, exports, #name, (double)(name))

static const napi_fn_t FNS[] = {
  {"fallocate", js_fallocate},
  {"memfdCreate", js_memfd_create},
  {"flock", js_flock},
  {"ioctl", js_ioctl},
  {"pagesize", js_pagesize},
  {"sendUnixDatagram", js_send_unix_datagram},
};

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  set_fns(env, exports, FNS);
  CONST(MADV_NORMAL); CONST(MADV_RANDOM); CONST(MADV_SEQUENTIAL); CONST(MADV_WILLNEED);
  CONST(MADV_DONTNEED); CONST(MADV_REMOVE); CONST(MADV_HUGEPAGE); CONST(MADV_NOHUGEPAGE);
  CONST(MADV_POPULATE_READ); CONST(MADV_POPULATE_WRITE);
  CONST(MFD_CLOEXEC); CONST(MFD_ALLOW_SEALING); CONST(MFD_HUGETLB);
  CONST(LOCK_SH); CONST(LOCK_EX); CONST(LOCK_NB); CONST(LOCK_UN);
  CONST(FALLOC_FL_KEEP_SIZE); CONST(FALLOC_FL_PUNCH_HOLE);
  CONST(BLKGETSIZE64);
  mapping_init(env, exports);
  fuse_uring_init(env, exports);
  fuse_poll_init(env, exports);
  crc32c_init(env, exports);
  ahead_init(env, exports);
  records_init(env, exports);
  mapread_init(env, exports);
  return exports;
}
