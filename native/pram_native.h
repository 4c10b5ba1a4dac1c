/* What pram_native.c shares with the addon's other source files. */
#ifndef PRAM_NATIVE_H
#define PRAM_NATIVE_H
#include <node_api.h>
#include <stdint.h>

/* Throws an Error shaped like Node's own system errors (code, errno, syscall); returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);
/* A number or bigint argument as int32; false (with a TypeError thrown) otherwise. */
int get_i32(napi_env env, napi_value v, int32_t *out, const char *what);
/* exports[name] = a function calling cb. */
void set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

/* FUSE over io_uring (fuse_uring.c): adds uringOpen/uringRegister/uringCommit/uringStop. */
void fuse_uring_init(napi_env env, napi_value exports);

/* The /dev/fuse reader's uv_poll wake-up (fuse_poll.c): adds fusePollStart/fusePollStop/readOrErrno. */
void fuse_poll_init(napi_env env, napi_value exports);

/* crc32c over many buffers on several threads (crc32c.c): adds crc32cMany. */
void crc32c_init(napi_env env, napi_value exports);

#endif
