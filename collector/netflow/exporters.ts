/**
 * Per-exporter state: the exporter's observation domains (templates, sampling, sequence:
 * templates.ts), its observation points and what it sent. An exporter is the datagram's
 * source address (NetFlow and IPFIX headers do not name the exporter).
 *
 * Bounded, because any host can send a datagram: an exporter not heard for `idleUs` of
 * arrival time is forgotten (its counts folded into `expired`), and beyond `maxExporters`
 * live exporters the datagrams of a new address are counted (`overflowDatagrams`) and
 * dropped — without its own templates nothing of them could be decoded. Within an
 * exporter, domains and templates are capped too (refusals counted).
 */
import type { UntaggedScope } from '../attribution/untagged-scope.js';
import { NETFLOW_OTHER_POINT, type NetflowPoints } from './observation.js';
import { DomainState, type Template } from './templates.js';

export const MAX_NETFLOW_EXPORTERS = 1024;
/** 30 minutes: the IPFIX template lifetime collectors over UDP commonly use */
export const EXPORTER_IDLE_US = 1800e6;
export const MAX_DOMAINS_PER_EXPORTER = 256;
export const MAX_TEMPLATES_PER_EXPORTER = 4096;
const SWEEP_EVERY_US = 10e6;

/** What one exporter sent and what became of it. */
export interface ExporterTotals {
  datagrams: number;
  /** flow records (and packet reports) decoded */
  records: number;
  optionsRecords: number;
  /** template records received (re-sends included) */
  templates: number;
  /** a template id re-sent with another layout */
  templateUpdates: number;
  withdrawals: number;
  /** data sets that arrived before their template (held) */
  templateMissing: number;
  /** held data sets decoded once their template came */
  heldDecoded: number;
  /** held data sets whose template never came in time (or that did not fit the hold): lost */
  heldExpired: number;
  /** templates and domains refused by the caps */
  refused: number;
  /** v9: export packets missing from the sequence numbers */
  lostDatagrams: number;
  /** IPFIX, v5: data records missing from the sequence numbers */
  lostRecords: number;
  lateDatagrams: number;
  sequenceResets: number;
}

export function zeroExporterTotals(): ExporterTotals {
  return {
    datagrams: 0,
    records: 0,
    optionsRecords: 0,
    templates: 0,
    templateUpdates: 0,
    withdrawals: 0,
    templateMissing: 0,
    heldDecoded: 0,
    heldExpired: 0,
    refused: 0,
    lostDatagrams: 0,
    lostRecords: 0,
    lateDatagrams: 0,
    sequenceResets: 0,
  };
}

export function addExporterTotals(a: ExporterTotals, b: ExporterTotals): void {
  for (const k of Object.keys(a) as (keyof ExporterTotals)[]) a[k] += b[k];
}

export class ExporterState {
  readonly counts: ExporterTotals = zeroExporterTotals();
  /** arrival time (µs) of its last datagram; 0: loaded from the state file, not heard yet */
  lastUs = 0;
  /** version * 2^32 + domain → state */
  readonly domains = new Map<number, DomainState>();
  templateCount = 0;
  /** the tenant scope of its untagged records (intake.ts; undefined: not looked up yet) */
  untaggedScope: UntaggedScope | null | undefined = undefined;
  private readonly points = new Map<number, number>();
  private lastKey = -1;
  private lastDomain: DomainState | null = null;
  private lastIfIndex = -1;
  private lastPoint = 0;

  constructor(
    /** the address as text (IPv6 in brackets) */
    readonly name: string,
    private readonly observations: NetflowPoints,
  ) {}

  /** The domain's state; a throw-away one beyond the cap (its templates are not kept: counted). */
  domain(version: number, domain: number): DomainState {
    const key = version * 4294967296 + domain;
    if (key === this.lastKey && this.lastDomain !== null) return this.lastDomain;
    let d = this.domains.get(key);
    if (d === undefined) {
      d = new DomainState(version, domain);
      if (this.domains.size >= MAX_DOMAINS_PER_EXPORTER) {
        this.counts.refused++;
        return d;
      }
      this.domains.set(key, d);
    }
    this.lastKey = key;
    this.lastDomain = d;
    return d;
  }

  /**
   * Stores a template; returns 'new', 'same' (a re-send), 'updated' (the id's layout
   * changed) or 'refused' (the cap).
   */
  putTemplate(d: DomainState, t: Template): 'new' | 'same' | 'updated' | 'refused' {
    const old = d.templates.get(t.id);
    if (old?.sameAs(t)) return 'same';
    if (old === undefined && this.templateCount >= MAX_TEMPLATES_PER_EXPORTER) {
      this.counts.refused++;
      return 'refused';
    }
    d.templates.set(t.id, t);
    if (old === undefined) {
      this.templateCount++;
      return 'new';
    }
    this.counts.templateUpdates++;
    return 'updated';
  }

