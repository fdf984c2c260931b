/**
 * The NetFlow v5 / v9 / IPFIX datagram walker: header → sets → templates and records,
 * hand-written over byte offsets. Hot path: a data record allocates nothing — the walker
 * fills the caller's reused NetflowRecord and hands it to the handler, which must use it
 * before it returns. Templates (rare) become objects.
 *
 * Every length is checked before it is used, and every problem is counted by reason in
 * `stats.malformed`, never thrown: a set header that lies stops the datagram (nothing
 * after it can be trusted); a bad template record stops its set; a data record whose
 * variable-length field runs past its set stops that set. A data set whose template is
 * not known is handed to `h.missing` (the intake holds it until the template comes).
 */
import { u32 } from '../sflow/xdr.js';
import { readRecord } from './fields.js';
import { type DomainState, type FieldSpec, MAX_TEMPLATE_FIELDS, Template } from './templates.js';
import { Has, Malformed, malformedName, type NetflowRecord } from './types.js';

/** What a data set needs from its message header to be decoded (kept with a held set). */
export class ExportHeader {
  version = 0;
  /** v9 sysUptime, ms */
  sysUptime = 0;
  /** export time, seconds since the epoch */
  exportSecs = 0;
  sequence = 0;
  domain = 0;
  /** v5 sampling interval (low 14 bits of the header field) */
  v5Sampling = 0;

  copyFrom(h: ExportHeader): void {
    this.version = h.version;
    this.sysUptime = h.sysUptime;
    this.exportSecs = h.exportSecs;
    this.sequence = h.sequence;
    this.domain = h.domain;
    this.v5Sampling = h.v5Sampling;
  }
}

export interface NetflowHandler {
  /** The state of (version, domain) of the current exporter (created when new). */
  domain(version: number, domain: number): DomainState;
  /** A template (or options template) received. */
  template(d: DomainState, t: Template): void;
  /** IPFIX withdrawal: one template id, or all (options: the options templates). */
  withdraw(d: DomainState, id: number, all: boolean, options: boolean): void;
  /** A data set whose template is unknown: bytes [o, end) of `b`, decodable later. */
  missing(d: DomainState, templateId: number, b: Uint8Array, o: number, end: number, h: ExportHeader): void;
  /** A data record (flow, packet report or options data) decoded into `r`. */
  record(d: DomainState, t: Template | null, r: NetflowRecord, b: Uint8Array): void;
  /** After the sets: the message's sequence number and its data records (-1: unknown, some held). */
  sequence(d: DomainState, seq: number, count: number): void;
}

export class NetflowDecodeStats {
  datagrams = 0;
  malformedDatagrams = 0;
  /** data records decoded (flows, packet reports, options data) */
  records = 0;
  optionsRecords = 0;
  templates = 0;
  /** sets of ids podwire reads nothing from, skipped by length */
  unknownSets = 0;
  readonly malformed = new Float64Array(malformedName.length);
}

/**
 * Decodes the datagram at buf[offset, offset + length) of one exporter. Returns
 * Malformed.OK or the first problem found (all are counted in `st`).
 */
export function decodeNetflow(
  b: Uint8Array,
  offset: number,
  length: number,
  hd: ExportHeader,
  r: NetflowRecord,
  h: NetflowHandler,
  st: NetflowDecodeStats,
): number {
  let end = offset + length;
  if (end > b.length) end = b.length;
  st.datagrams++;
  if (end - offset < 4) return fail(st, Malformed.SHORT_DATAGRAM);
  const version = (b[offset] << 8) | b[offset + 1];
  let result: number;
  if (version === 10) result = ipfix(b, offset, end, hd, r, h, st);
  else if (version === 9) result = v9(b, offset, end, hd, r, h, st);
  else if (version === 5) result = v5(b, offset, end, hd, r, h, st);
  else return fail(st, Malformed.BAD_VERSION);
  if (result !== Malformed.OK) st.malformedDatagrams++;
  return result;
}

