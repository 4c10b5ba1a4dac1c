/*
 * The /dev/fuse reader's wake-up on the main thread: a uv_poll_t on the
 * session's fd (non-blocking; /dev/fuse supports poll) calls JS when a request
 * is waiting, and JS reads requests with readOrErrno until EAGAIN. No pool
 * thread sits in read(2) and no uv_async hop follows each request: the kernel
 * wakes the event loop's epoll_wait directly (src/fuse/loop.ts).
 *
 * fusePollStart(fd, onReadable) -> handle; onReadable(status) runs through
 *   napi_make_callback (so promises and nextTicks settle after it), status 0
 *   or a negative libuv error (UV_EBADF when the kernel reports POLLERR: the
 *   connection is gone; libuv has stopped the watcher then, and the read JS
 *   makes next answers ENODEV).
 * fusePollStop(handle): stops and closes the watcher; later calls are no-ops.
 * readOrErrno(fd, buffer) -> bytes read, or -errno: EAGAIN is the normal end
 *   of a batch, so it is a value, not an exception.
 * writevOrErrno(fd, buffers) -> bytes written, or -errno: a reply (ENOENT: the
 *   request was interrupted, ENODEV: unmounted are values the loop expects).
 * pwriteOrErrno(fd, bytes, at, len, pos) -> bytes written, or -errno: a write
 *   of the arena through its fd. Both are Node's writevSync/writeSync without
 *   their argument checks and exception objects (a few us per request).
 * preadOrErrno(fd, bytes, at, len, pos) -> bytes read, or -errno: pwriteOrErrno's
 *   read (a FUSE READ copied out of the arena), Node's readSync without its checks.
 */
#include <node_api.h>
#include <uv.h>
#include "napi_util.h"
#include "pram_native.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct {
  uv_poll_t poll;        /* first: the uv handle's address is the struct's */
  napi_env env;
  napi_ref on_readable;
  napi_async_context ctx;
  int closing;           /* uv_close called: no more callbacks into JS */
  int env_gone;          /* closed by the env's cleanup hook: no N-API calls at close */
} fuse_poll_t;

static const napi_type_tag POLL_TAG = { 0x7072616d66757365ULL, 0x706f6c6c68616e64ULL };

static void on_closed(uv_handle_t *h) {
  fuse_poll_t *p = (fuse_poll_t *)h;
  if (!p->env_gone) {
    napi_delete_reference(p->env, p->on_readable);
    napi_async_destroy(p->env, p->ctx);
  }
  free(p);
}

static void poll_close(fuse_poll_t *p) {
  if (p->closing) return;
  p->closing = 1;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_closed);
}

static void on_env_cleanup(void *arg) {
  fuse_poll_t *p = arg;
  p->env_gone = 1;
  poll_close(p);
}

static void on_event(uv_poll_t *h, int status, int events) {
  (void)events;
  fuse_poll_t *p = (fuse_poll_t *)h;
  if (p->closing) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, arg, result;
  napi_get_reference_value(env, p->on_readable, &fn);
  napi_get_global(env, &recv);
  napi_create_int32(env, status, &arg);
  /* JS may stop the watcher inside: p stays valid until on_closed, a later loop phase. */
  if (napi_make_callback(env, p->ctx, recv, fn, 1, &arg, &result) == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);   /* as an exception in an fs callback: 'uncaughtException' */
  }
  napi_close_handle_scope(env, scope);
}

/* (fd, second) arguments: fd as int32 and the second as given; false with a TypeError thrown. */
static int fd_and_arg(napi_env env, napi_callback_info info, int32_t *fd, napi_value *second, const char *usage) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return 0;
  }
  *second = argv[1];
  return get_i32(env, argv[0], fd, usage);
}

static napi_value js_fuse_poll_start(napi_env env, napi_callback_info info) {
  int32_t fd;
  napi_value on_readable;
  if (!fd_and_arg(env, info, &fd, &on_readable, "fusePollStart(fd, onReadable): fd must be an integer")) return NULL;
  napi_valuetype t = napi_undefined;
  napi_typeof(env, on_readable, &t);
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "fusePollStart: onReadable must be a function");
    return NULL;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return throw_errno(env, errno, "fcntl");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_errno(env, EINVAL, "uv_poll_init");
  fuse_poll_t *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, ENOMEM, "uv_poll_init");
  p->env = env;
  int rc = uv_poll_init(loop, &p->poll, fd);
  if (rc != 0) { free(p); return throw_errno(env, -rc, "uv_poll_init"); }
  napi_value resource, name, handle;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "pram:fusePoll", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, on_readable, 1, &p->on_readable);
  napi_async_init(env, resource, name, &p->ctx);
  rc = uv_poll_start(&p->poll, UV_READABLE, on_event);
  if (rc != 0) {
    poll_close(p);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  napi_create_object(env, &handle);
  napi_type_tag_object(env, handle, &POLL_TAG);
  napi_wrap(env, handle, p, NULL, NULL, NULL);   /* no finalizer: the watcher lives until stopped */
  napi_add_env_cleanup_hook(env, on_env_cleanup, p);
  return handle;
}

