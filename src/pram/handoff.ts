// Where the chain's head pfn is published for the next owner. The simulated
// machine shows it in /sys/kernel/pram (MemoryHandoff: a value the machine
// carries over kexec); an arena keeps it in one of the two checkpoint slots
// of its header at pfn 0 (ArenaHeaderHandoff). commit() is the atomic switch
// from the previous checkpoint to the new one.

import { readPage, type PhysMem } from '../mem/physmem.js';
import { FORMAT_VERSION, HeaderView, checkHeader, slotName, type AttachError, type Geometry, type SlotLog } from '../format/header.js';
import { getU64, PRAM_MAGIC } from '../format/v1.js';
import type { Loss } from './image.js';

export interface Handoff {
  /** secondPfn: the second link page, when the handoff keeps it (arena slots since slot extension 1). */
  read(): { headPfn: number; generation: number; secondPfn?: number; log?: SlotLog } | null;
  commit(headPfn: number, generation: number): void;
  /** Publish a v3 log (a handoff that can name one: the arena header's slots). */
  commitLog?(headPfn: number, generation: number, log: SlotLog): void;
  /** Damaged checkpoint slots (a handoff kept in a header at pfn 0: the arena's); see ArenaHeaderHandoff. */
  slotDamage?(): { losses: Loss[]; refusal: string | null };
  /** The valid slot read() does not return (the older checkpoint), and its name; null when there is none. */
  older?(): { headPfn: number; generation: number; log?: SlotLog; name: string } | null;
}

/** A head pfn held in a variable (the simulated machine's /sys/kernel/pram). */
export class MemoryHandoff implements Handoff {
  constructor(public headPfn = 0, public generation = 0) {}
  read(): { headPfn: number; generation: number } | null {
    return this.headPfn || this.generation ? { headPfn: this.headPfn, generation: this.generation } : null;
  }
  commit(headPfn: number, generation: number): void {
    this.headPfn = headPfn;
    this.generation = generation;
  }
}

/** The two checkpoint slots of an arena header (format/header.ts). */
export class ArenaHeaderHandoff implements Handoff {
  /** Counts stored with the next commit (informational: `pram info`). */
  pending = { pages: 0, nodes: 0 };

  private constructor(private readonly mem: PhysMem) {}

  /** Write a fresh header (no checkpoint) into pfn 0. */
  /** version 3 (the default): the live v3 log; 2: v2 chains only (PRAM_FORMAT=2, or what an older pram wrote). */
  static format(mem: PhysMem, flags = 0, version = defaultVersion()): ArenaHeaderHandoff {
    const g: Geometry = { pageSize: mem.pageSize, pageCount: mem.pageCount, flags };
    new HeaderView(mem.page(0)).format(g, version);
    mem.sync();
    return new ArenaHeaderHandoff(mem);
  }

  /** Check the header in order (magic, version, page size, page count, crc). */
  static attach(mem: PhysMem): ArenaHeaderHandoff | AttachError {
    const err = checkHeader(readPage(mem, 0), { pageSize: mem.pageSize, pageCount: mem.pageCount });
    return err ?? new ArenaHeaderHandoff(mem);
  }

  get flags(): number { return this.header().flags; }
  get version(): number { return this.header().version; }

  /** The header to read (mem/physmem.ts readPage: not mapped until the first commit writes it). */
  private header(): HeaderView { return new HeaderView(readPage(this.mem, 0)); }

  read(): { headPfn: number; generation: number; secondPfn?: number; log?: SlotLog } | null {
    const cur = this.header().current();
    if (!cur) return null;
    const { headPfn, generation, secondPfn, log } = cur.slot;
    if (log) return { headPfn, generation, log };
    return secondPfn === undefined ? { headPfn, generation } : { headPfn, generation, secondPfn };
  }

  older(): { headPfn: number; generation: number; log?: SlotLog; name: string } | null {
    const h = this.header(), cur = h.current();
    if (!cur) return null;
    const which = cur.which === 0 ? 1 : 0, s = h.readSlot(which);
    if (!s) return null;
    return s.log ? { headPfn: s.headPfn, generation: s.generation, log: s.log, name: slotName(which) } : { headPfn: s.headPfn, generation: s.generation, name: slotName(which) };
  }

