// The arena opener lives in open/ (below api/ and fuse/, one for every caller);
// re-exported here for the library's users and dist/api/arena.js importers.
export { DEFAULT_ARENA, attachHeader, formatArena, openArena, parseArenaName,
  type ArenaName, type CreateOptions, type FormatOptions, type OpenedArena } from '../open/arena.js';
export { bootCmdline } from '../open/cmdline.js';
export type { PramError } from '../open/errors.js';
