/**
 * Data sets that arrived before their template (exporters send templates every few
 * seconds or minutes, and after a restart or over UDP the data comes first). Each is
 * copied and held until its template arrives — then decoded as if it had just come — or
 * until it has been held `holdUs` of arrival time, when it is counted as expired: its
 * records are lost, and said so. Bounded in sets and in bytes: beyond either, the oldest
 * set is expired to make room.
 */
import { ExportHeader } from './datagram.js';
import type { ExporterState } from './exporters.js';
import type { DomainState } from './templates.js';

export const DEFAULT_HOLD_US = 30e6;
export const MAX_HELD_SETS = 4096;
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

export class HeldSet {
  readonly header = new ExportHeader();
  constructor(
    readonly exporter: ExporterState,
    readonly domain: DomainState,
    readonly templateId: number,
    readonly bytes: Uint8Array,
    /** arrival time of its datagram, µs */
    readonly tUs: number,
  ) {}
}

export interface HeldOptions {
  holdUs?: number;
  maxSets?: number;
  maxBytes?: number;
}

export class HeldSets {
  readonly holdUs: number;
  readonly maxSets: number;
  readonly maxBytes: number;
  private list: HeldSet[] = [];
  private bytes = 0;

  constructor(o: HeldOptions = {}) {
    this.holdUs = o.holdUs ?? DEFAULT_HOLD_US;
    this.maxSets = o.maxSets ?? MAX_HELD_SETS;
    this.maxBytes = o.maxBytes ?? MAX_HELD_BYTES;
  }

  get size(): number {
    return this.list.length;
  }

  /** Holds a copy of b[o, end); expires the oldest to make room. */
  hold(
    e: ExporterState,
    d: DomainState,
    templateId: number,
    b: Uint8Array,
    o: number,
    end: number,
    hd: ExportHeader,
    tUs: number,
  ): void {
    e.counts.templateMissing++;
    const len = end - o;
    if (len > this.maxBytes) {
      e.counts.heldExpired++;
      return;
    }
    while (this.list.length >= this.maxSets || this.bytes + len > this.maxBytes) this.dropOldest();
    const h = new HeldSet(e, d, templateId, b.slice(o, end), tUs);
    h.header.copyFrom(hd);
    this.list.push(h);
    this.bytes += len;
  }

  /** The sets held for (domain, template id), taken out, oldest first. */
  take(d: DomainState, templateId: number): HeldSet[] {
    if (this.list.length === 0) return NONE;
    const out: HeldSet[] = [];
    const keep: HeldSet[] = [];
    for (const h of this.list) {
      if (h.domain === d && h.templateId === templateId) {
        out.push(h);
        this.bytes -= h.bytes.length;
      } else keep.push(h);
    }
    if (out.length > 0) this.list = keep;
    return out;
  }

  /** Expires what has been held longer than holdUs by `nowUs`. */
  expire(nowUs: number): void {
    while (this.list.length > 0 && nowUs - this.list[0].tUs > this.holdUs) this.dropOldest();
  }

  /** Expires everything of one exporter (it is being forgotten), or everything. */
  drop(e?: ExporterState): void {
    const keep: HeldSet[] = [];
    for (const h of this.list) {
      if (e === undefined || h.exporter === e) {
        h.exporter.counts.heldExpired++;
        this.bytes -= h.bytes.length;
      } else keep.push(h);
    }
    this.list = keep;
  }

  private dropOldest(): void {
    const h = this.list.shift();
    if (h === undefined) return;
    h.exporter.counts.heldExpired++;
    this.bytes -= h.bytes.length;
  }
}

const NONE: HeldSet[] = [];
