// The image model: the seam between fs/ (which owns live inodes) and the
// engine (which saves them into a chain and loads them back). An image is a
// flat list of nodes; the tree is given by each node's names (parent ino + name).
// Data pages are never copied across this seam: a node carries its page map.

/** File index (in pages) -> pfn. Implemented by fs/'s page cache; iteration is by ascending index. */
export interface PageMap {
  get(index: number): number;          // pfn, or 0 for a hole (pfn 0 is never a data page)
  set(index: number, pfn: number): void;
  /** Optional bulk form of set for a run (index+k -> pfn+k); the loader uses it for extents. */
  setRun?(index: number, pfn: number, count: number): void;
  delete(index: number): void;
  readonly count: number;              // pages present
  entries(): IterableIterator<[index: number, pfn: number]>;
}

export interface NodeName {
  parent: number;  // ino of the directory holding the name (root's ino is 1)
  name: string;    // one path component: 1..255 bytes of UTF-8, no '/' or NUL, not '.' or '..'
}

export interface NodeImage {
  ino: number;           // unique within the image; 1 is the root directory
  mode: number;          // S_IFMT bits | permission bits
  uid: number;
  gid: number;
  rdev: number;          // device number for char/block nodes, else 0
  size: number;          // bytes (regular file, symlink target length); 0 for directories
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  names: NodeName[];     // every dentry naming this node (hard links); empty for the root
  xattrs: [name: string, value: Uint8Array][];
  pages: PageMap;        // file content or symlink target; empty for others
  /**
   * The whole content (a regular file's bytes, a symlink's target) held beside
   * the node instead of in pages: then `pages` is empty and `size` equals its
   * length, at most INLINE_MAX (format/inline.ts). Absent, null or empty: the
   * content is in `pages` (an empty file has neither). Never written after it is handed over (fs/ replaces, never
   * changes, an inline buffer), so a save may keep it as it is. A load's may point into memory the engine reuses
   * (a lazy mount's group buffer: valid until the next group loads): fs/ copies it as it makes the inode. A v1/v2 chain
   * has no inline form: save.ts writes it into a data page of the chain.
   */
  inline?: Uint8Array | null;
}

/** Something that could not be restored, said exactly. */
export interface Loss {
  path: string | null;   // path of the affected file when known
  pfn: number | null;    // the damaged or conflicting page
  what: string;          // e.g. 'data page 12 (bytes 49152-53247) failed crc32c'
  range?: { start: number; end: number }; // byte range lost, end exclusive
}

export interface LoadedImage {
  nodes: NodeImage[];
  losses: Loss[];
}

/**
 * What changed since the last commit (fs/ tracks it; a v3 commit logs only
 * this). Nodes are whole (an INODE record each); names and pages are what
 * changed of them. A node listed in `fresh` was made since the last commit
 * under a reused ino: whatever an older log says of it is dropped first.
 */
export interface ChangeSet {
  nodes: NodeImage[];                   // dirty live nodes (their `names` are not used)
  fresh: Set<number>;                   // inos made since the last commit, reused (a log may hold them)
  dropped: number[];                    // inos gone (unlinked and closed, or unlinked and open)
  names: { parent: number; name: string; ino: number }[];  // a name now naming ino, or gone (ino 0)
  /**
   * Nodes whose only change since their last record is their atime (a read, relatime): inos strictly
   * ascending, times[k] the atime of inos[k]. They are in no other list; a commit writes them as ATIMES
   * records (v3 minor 4), not an INODE each.
   */
  atimes?: { inos: Float64Array; times: BigUint64Array };
  /** Per ino of `nodes`: the 32-page groups (index / 32) with a page set, replaced or removed, each with a bit per page changed. */
  groups: Map<number, ReadonlyMap<number, number>>;
}
