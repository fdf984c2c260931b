/**
 * A NetFlow v5 / v9 / IPFIX encoder: messages built from plain descriptions, for tests and
 * the benchmark (hand-built datagrams for what no exporter here emits). Every structure the
 * decoder reads has its encoding, plus `raw` sets and `*Override` fields to build lies on
 * purpose. Not for the hot path: it allocates freely.
 */
import { parseIpv4, parseIpv6, parseMac } from '../decode/addr.js';

/** IANA information element ids used by podwire (and the tests). */
export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  ipClassOfService: 5,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  ingressInterface: 10,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  egressInterface: 14,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  samplingInterval: 34,
  samplingAlgorithm: 35,
  samplerId: 48,
  samplerMode: 49,
  samplerRandomInterval: 50,
  sourceMacAddress: 56,
  postDestinationMacAddress: 57,
  vlanId: 58,
  postVlanId: 59,
  destinationMacAddress: 80,
  postSourceMacAddress: 81,
  octetTotalCount: 85,
  packetTotalCount: 86,
  observationDomainId: 149,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  systemInitTimeMilliseconds: 160,
  dot1qVlanId: 243,
  dot1qCustomerVlanId: 245,
  postDot1qVlanId: 254,
  selectorId: 302,
  selectorAlgorithm: 304,
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
  dataLinkFrameSize: 312,
  ipHeaderPacketSection: 313,
  dataLinkFrameSection: 315,
  layer2SegmentId: 351,
} as const;

export const VARIABLE_LENGTH = 0xffff;

export interface FieldDef {
  id: number;
  /** bytes; VARIABLE_LENGTH for a variable-length field (IPFIX) */
  length: number;
  /** IPFIX enterprise number (sets the enterprise bit) */
  enterprise?: number;
}

/** A template field of `length` bytes, without an enterprise number. */
export const field = (id: number, length: number): FieldDef => ({ id, length });

export interface TemplateDef {
  id: number;
  fields: FieldDef[];
  /** options templates: the first scopeCount fields are scope fields */
  scopeCount?: number;
}

/** A field value: a number or bigint (unsigned, the field's length), an address or MAC as text, or bytes. */
export type Value = number | bigint | string | Uint8Array;

export type SetDef =
  | { kind: 'templates'; templates: TemplateDef[] }
  | { kind: 'options-templates'; templates: TemplateDef[] }
  /** IPFIX withdrawal: template ids (2 / 3 = all of the set's kind) */
  | { kind: 'withdraw'; ids: number[]; options?: boolean }
  | { kind: 'data'; template: TemplateDef; records: Value[][]; padding?: number }
  | { kind: 'raw'; id: number; data: Uint8Array; lengthOverride?: number };

