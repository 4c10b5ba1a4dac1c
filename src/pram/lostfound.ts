// /lost+found, one naming for both places that put a node no name reaches
// there: the engine's load (pram/tree.ts, on the saved tree) and fs/'s
// rebuild of inodes from images built elsewhere (fs/snapshot.ts).

export const LOST_FOUND = 'lost+found';

/** The name of a stray node in /lost+found. */
export const strayName = (ino: number): string => `#${ino}`;

/** The loss reported for a stray moved to `path`; `was` says what it was named before. */
export const strayLoss = (was: string, path: string): string => `parent directory lost or unreachable (was ${was}): moved to ${path}`;

/** `want`, or want.1, want.2 ... : the first name not in `taken`, added to it. */
export function uniqueName(taken: Set<string>, want: string): string {
  let name = want;
  for (let i = 1; taken.has(name); i++) name = `${want}.${i}`;
  taken.add(name);
  return name;
}
