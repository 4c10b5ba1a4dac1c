// A small machine for fast end-to-end runs: 64 MiB RAM, kexec range 0-16M.
const MiB = 1 << 20;
export const SMALL_MACHINE = {
  pageSize: 4096, mmioHoleBytes: 4 * MiB, kernelImageBytes: 2 * MiB, initrdBytes: 2 * MiB,
  kernelLoadBytes: 4 * MiB, earlyWindowBytes: 2 * MiB, earlyAllocPagesMax: 32,
  earlyAllocsMin: 4, earlyAllocsMax: 12, initrdJitterBytes: 1 * MiB,
};
export const SMALL = {
  ramBytes: 64 * MiB, memMinBytes: 0, memMaxBytes: 16 * MiB,
  bigFileBytes: 4 * MiB, smallFileBytesMax: 64 * 1024, machine: SMALL_MACHINE,
};
export { MiB };