  /**
   * Damaged checkpoint slots. A damaged slot may have held the newest checkpoint
   * (bit rot) or a torn commit: either way the newest valid slot is mounted, and
   * the damage is a loss, never silent. With no valid slot but a damaged one there
   * is nothing safe to mount: `refusal` says why (an empty file system saved over
   * it would destroy what salvage could still find).
   */
  slotDamage(): { losses: Loss[]; refusal: string | null } {
    const { current, damaged } = this.header().survey();
    const x = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
    const what = (d: { which: 0 | 1; saved: number; computed: number; why: string }) =>
      `arena header slot ${slotName(d.which)} is damaged (${d.why === 'crc mismatch' ? '' : `${d.why}; `}crc saved ${x(d.saved)}, computed ${x(d.computed)})`;
    if (!current && damaged.length) {
      return { losses: [], refusal: `${damaged.map(what).join('; ')} and no slot holds a valid checkpoint: ` +
        `refusing to mount an empty file system over it ('pram check' reports the same; 'pram format --force' starts afresh and loses the saved image)` };
    }
    const losses = damaged.map((d): Loss => ({ path: null, pfn: 0,
      what: `${what(d)}; mounted the checkpoint of slot ${slotName(current!.which)}, generation ${current!.slot.generation}; anything newer may be lost` }));
    return { losses, refusal: null };
  }

  /**
   * Make the chain durable, then overwrite the slot holding the older checkpoint,
   * then make that durable. A crash before the slot write leaves the previous
   * checkpoint current; a torn slot write fails its crc and the other slot wins.
   * The slot also keeps the second link pfn (read from the new head link page),
   * so a damaged head link page costs only its own entries.
   */
  commit(headPfn: number, generation: number): void {
    const h = new HeaderView(this.mem.page(0));
    const cur = h.current();
    const which: 0 | 1 = cur ? (cur.which === 0 ? 1 : 0) : 0;
    this.mem.sync();
    h.writeSlot(which, { generation, headPfn, pages: this.pending.pages, nodes: this.pending.nodes, secondPfn: this.secondLink(headPfn) });
    this.mem.sync();
  }

  /**
   * Publish a v3 log as commit() publishes a chain: the records durable first,
   * then the older slot (extension 2: head, tail, page count), durable. The
   * slot says what it names, so a header still at version 2 or 3 is raised to
   * 4 only after: a kill in between leaves an older header whose slot names a
   * log, which mounts (the version then follows at the next commit).
   */
  commitLog(headPfn: number, generation: number, log: SlotLog): void {
    const h = new HeaderView(this.mem.page(0));
    const cur = h.current();
    const which: 0 | 1 = cur ? (cur.which === 0 ? 1 : 0) : 0;
    this.mem.sync();
    h.writeSlot(which, { generation, headPfn, pages: this.pending.pages, nodes: this.pending.nodes, log });
    this.mem.sync();
    if (h.version < FORMAT_VERSION) { h.setVersion(FORMAT_VERSION); this.mem.sync(); }
  }

  /** The head link page's link_pfn (its next page), 0 when there is none or the page is not a link page. */
  private secondLink(headPfn: number): number {
    if (headPfn <= 0 || headPfn >= this.mem.pageCount) return 0;
    const page = this.mem.page(headPfn);
    if (page.readUInt32LE(0) !== PRAM_MAGIC) return 0;
    const next = getU64(page, 16);
    return Number.isSafeInteger(next) && next < this.mem.pageCount ? next : 0;
  }
}

/** Header version of a new arena: 4 (v3 log, SPANs allowed), or 2 with PRAM_FORMAT=2 (v2 chains, as an older pram wrote them). */
export function defaultVersion(): number {
  return process.env['PRAM_FORMAT'] === '2' ? 2 : FORMAT_VERSION;
}
