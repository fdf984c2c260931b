/**
 * NetFlow v5 / v9 / IPFIX intake: datagram → records → the packet path's attribution and
 * flow aggregation, like SflowIntake does for sFlow samples. One instance owns the reused
 * record and packet; a data record allocates nothing. Each flow record is scaled by its
 * sampling rate (sampling.ts), keyed by its observation point (exporter + input
 * interface, observation.ts) and timed by its datagram's arrival, as sFlow samples are
 * (a record's own start/end times stay on the record for `onRecord`). Templates and
 * sampling state persist in `stateFile` (state-file.ts); data before its template is held
 * (held.ts). Every datagram, record and problem is counted.
 */

import { Attribution, AttributionCounters, attribute } from '../attribution/attribute.js';
import type { EndpointIndex } from '../attribution/endpoint-index.js';
import { applyUntaggedScope, type UntaggedScope } from '../attribution/untagged-scope.js';
import { type DecodeConfig, DecodedPacket, decodeStatusName } from '../decode/packet.js';
import type { FlowTable } from '../flows/flow-table.js';
import { dataSet, decodeNetflow, ExportHeader, NetflowDecodeStats, type NetflowHandler } from './datagram.js';
import {
  addExporterTotals,
  type ExporterState,
  ExporterTable,
  type ExporterTableOptions,
  type ExporterTotals,
} from './exporters.js';
import { type HeldOptions, HeldSets } from './held.js';
import { NetflowPoints } from './observation.js';
import { recordPacket, recordPackets } from './record-packet.js';
import { learnOptions, recordRate } from './sampling.js';
import { loadState, saveState } from './state-file.js';
import type { DomainState, Template } from './templates.js';
import { Malformed, malformedName, NetflowRecord } from './types.js';

export type RecordConsumer = (
  exporter: string,
  r: NetflowRecord,
  p: DecodedPacket,
  a: Attribution,
  observation: number,
  samplingRate: number,
  /** the datagram: the record's offsets (its frame section) point into it */
  buf: Uint8Array,
) => void;

export interface NetflowIntakeOptions {
  index: EndpointIndex;
  decode: DecodeConfig;
  /** a flow table built with the same `counters` */
  flows?: FlowTable;
  counters?: AttributionCounters;
  /** every flow record, attributed (slower; for tracing and tests) */
  onRecord?: RecordConsumer;
  /** the rate of records nothing else gives one for (default 1: unsampled) */
  samplingRate?: number;
  /** where templates and sampling state persist (loaded here, saved by saveState) */
  stateFile?: string;
  observations?: NetflowPoints;
  exporters?: ExporterTableOptions;
  held?: HeldOptions;
  /** the tenant scope of records without a VLAN or VNI, per exporter (see ExporterScopes) */
  scopes?: ExporterScopes;
}

/**
 * Where records with neither a VLAN nor a VNI belong. A router exporting NetFlow from its
 * L3 interfaces sends no VLANs or MACs, and tenants' addresses may overlap: the exporter
 * says which tenant's traffic it sees (a VLAN or a VNI), as a capture of a pod-side
 * interface does (collector/attribution/untagged-scope.ts). `byExporter` is keyed by the
 * exporter's name (its address; IPv6 in brackets); `all` is for the others.
 */
export interface ExporterScopes {
  all?: UntaggedScope;
  byExporter?: ReadonlyMap<string, UntaggedScope>;
}

/** Per-exporter figures for logs, the CLI summary and metrics. */
export interface ExporterSummary {
  exporter: string;
  datagrams: number;
  records: number;
  options_records: number;
  /** templates live now */
  templates: number;
  template_records: number;
  template_updates: number;
  withdrawals: number;
  template_missing: number;
  held_decoded: number;
  held_expired: number;
  refused: number;
  lost_datagrams: number;
  lost_records: number;
  late_datagrams: number;
  sequence_resets: number;
}

/** Per-(exporter, version, domain) figures: the sequence loss and the rate in effect. */
export interface DomainSummary {
  exporter: string;
  version: number;
  domain: number;
  templates: number;
  records: number;
  /** v9: export packets; IPFIX and v5: data records */
  lost: number;
  sampling_rate: number;
}

export class NetflowIntake implements NetflowHandler {
  readonly header = new ExportHeader();
  readonly rec = new NetflowRecord();
  readonly packet = new DecodedPacket();
  readonly attribution = new Attribution();
  readonly counters: AttributionCounters;
  readonly decodeStats = new NetflowDecodeStats();
  readonly decodeStatus = new Float64Array(decodeStatusName.length);
  scaledPackets = 0;
  scaledBytes = 0;
  readonly observations: NetflowPoints;
  readonly exporters: ExporterTable;
  readonly held: HeldSets;
  /** what loading the state file said: templates restored, or why it was ignored */
  readonly stateLoad: number | string;
  /** templates or sampling changed since the last save */
  dirty = false;
  saves = 0;
  saveErrors = 0;
  /** the numbers the last datagram took in its sequence (IPFIX: data records; -1 unknown) */
  lastSequenceCount = -1;

