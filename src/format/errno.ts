// Linux errno values. Layers below api/ return these negated (-ENOENT) for
// expected failures; api/ and fuse/ turn them into Node errors or reply headers.

export const EPERM = 1, ENOENT = 2, EIO = 5, E2BIG = 7, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
  EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20,
  EISDIR = 21, EINVAL = 22, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EMLINK = 31,
  ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61,
  EOVERFLOW = 75, EOPNOTSUPP = 95, ENOTSUP = 95, EINTR = 4, ENXIO = 6, ETXTBSY = 26;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM', [ENOENT]: 'ENOENT', [EIO]: 'EIO', [E2BIG]: 'E2BIG', [EBADF]: 'EBADF',
  [EAGAIN]: 'EAGAIN', [ENOMEM]: 'ENOMEM', [EACCES]: 'EACCES', [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY', [EEXIST]: 'EEXIST', [EXDEV]: 'EXDEV', [ENODEV]: 'ENODEV',
  [ENOTDIR]: 'ENOTDIR', [EISDIR]: 'EISDIR', [EINVAL]: 'EINVAL', [EFBIG]: 'EFBIG',
  [ENOSPC]: 'ENOSPC', [ESPIPE]: 'ESPIPE', [EROFS]: 'EROFS', [EMLINK]: 'EMLINK',
  [ERANGE]: 'ERANGE', [ENAMETOOLONG]: 'ENAMETOOLONG', [ENOSYS]: 'ENOSYS',
  [ENOTEMPTY]: 'ENOTEMPTY', [ELOOP]: 'ELOOP', [ENODATA]: 'ENODATA', [EOVERFLOW]: 'EOVERFLOW',
  [EOPNOTSUPP]: 'EOPNOTSUPP', [EINTR]: 'EINTR', [ENXIO]: 'ENXIO', [ETXTBSY]: 'ETXTBSY',
};

/** 'ENOENT' for 2 or -2. */
export function errnoName(errno: number): string {
  return NAMES[Math.abs(errno)] ?? `E${Math.abs(errno)}`;
}
