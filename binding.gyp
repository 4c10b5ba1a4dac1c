{
  "targets": [
    {
      "target_name": "pram_native",
      "sources": ["native/pram_native.c", "native/napi_util.c", "native/mapping.c", "native/fuse_uring.c", "native/io_ring.c", "native/fuse_poll.c", "native/crc32c.c", "native/crc32c_sum.c", "native/crc32c_copy.c", "native/ahead.c", "native/records.c", "native/mapread.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2", "-pthread"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
