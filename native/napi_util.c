/* Node-API helpers shared by the addon's source files (napi_util.h). */
#include "napi_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Throws an Error shaped like Node's own system errors (code, errno, syscall). */
napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char msg[256];
  const char *name = strerrorname_np(err);
  if (name == NULL) name = "EUNKNOWN";
  snprintf(msg, sizeof msg, "%s: %s, %s", name, strerror(err), syscall);
  napi_value m, e, v;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, m, &e) != napi_ok) return NULL;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "code", v);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_throw(env, e);
  return NULL;
}

napi_value type_error(napi_env env, const char *what) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
  return NULL;
}

/* A number or a bigint as int64; false (with a TypeError thrown) otherwise. */
int get_i64(napi_env env, napi_value v, int64_t *out, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (d != (double)(int64_t)d) { type_error(env, what); return 0; }
    *out = (int64_t)d;
    return 1;
  }
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_int64(env, v, out, &lossless);
    if (!lossless) { type_error(env, what); return 0; }
    return 1;
  }
  type_error(env, what);
  return 0;
}

int get_i32(napi_env env, napi_value v, int32_t *out, const char *what) {
  int64_t x;
  if (!get_i64(env, v, &x, what)) return 0;
  if (x < INT32_MIN || x > INT32_MAX) { type_error(env, what); return 0; }
  *out = (int32_t)x;
  return 1;
}

int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  bool is;
  napi_is_buffer(env, v, &is);
  if (!is) { type_error(env, what); return 0; }
  void *d;
  napi_get_buffer_info(env, v, &d, len);
  *data = d;
  return 1;
}

napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_value self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  if (argc < want) return type_error(env, "pram_native: too few arguments");
  return self;
}

void set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

void set_fns_n(napi_env env, napi_value exports, const napi_fn_t *fns, size_t n) {
  for (size_t i = 0; i < n; i++) set_fn(env, exports, fns[i].name, fns[i].cb);
}

int pram_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is = false;
  napi_typedarray_type tt;
  napi_is_typedarray(env, v, &is);
  if (!is) return 0;
  napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL);
  return tt == want;
}
