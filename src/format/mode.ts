// File type bits of a mode (Linux numbering, as saved in meta pages and
// spoken by FUSE): one home for every layer (pram/ saves and loads them, fs/
// and fuse/ test them).

export const S_IFMT = 0o170000, S_IFSOCK = 0o140000, S_IFLNK = 0o120000, S_IFREG = 0o100000,
  S_IFBLK = 0o060000, S_IFDIR = 0o040000, S_IFCHR = 0o020000, S_IFIFO = 0o010000;