  private readonly index: EndpointIndex;
  private readonly cfg: DecodeConfig;
  private readonly flows: FlowTable | undefined;
  private readonly onRecord: RecordConsumer | undefined;
  private readonly configuredRate: number;
  private readonly stateFile: string | undefined;
  private readonly scopes: ExporterScopes | undefined;
  private exporter: ExporterState | null = null;
  private tUs = 0;
  private tsSec = 0;

  constructor(o: NetflowIntakeOptions) {
    this.index = o.index;
    this.cfg = o.decode;
    this.flows = o.flows;
    this.counters = o.counters ?? new AttributionCounters();
    this.onRecord = o.onRecord;
    this.configuredRate = o.samplingRate ?? 1;
    if (!(this.configuredRate >= 1)) throw new RangeError('netflow: samplingRate must be >= 1');
    this.observations = o.observations ?? new NetflowPoints();
    this.exporters = new ExporterTable(this.observations, o.exporters);
    this.held = new HeldSets(o.held);
    this.exporters.onForget = (e) => this.held.drop(e);
    this.stateFile = o.stateFile;
    this.scopes = o.scopes;
    this.stateLoad = o.stateFile === undefined ? 0 : loadState(o.stateFile, this.exporters);
  }

  /**
   * One datagram at buf[offset, offset + length) from `exporter` (its source address as
   * text; IPv6 in brackets), received at `tUs` µs since the epoch. Returns the datagram's
   * Malformed code (0 = OK); never throws for any bytes.
   */
  receive(buf: Uint8Array, offset: number, length: number, exporter: string, tUs: number): number {
    this.tUs = tUs;
    this.tsSec = Math.floor(tUs / 1e6);
    this.lastSequenceCount = -1;
    if (this.held.size > 0) this.held.expire(tUs);
    const e = this.exporters.lookup(exporter, tUs);
    if (e === null) {
      this.decodeStats.datagrams++;
      return Malformed.OK;
    }
    this.exporter = e;
    e.counts.datagrams++;
    return decodeNetflow(buf, offset, length, this.header, this.rec, this, this.decodeStats);
  }

  // ---- NetflowHandler (called by decodeNetflow) ----

  domain(version: number, domain: number): DomainState {
    return this.exporter!.domain(version, domain);
  }

  template(d: DomainState, t: Template): void {
    const e = this.exporter!;
    e.counts.templates++;
    const r = e.putTemplate(d, t);
    if (r === 'same' || r === 'refused') return;
    this.dirty = true;
    if (this.held.size > 0) this.release(e, d, t);
  }

  /** Decodes the sets held for `t` (they arrived before it), at their own arrival times. */
  private release(e: ExporterState, d: DomainState, t: Template): void {
    const sets = this.held.take(d, t.id);
    if (sets.length === 0) return;
    const tUs = this.tUs;
    for (const h of sets) {
      this.tUs = h.tUs;
      this.tsSec = Math.floor(h.tUs / 1e6);
      dataSet(h.bytes, 0, h.bytes.length, t, d, h.header, this.rec, this, this.decodeStats);
      e.counts.heldDecoded++;
    }
    this.tUs = tUs;
    this.tsSec = Math.floor(tUs / 1e6);
  }

  withdraw(d: DomainState, id: number, all: boolean, options: boolean): void {
    if (this.exporter!.withdraw(d, id, all, options) > 0) this.dirty = true;
  }

  missing(d: DomainState, templateId: number, b: Uint8Array, o: number, end: number, h: ExportHeader): void {
    this.held.hold(this.exporter!, d, templateId, b, o, end, h, this.tUs);
  }

  sequence(d: DomainState, seq: number, count: number): void {
    d.sequence.see(seq, count, this.tUs);
    this.lastSequenceCount = count;
  }