class Writer {
  private parts: number[] = [];
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  set(at: number, v16: number): void {
    this.parts[at] = (v16 >>> 8) & 0xff;
    this.parts[at + 1] = v16 & 0xff;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** The bytes of `v` for a field of `length` (variable: with its length prefix). */
export function encodeValue(v: Value, length: number): Uint8Array {
  let raw: Uint8Array;
  if (v instanceof Uint8Array) raw = v;
  else if (typeof v === 'string') {
    if (v.includes('.')) {
      const n = parseIpv4(v);
      raw = Uint8Array.of(n >>> 24, n >>> 16, n >>> 8, n);
    } else if (length === 6 || /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(v)) {
      const m = parseMac(v);
      raw = new Uint8Array(6);
      for (let i = 0; i < 6; i++) raw[i] = Math.floor(m / 2 ** (8 * (5 - i))) & 0xff;
    } else raw = Uint8Array.from(parseIpv6(v));
  } else {
    const n = length === VARIABLE_LENGTH ? 8 : length;
    let b = BigInt(v);
    raw = new Uint8Array(n);
    for (let i = n - 1; i >= 0; i--) {
      raw[i] = Number(b & 0xffn);
      b >>= 8n;
    }
  }
  if (length !== VARIABLE_LENGTH) {
    if (raw.length !== length) throw new RangeError(`value of ${raw.length} bytes for a field of ${length}`);
    return raw;
  }
  const w = new Writer();
  if (raw.length < 255) w.u8(raw.length);
  else w.u8(255).u16(raw.length);
  return w.bytes(raw).done();
}

function encodeSet(s: SetDef, version: 9 | 10): Uint8Array {
  const w = new Writer();
  let id: number;
  if (s.kind === 'raw') {
    w.u16(s.id)
      .u16(s.lengthOverride ?? s.data.length + 4)
      .bytes(s.data);
    return w.done();
  }
  if (s.kind === 'templates' || s.kind === 'options-templates') {
    const options = s.kind === 'options-templates';
    id = version === 9 ? (options ? 1 : 0) : options ? 3 : 2;
    w.u16(id).u16(0);
    for (const t of s.templates) {
      if (options && version === 9) {
        const scope = t.scopeCount ?? 1;
        w.u16(t.id)
          .u16(scope * 4)
          .u16((t.fields.length - scope) * 4);
      } else {
        w.u16(t.id).u16(t.fields.length);
        if (options) w.u16(t.scopeCount ?? 1);
      }
      for (const f of t.fields) {
        const ent = f.enterprise !== undefined && version === 10;
        w.u16(ent ? f.id | 0x8000 : f.id).u16(f.length);
        if (ent) w.u32(f.enterprise!);
      }
    }
    if (version === 9) while (w.length % 4 !== 0) w.u8(0);
  } else if (s.kind === 'withdraw') {
    w.u16(s.options ? 3 : 2).u16(0);
    for (const tid of s.ids) w.u16(tid).u16(0);
  } else {
    w.u16(s.template.id).u16(0);
    for (const rec of s.records) {
      if (rec.length !== s.template.fields.length) throw new RangeError('record/template field count');
      rec.forEach((v, i) => {
        w.bytes(encodeValue(v, s.template.fields[i].length));
      });
    }
    for (let i = 0; i < (s.padding ?? 0); i++) w.u8(0);
  }
  const out = w.done();
  out[2] = out.length >>> 8;
  out[3] = out.length & 0xff;
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface IpfixMessage {
  exportSecs: number;
  sequence: number;
  domain: number;
  sets: SetDef[];
  /** a message length field that lies */
  lengthOverride?: number;
}

export function encodeIpfix(m: IpfixMessage): Uint8Array {
  const body = concat(m.sets.map((s) => encodeSet(s, 10)));
  const h = new Writer()
    .u16(10)
    .u16(m.lengthOverride ?? body.length + 16)
    .u32(m.exportSecs)
    .u32(m.sequence)
    .u32(m.domain)
    .done();
  return concat([h, body]);
}

export interface V9Message {
  sysUptime: number;
  exportSecs: number;
  sequence: number;
  sourceId: number;
  sets: SetDef[];
  /** the header's record count (default: the data and template records it holds) */
  count?: number;
}

export function encodeV9(m: V9Message): Uint8Array {
  const body = concat(m.sets.map((s) => encodeSet(s, 9)));
  const count =
    m.count ??
    m.sets.reduce(
      (a, s) =>
        a +
        (s.kind === 'data'
          ? s.records.length
          : s.kind === 'templates' || s.kind === 'options-templates'
            ? s.templates.length
            : 0),
      0,
    );
  const h = new Writer()
    .u16(9)
    .u16(count)
    .u32(m.sysUptime)
    .u32(m.exportSecs)
    .u32(m.sequence)
    .u32(m.sourceId)
    .done();
  return concat([h, body]);
}

export interface V5Record {
  src: string;
  dst: string;
  input?: number;
  output?: number;
  packets: number;
  bytes: number;
  first?: number;
  last?: number;
  srcPort: number;
  dstPort: number;
  tcpFlags?: number;
  protocol: number;
  tos?: number;
}

export interface V5Message {
  sysUptime: number;
  exportSecs: number;
  sequence: number;
  engineType?: number;
  engineId?: number;
  /** the header's sampling field: interval in the low 14 bits, mode in the top 2 */
  sampling?: number;
  records: V5Record[];
  countOverride?: number;
}

export function encodeV5(m: V5Message): Uint8Array {
  const w = new Writer()
    .u16(5)
    .u16(m.countOverride ?? m.records.length)
    .u32(m.sysUptime)
    .u32(m.exportSecs)
    .u32(0)
    .u32(m.sequence)
    .u8(m.engineType ?? 0)
    .u8(m.engineId ?? 0)
    .u16(m.sampling ?? 0);
  for (const r of m.records) {
    w.u32(parseIpv4(r.src)).u32(parseIpv4(r.dst)).u32(0);
    w.u16(r.input ?? 0).u16(r.output ?? 0);
    w.u32(r.packets)
      .u32(r.bytes)
      .u32(r.first ?? 0)
      .u32(r.last ?? 0);
    w.u16(r.srcPort)
      .u16(r.dstPort)
      .u8(0)
      .u8(r.tcpFlags ?? 0)
      .u8(r.protocol)
      .u8(r.tos ?? 0);
    w.u16(0).u16(0).u8(0).u8(0).u16(0);
  }
  return w.done();
}