static napi_value js_fuse_poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool ours = false;
  if (argc >= 1) napi_check_object_type_tag(env, argv[0], &POLL_TAG, &ours);
  if (!ours) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "fusePollStop: expected a handle from fusePollStart");
    return NULL;
  }
  void *data = NULL;
  if (napi_remove_wrap(env, argv[0], &data) != napi_ok || data == NULL) return NULL;   /* stopped already */
  fuse_poll_t *p = data;
  napi_remove_env_cleanup_hook(env, on_env_cleanup, p);
  poll_close(p);
  return NULL;
}

static napi_value js_read_or_errno(napi_env env, napi_callback_info info) {
  int32_t fd;
  napi_value buf;
  if (!fd_and_arg(env, info, &fd, &buf, "readOrErrno(fd, buffer): fd must be an integer")) return NULL;
  bool is_buf = false;
  napi_is_buffer(env, buf, &is_buf);
  if (!is_buf) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "readOrErrno: buffer must be a Buffer");
    return NULL;
  }
  void *data;
  size_t len;
  napi_get_buffer_info(env, buf, &data, &len);
  ssize_t n = read(fd, data, len);
  napi_value r;
  napi_create_int64(env, n >= 0 ? (int64_t)n : -(int64_t)errno, &r);
  return r;
}

static napi_value errno_value(napi_env env, ssize_t n) {
  napi_value r;
  napi_create_int64(env, n >= 0 ? (int64_t)n : -(int64_t)errno, &r);
  return r;
}

/* The bytes of a Buffer or any typed array; false with a TypeError thrown. */
static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return 0;
  }
  napi_typedarray_type t;
  size_t n, off;
  napi_value ab;
  void *d;
  napi_get_typedarray_info(env, v, &t, &n, &d, &ab, &off);
  if (t != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return 0;
  }
  *data = d;
  *len = n;
  return 1;
}

#define REPLY_IOVECS_MAX 64

static napi_value js_writev_or_errno(napi_env env, napi_callback_info info) {
  int32_t fd;
  napi_value list;
  const char *usage = "writevOrErrno(fd, buffers): buffers must be an array of at most 64 Uint8Arrays";
  if (!fd_and_arg(env, info, &fd, &list, usage)) return NULL;
  uint32_t count = 0;
  bool is = false;
  napi_is_array(env, list, &is);
  if (!is || napi_get_array_length(env, list, &count) != napi_ok || count > REPLY_IOVECS_MAX) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  struct iovec iov[REPLY_IOVECS_MAX];
  for (uint32_t i = 0; i < count; i++) {
    napi_value b;
    napi_get_element(env, list, i, &b);
    if (!bytes_of(env, b, (uint8_t **)&iov[i].iov_base, &iov[i].iov_len, usage)) return NULL;
  }
  return errno_value(env, writev(fd, iov, (int)count));
}

/* pwrite(2) (write) or pread(2) of bytes[at, at + len) at byte pos of fd. */
static napi_value positional_io(napi_env env, napi_callback_info info, int write, const char *usage) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  int64_t at, len, pos;
  uint8_t *data;
  size_t n;
  if (argc < 5 || !get_i32(env, argv[0], &fd, usage) || !bytes_of(env, argv[1], &data, &n, usage)) return NULL;
  if (napi_get_value_int64(env, argv[2], &at) != napi_ok || napi_get_value_int64(env, argv[3], &len) != napi_ok ||
      napi_get_value_int64(env, argv[4], &pos) != napi_ok || at < 0 || len < 0 || pos < 0 || (uint64_t)(at + len) > n) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
    return NULL;
  }
  return errno_value(env, write ? pwrite(fd, data + at, (size_t)len, (off_t)pos) : pread(fd, data + at, (size_t)len, (off_t)pos));
}

static napi_value js_pwrite_or_errno(napi_env env, napi_callback_info info) {
  return positional_io(env, info, 1, "pwriteOrErrno(fd, bytes, at, len, pos): integers and a Uint8Array holding [at, at + len)");
}

static napi_value js_pread_or_errno(napi_env env, napi_callback_info info) {
  return positional_io(env, info, 0, "preadOrErrno(fd, bytes, at, len, pos): integers and a Uint8Array holding [at, at + len)");
}

static const napi_fn_t FNS[] = {
  {"writevOrErrno", js_writev_or_errno},
  {"pwriteOrErrno", js_pwrite_or_errno},
  {"preadOrErrno", js_pread_or_errno},
  {"fusePollStart", js_fuse_poll_start},
  {"fusePollStop", js_fuse_poll_stop},
  {"readOrErrno", js_read_or_errno},
};

void fuse_poll_init(napi_env env, napi_value exports) {
  set_fns(env, exports, FNS);
}