  record(d: DomainState, t: Template | null, r: NetflowRecord, buf: Uint8Array): void {
    const e = this.exporter!;
    if (t?.options) {
      e.counts.optionsRecords++;
      if (learnOptions(d, r)) this.dirty = true;
      return;
    }
    e.counts.records++;
    d.records++;
    const rate = recordRate(d, r, this.configuredRate);
    d.rateInEffect = rate;
    const p = this.packet;
    const status = recordPacket(r, buf, p, this.cfg);
    this.decodeStatus[status]++;
    let scope = e.untaggedScope;
    if (scope === undefined) {
      scope = this.scopes?.byExporter?.get(e.name) ?? this.scopes?.all ?? null;
      e.untaggedScope = scope;
    }
    if (scope !== null) applyUntaggedScope(p, scope);
    const n = recordPackets(r);
    this.scaledPackets += n * rate;
    this.scaledBytes += p.innerLength * rate;
    const obs = e.point(r.inIf !== 0 ? r.inIf : r.outIf);
    if (this.onRecord === undefined) {
      this.flows?.add(p, this.tsSec, this.tUs, obs, rate, undefined, n);
      return;
    }
    attribute(p, this.tUs, this.index, this.attribution, this.counters);
    this.flows?.add(p, this.tsSec, this.tUs, obs, rate, this.attribution, n);
    this.onRecord(e.name, r, p, this.attribution, obs, rate, buf);
  }

  /** Writes the state file when something changed; false when it could not be written. */
  saveState(): boolean {
    if (!this.dirty || this.stateFile === undefined) return true;
    try {
      saveState(this.stateFile, this.exporters);
      this.dirty = false;
      this.saves++;
      return true;
    } catch {
      this.saveErrors++;
      return false;
    }
  }

  /** Counts for logs and the CLI's closing line (zero problem counts left out). */
  summary(): Record<string, number> {
    const st = this.decodeStats;
    const t = this.totals();
    const out: Record<string, number> = {
      datagrams: st.datagrams,
      records: t.records,
      packets: this.scaledPackets,
      bytes: this.scaledBytes,
      attributed: this.counters.attributed,
      templates: st.templates,
    };
    const more: Record<string, number> = {
      options_records: t.optionsRecords,
      template_updates: t.templateUpdates,
      withdrawals: t.withdrawals,
      template_missing: t.templateMissing,
      held_decoded: t.heldDecoded,
      held_expired: t.heldExpired,
      refused: t.refused,
      lost_datagrams: t.lostDatagrams,
      lost_records: t.lostRecords,
      late_datagrams: t.lateDatagrams,
      sequence_resets: t.sequenceResets,
      exporters_expired: this.exporters.expiredExporters,
      exporter_overflow_datagrams: this.exporters.overflowDatagrams,
      unknown_sets: st.unknownSets,
      state_save_errors: this.saveErrors,
      observation_point_overflows: this.observations.overflows,
    };
    for (const [k, v] of Object.entries(more)) if (v > 0) out[k] = v;
    if (st.malformedDatagrams > 0) out.malformed_datagrams = st.malformedDatagrams;
    for (let i = 1; i < st.malformed.length; i++) {
      if (st.malformed[i] > 0) out[`malformed_${malformedName[i]}`] = st.malformed[i];
    }
    for (let i = 1; i < this.decodeStatus.length; i++) {
      if (this.decodeStatus[i] > 0) out[`decode_${decodeStatusName[i]}`] = this.decodeStatus[i];
    }
    return out;
  }

  private totals(): ExporterTotals {
    this.exporters.settle(this.tUs);
    const t = { ...this.exporters.expired };
    for (const e of this.exporters.all()) addExporterTotals(t, e.totals());
    return t;
  }

  exporterSummaries(): ExporterSummary[] {
    this.exporters.settle(this.tUs);
    return this.exporters.all().map((e) => {
      const t = e.totals();
      return {
        exporter: e.name,
        datagrams: t.datagrams,
        records: t.records,
        options_records: t.optionsRecords,
        templates: e.templateCount,
        template_records: t.templates,
        template_updates: t.templateUpdates,
        withdrawals: t.withdrawals,
        template_missing: t.templateMissing,
        held_decoded: t.heldDecoded,
        held_expired: t.heldExpired,
        refused: t.refused,
        lost_datagrams: t.lostDatagrams,
        lost_records: t.lostRecords,
        late_datagrams: t.lateDatagrams,
        sequence_resets: t.sequenceResets,
      };
    });
  }

  domainSummaries(): DomainSummary[] {
    this.exporters.settle(this.tUs);
    const out: DomainSummary[] = [];
    for (const e of this.exporters.all()) {
      for (const d of e.domains.values()) {
        out.push({
          exporter: e.name,
          version: d.version,
          domain: d.domain,
          templates: d.templates.size,
          records: d.records,
          lost: d.sequence.lost,
          sampling_rate: d.rateInEffect,
        });
      }
    }
    return out;
  }

  /** The input ended: pending sequence gaps are loss, held data expired. */
  finish(): void {
    this.exporters.finish();
    this.held.drop();
  }
}
