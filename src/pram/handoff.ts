// Where the chain's head pfn is published for the next owner. The simulated
// machine shows it in /sys/kernel/pram (MemoryHandoff: a value the machine
// carries over kexec); an arena keeps it in one of the two checkpoint slots
// of its header at pfn 0 (ArenaHeaderHandoff). commit() is the atomic switch
// from the previous checkpoint to the new one.

import type { PhysMem } from '../mem/physmem.js';
import { HeaderView, checkHeader, type AttachError, type Geometry } from '../format/header.js';

export interface Handoff {
  read(): { headPfn: number; generation: number } | null;
  commit(headPfn: number, generation: number): void;
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
  static format(mem: PhysMem, flags = 0): ArenaHeaderHandoff {
    const g: Geometry = { pageSize: mem.pageSize, pageCount: mem.pageCount, flags };
    new HeaderView(mem.page(0)).format(g);
    mem.sync();
    return new ArenaHeaderHandoff(mem);
  }

  /** Check the header in order (magic, version, page size, page count, crc). */
  static attach(mem: PhysMem): ArenaHeaderHandoff | AttachError {
    const err = checkHeader(mem.page(0), { pageSize: mem.pageSize, pageCount: mem.pageCount });
    return err ?? new ArenaHeaderHandoff(mem);
  }

  get flags(): number { return new HeaderView(this.mem.page(0)).flags; }

  read(): { headPfn: number; generation: number } | null {
    const cur = new HeaderView(this.mem.page(0)).current();
    return cur ? { headPfn: cur.slot.headPfn, generation: cur.slot.generation } : null;
  }

  /**
   * Make the chain durable, then overwrite the slot holding the older checkpoint,
   * then make that durable. A crash before the slot write leaves the previous
   * checkpoint current; a torn slot write fails its crc and the other slot wins.
   */
  commit(headPfn: number, generation: number): void {
    const h = new HeaderView(this.mem.page(0));
    const cur = h.current();
    const which: 0 | 1 = cur ? (cur.which === 0 ? 1 : 0) : 0;
    this.mem.sync();
    h.writeSlot(which, { generation, headPfn, pages: this.pending.pages, nodes: this.pending.nodes });
    this.mem.sync();
  }
}