  /** IPFIX withdrawal; returns the templates removed. */
  withdraw(d: DomainState, id: number, all: boolean, options: boolean): number {
    let n = 0;
    if (!all) {
      if (d.templates.delete(id)) n = 1;
    } else {
      for (const [k, t] of d.templates) {
        if (t.options !== options) continue;
        d.templates.delete(k);
        n++;
      }
    }
    this.templateCount -= n;
    this.counts.withdrawals++;
    return n;
  }

  /** The observation code of (this exporter, ifIndex). */
  point(ifIndex: number): number {
    if (ifIndex === this.lastIfIndex) return this.lastPoint;
    let code = this.points.get(ifIndex);
    if (code === undefined) {
      code = this.observations.register(this.name, ifIndex);
      if (code === NETFLOW_OTHER_POINT) return code;
      this.points.set(ifIndex, code);
    }
    this.lastIfIndex = ifIndex;
    this.lastPoint = code;
    return code;
  }

  settle(nowUs: number): void {
    for (const d of this.domains.values()) d.sequence.settle(nowUs);
  }

  finish(): void {
    for (const d of this.domains.values()) d.sequence.finish();
  }

  totals(): ExporterTotals {
    const t = { ...this.counts };
    for (const d of this.domains.values()) {
      if (d.version === 9) t.lostDatagrams += d.sequence.lost;
      else t.lostRecords += d.sequence.lost;
      t.lateDatagrams += d.sequence.late;
      t.sequenceResets += d.sequence.resets;
    }
    return t;
  }
}

export interface ExporterTableOptions {
  maxExporters?: number;
  idleUs?: number;
}

export class ExporterTable {
  readonly maxExporters: number;
  readonly idleUs: number;
  overflowDatagrams = 0;
  expiredExporters = 0;
  readonly expired: ExporterTotals = zeroExporterTotals();
  private readonly map = new Map<string, ExporterState>();
  private last: ExporterState | null = null;
  private lastSweepUs = 0;
  /** called with an exporter being forgotten (its held data goes with it) */
  onForget: ((e: ExporterState) => void) | null = null;

  constructor(
    private readonly observations: NetflowPoints,
    o: ExporterTableOptions = {},
  ) {
    this.maxExporters = o.maxExporters ?? MAX_NETFLOW_EXPORTERS;
    this.idleUs = o.idleUs ?? EXPORTER_IDLE_US;
    if (!(this.maxExporters >= 1 && this.idleUs > 0))
      throw new RangeError('exporter table: maxExporters >= 1, idleUs > 0');
  }

  get size(): number {
    return this.map.size;
  }

  /** The exporter of a datagram from `address` at `tUs`; null when the table is full. */
  lookup(address: string, tUs: number): ExporterState | null {
    if (tUs - this.lastSweepUs >= SWEEP_EVERY_US) this.sweep(tUs);
    const last = this.last;
    if (last !== null && last.name === address) {
      last.lastUs = tUs;
      return last;
    }
    let e = this.map.get(address);
    if (e === undefined) {
      if (this.map.size >= this.maxExporters) this.sweep(tUs);
      if (this.map.size >= this.maxExporters) {
        this.overflowDatagrams++;
        return null;
      }
      e = new ExporterState(address, this.observations);
      this.map.set(address, e);
    }
    e.lastUs = tUs;
    this.last = e;
    return e;
  }

  /** An exporter restored from the state file (not counted as heard). */
  restore(address: string): ExporterState | null {
    let e = this.map.get(address);
    if (e === undefined) {
      if (this.map.size >= this.maxExporters) return null;
      e = new ExporterState(address, this.observations);
      this.map.set(address, e);
    }
    return e;
  }

  sweep(nowUs: number): void {
    this.lastSweepUs = nowUs;
    for (const [k, e] of this.map) {
      // restored from the state file: the idle time counts from the first look
      if (e.lastUs === 0) e.lastUs = nowUs;
      if (nowUs - e.lastUs <= this.idleUs) continue;
      // its held data expires first, so that the totals kept count it
      this.onForget?.(e);
      e.finish();
      addExporterTotals(this.expired, e.totals());
      this.map.delete(k);
      this.expiredExporters++;
      if (e === this.last) this.last = null;
    }
  }

  settle(nowUs: number): void {
    for (const e of this.map.values()) e.settle(nowUs);
  }

  finish(): void {
    for (const e of this.map.values()) e.finish();
  }

  all(): ExporterState[] {
    return [...this.map.values()];
  }
}
