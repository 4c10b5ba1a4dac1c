/* Node-API helpers every source file of the addon uses: errors shaped like
 * Node's own, argument readers that throw a TypeError naming what was wrong. */
#ifndef PRAM_NAPI_UTIL_H
#define PRAM_NAPI_UTIL_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Throws an Error shaped like Node's own system errors (code, errno, syscall); returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);
/* Throws a TypeError (code ERR_INVALID_ARG_TYPE) with message `what`; returns NULL. */
napi_value type_error(napi_env env, const char *what);
/* A number or bigint argument as int64 / int32; false (with a TypeError thrown) otherwise. */
int get_i64(napi_env env, napi_value v, int64_t *out, const char *what);
int get_i32(napi_env env, napi_value v, int32_t *out, const char *what);
/* A Buffer argument's bytes; false (with a TypeError thrown) otherwise. */
int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what);
/* The first `want` arguments into argv; NULL (with a TypeError thrown) when fewer came. */
napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* v is a typed array of type want: its data and length (elements); 0 otherwise. */
int pram_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len);
/* exports[name] = a function calling cb. */
void set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);
/* A part's functions, as a table: set_fns(env, exports, FNS) registers each. */
typedef struct { const char *name; napi_callback cb; } napi_fn_t;
void set_fns_n(napi_env env, napi_value exports, const napi_fn_t *fns, size_t n);
#define set_fns(env, exports, table) set_fns_n((env), (exports), (table), sizeof(table) / sizeof((table)[0]))

#endif