function fail(st: NetflowDecodeStats, reason: number): number {
  st.malformed[reason]++;
  st.malformedDatagrams++;
  return reason;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

const V5_HEADER = 24;
const V5_RECORD = 48;

function v5(
  b: Uint8Array,
  o: number,
  end: number,
  hd: ExportHeader,
  r: NetflowRecord,
  h: NetflowHandler,
  st: NetflowDecodeStats,
): number {
  if (end - o < V5_HEADER) return count(st, Malformed.SHORT_DATAGRAM);
  const n = u16(b, o + 2);
  hd.version = 5;
  hd.sysUptime = u32(b, o + 4);
  hd.exportSecs = u32(b, o + 8);
  hd.sequence = u32(b, o + 16);
  hd.domain = u16(b, o + 20);
  hd.v5Sampling = u16(b, o + 22) & 0x3fff;
  if (n > 30 || end - o < V5_HEADER + n * V5_RECORD) return count(st, Malformed.RECORD_COUNT);
  const d = h.domain(5, hd.domain);
  let q = o + V5_HEADER;
  for (let i = 0; i < n; i++, q += V5_RECORD) {
    r.reset();
    r.version = 5;
    r.domain = hd.domain;
    r.templateId = 0;
    r.src4 = u32(b, q);
    r.dst4 = u32(b, q + 4);
    r.ipVersion = 4;
    r.inIf = u16(b, q + 12);
    r.outIf = u16(b, q + 14);
    r.packets = u32(b, q + 16);
    r.bytes = u32(b, q + 20);
    r.startUptime = u32(b, q + 24);
    r.endUptime = u32(b, q + 28);
    r.srcPort = u16(b, q + 32);
    r.dstPort = u16(b, q + 34);
    r.tcpFlags = b[q + 37];
    r.protocol = b[q + 38];
    r.tos = b[q + 39];
    r.has = Has.IPV4 | Has.PACKETS | Has.BYTES | Has.PORTS | Has.START_UPTIME | Has.END_UPTIME;
    if (hd.v5Sampling > 0) {
      r.samplingInterval = hd.v5Sampling;
      r.has |= Has.SAMPLING_INTERVAL;
    }
    uptimeTimes(r, hd);
    st.records++;
    h.record(d, null, r, b);
  }
  h.sequence(d, hd.sequence, n);
  return Malformed.OK;
}

function count(st: NetflowDecodeStats, reason: number): number {
  st.malformed[reason]++;
  return reason;
}

/** v9: uptime-relative times against the header's sysUptime and export time. */
function uptimeTimes(r: NetflowRecord, hd: ExportHeader): void {
  const base = hd.exportSecs * 1000;
  if ((r.has & (Has.END_UPTIME | Has.END)) === Has.END_UPTIME) {
    r.endMs = base - ((hd.sysUptime - r.endUptime) >>> 0);
    r.has |= Has.END;
  }
  if ((r.has & (Has.START_UPTIME | Has.START)) === Has.START_UPTIME) {
    r.startMs = base - ((hd.sysUptime - r.startUptime) >>> 0);
    r.has |= Has.START;
  }
}

/** IPFIX: uptime-relative times against the systemInitTime (the record's own, or the domain's). */
function initTimes(r: NetflowRecord, d: DomainState): void {
  const init = (r.has & Has.SYSTEM_INIT) !== 0 ? r.systemInitMs : d.systemInitMs;
  if (init === 0) return;
  if ((r.has & (Has.END_UPTIME | Has.END)) === Has.END_UPTIME) {
    r.endMs = init + r.endUptime;
    r.has |= Has.END;
  }
  if ((r.has & (Has.START_UPTIME | Has.START)) === Has.START_UPTIME) {
    r.startMs = init + r.startUptime;
    r.has |= Has.START;
  }
}

const V9_HEADER = 20;
const IPFIX_HEADER = 16;

function v9(
  b: Uint8Array,
  o: number,
  end: number,
  hd: ExportHeader,
  r: NetflowRecord,
  h: NetflowHandler,
  st: NetflowDecodeStats,
): number {
  if (end - o < V9_HEADER) return count(st, Malformed.SHORT_DATAGRAM);
  hd.version = 9;
  hd.sysUptime = u32(b, o + 4);
  hd.exportSecs = u32(b, o + 8);
  hd.sequence = u32(b, o + 12);
  hd.domain = u32(b, o + 16);
  hd.v5Sampling = 0;
  const d = h.domain(9, hd.domain);
  const res = sets(b, o + V9_HEADER, end, 9, d, hd, r, h, st);
  // v9 numbers export packets: one per datagram, whatever it held
  h.sequence(d, hd.sequence, 1);
  return res < 0 ? ~res : Malformed.OK;
}

function ipfix(
  b: Uint8Array,
  o: number,
  end: number,
  hd: ExportHeader,
  r: NetflowRecord,
  h: NetflowHandler,
  st: NetflowDecodeStats,
): number {
  if (end - o < IPFIX_HEADER) return count(st, Malformed.SHORT_DATAGRAM);
  const len = u16(b, o + 2);
  let result: number = Malformed.OK;
  if (len < IPFIX_HEADER || len > end - o) return count(st, Malformed.MESSAGE_LENGTH);
  if (len < end - o) {
    // bytes after the message: counted, the message itself is decoded
    result = count(st, Malformed.MESSAGE_LENGTH);
    end = o + len;
  }
  hd.version = 10;
  hd.exportSecs = u32(b, o + 4);
  hd.sequence = u32(b, o + 8);
  hd.domain = u32(b, o + 12);
  hd.sysUptime = 0;
  hd.v5Sampling = 0;
  const d = h.domain(10, hd.domain);
  const res = sets(b, o + IPFIX_HEADER, end, 10, d, hd, r, h, st);
  // IPFIX numbers data records; a held set's count is unknown until its template comes
  h.sequence(d, hd.sequence, res < 0 ? -1 : res);
  if (res < 0 && ~res !== Malformed.OK && result === Malformed.OK) result = ~res;
  return result;
}

/**
 * The sets of a v9 / IPFIX message at [o, end). Returns the data records decoded, or ~reason
 * for the first problem (~OK = -1 when a data set was held: the count is unknown).
 */
function sets(
  b: Uint8Array,
  o: number,
  end: number,
  version: number,
  d: DomainState,
  hd: ExportHeader,
  r: NetflowRecord,
  h: NetflowHandler,
  st: NetflowDecodeStats,
): number {
  const templateSet = version === 9 ? 0 : 2;
  const optionsSet = version === 9 ? 1 : 3;
  let records = 0;
  let held = false;
  let problem: number = Malformed.OK;
  while (o < end) {
    if (end - o < 4) {
      // v9 allows no trailing bytes either; a set header cannot fit
      problem = count(st, Malformed.SET_LENGTH);
      break;
    }
    const id = u16(b, o);
    const len = u16(b, o + 2);
    if (len < 4 || len > end - o) {
      problem = count(st, Malformed.SET_LENGTH);
      break;
    }
    const sEnd = o + len;
    const body = o + 4;
    let r2: number;
    if (id === templateSet) r2 = templates(b, body, sEnd, version, false, d, h, st);
    else if (id === optionsSet) r2 = templates(b, body, sEnd, version, true, d, h, st);
    else if (id >= 256) {
      const t = d.templates.get(id);
      if (t === undefined) {
        h.missing(d, id, b, body, sEnd, hd);
        held = true;
        r2 = 0;
      } else {
        r2 = dataSet(b, body, sEnd, t, d, hd, r, h, st);
        if (r2 >= 0) records += r2;
      }
    } else {
      st.unknownSets++;
      r2 = ~count(st, Malformed.RESERVED_SET);
    }
    if (r2 < 0 && problem === Malformed.OK) problem = ~r2;
    o = sEnd;
  }
  if (problem !== Malformed.OK) return ~problem;
  return held ? -1 : records;
}

/**
 * A data set's records at [o, end) by template `t`. Returns the records decoded, or
 * ~Malformed.RECORD_LENGTH when one ran past the set (the records before it count).
 * Exported for held sets decoded once their template came.
 */
export function dataSet(
  b: Uint8Array,
  o: number,
  end: number,
  t: Template,
  d: DomainState,
  hd: ExportHeader,
  r: NetflowRecord,
  h: NetflowHandler,
  st: NetflowDecodeStats,
): number {
  let n = 0;
  const min = t.minLength;
  // what is left shorter than a record is padding (RFC 7011 3.3.1, RFC 3954 5.3)
  while (end - o >= min) {
    r.reset();
    r.version = hd.version;
    r.domain = hd.domain;
    r.templateId = t.id;
    const q = readRecord(b, o, end, t.kinds, t.lens, r);
    if (q < 0) {
      st.malformed[Malformed.RECORD_LENGTH]++;
      return ~Malformed.RECORD_LENGTH;
    }
    if (q === o) break; // a template of only empty variable fields: nothing more to read
    o = q;
    if (hd.version === 9) uptimeTimes(r, hd);
    else initTimes(r, d);
    n++;
    st.records++;
    if (t.options) st.optionsRecords++;
    h.record(d, t, r, b);
  }
  return n;
}

/** A template or options template set at [o, end). Returns 0, or ~reason. */
function templates(
  b: Uint8Array,
  o: number,
  end: number,
  version: number,
  options: boolean,
  d: DomainState,
  h: NetflowHandler,
  st: NetflowDecodeStats,
): number {
  // fewer than a record header's bytes left: padding
  while (end - o >= 4) {
    const id = u16(b, o);
    const fieldCount = u16(b, o + 2);
    if (id === 0 && fieldCount === 0) break; // zero padding
    o += 4;
    if (version === 10 && fieldCount === 0) {
      // withdrawal (RFC 7011 8.1): the set's own id withdraws all templates of its kind
      const all = id === (options ? 3 : 2);
      if (!all && id < 256) return ~count(st, Malformed.BAD_TEMPLATE);
      h.withdraw(d, id, all, options);
      continue;
    }
    if (id < 256) return ~count(st, Malformed.BAD_TEMPLATE);
    let scopeCount = 0;
    let fields = fieldCount;
    if (options) {
      if (end - o < 2) return ~count(st, Malformed.BAD_TEMPLATE);
      if (version === 10) {
        scopeCount = u16(b, o);
        o += 2;
        if (scopeCount === 0 || scopeCount > fieldCount) return ~count(st, Malformed.BAD_TEMPLATE);
      } else {
        // v9: the header says (template id, scope length, option length) in bytes
        if (end - o < 2) return ~count(st, Malformed.BAD_TEMPLATE);
        const scopeLen = fieldCount;
        const optionLen = u16(b, o);
        o += 2;
        // a scope length of 0 (no scope field: the whole exporter) is taken, as peers do
        if (scopeLen % 4 !== 0 || optionLen % 4 !== 0) return ~count(st, Malformed.BAD_TEMPLATE);
        scopeCount = scopeLen / 4;
        fields = scopeCount + optionLen / 4;
      }
    }
    if (fields === 0) return ~count(st, Malformed.BAD_TEMPLATE);
    if (fields > MAX_TEMPLATE_FIELDS) return ~count(st, Malformed.TEMPLATE_TOO_LONG);
    const spec: FieldSpec[] = [];
    let recLen = 0;
    for (let i = 0; i < fields; i++) {
      if (end - o < 4) return ~count(st, Malformed.BAD_TEMPLATE);
      let ie = u16(b, o);
      const len = u16(b, o + 2);
      o += 4;
      let ent = 0;
      if (version === 10 && (ie & 0x8000) !== 0) {
        if (end - o < 4) return ~count(st, Malformed.BAD_TEMPLATE);
        ent = u32(b, o);
        ie &= 0x7fff;
        o += 4;
      }
      if (len === 0 || (len === 0xffff && version === 9)) return ~count(st, Malformed.BAD_TEMPLATE);
      recLen += len === 0xffff ? 1 : len;
      spec.push([ie, len, ent]);
    }
    if (recLen > 65535) return ~count(st, Malformed.TEMPLATE_TOO_LONG);
    st.templates++;
    h.template(d, new Template(id, options, scopeCount, spec, version));
  }
  return 0;
}
