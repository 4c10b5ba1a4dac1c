// A log page's share of the stream, as the replay's walk (logwalk.ts) finds it and
// the readers above it (a record's bytes, a SPAN's page crcs, the publish step) take
// it: named below all of them, which import it and nothing else from one another.

/** One log page's stream: bytes [start, end) of the page; first: where its first record starts (0 = none). */
export interface Segment { pfn: number; start: number; end: number; first: number; page: Buffer }
