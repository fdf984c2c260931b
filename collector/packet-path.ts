/**
 * The packet path for one input: decode → attribute → aggregate into flows and/or hand
 * each packet to a consumer (trace output). One instance owns the reused records, so the
 * per-packet work allocates nothing. Every packet is counted by outcome.
 *
 * With flows only, the flow table attributes (once per flow, see flow-table.ts); with a
 * consumer, every packet is attributed here and the flow table takes that attribution.
 */
import { Attribution, AttributionCounters, attribute, packetTimeUs } from './attribution/attribute.js';
import type { EndpointIndex } from './attribution/endpoint-index.js';
import { applyUntaggedScope, type UntaggedScope } from './attribution/untagged-scope.js';
import type { CapturedPacket } from './capture/types.js';
import { decodeFrame } from './decode/frame.js';
import { type DecodeConfig, DecodedPacket, decodeStatusName } from './decode/packet.js';
import type { FlowTable } from './flows/flow-table.js';

export type PacketConsumer = (
  captured: CapturedPacket,
  packet: DecodedPacket,
  attribution: Attribution,
) => void;

export interface PacketPathOptions {
  index: EndpointIndex;
  decode: DecodeConfig;
  /** a flow table built with the same `counters` */
  flows?: FlowTable;
  /** attribution counts; shared with the flow table, which counts the packets it attributes */
  counters?: AttributionCounters;
  onPacket?: PacketConsumer;
  /** sampled input: each packet stands for this many */
  samplingRate?: number;
  /** the tenant scope of the input's untagged, untunnelled frames (a pod-side mirror) */
  untaggedScope?: UntaggedScope;
}

export class PacketPath {
  readonly packet = new DecodedPacket();
  readonly attribution = new Attribution();
  readonly counters: AttributionCounters;
  /** packets per decode status (index = DecodeStatus code) */
  readonly decodeStatus = new Float64Array(decodeStatusName.length);
  bytes = 0;

  private readonly index: EndpointIndex;
  private readonly cfg: DecodeConfig;
  private readonly flows: FlowTable | undefined;
  private readonly onPacket: PacketConsumer | undefined;
  private readonly samplingRate: number;
  private readonly untagged: UntaggedScope | null;

  constructor(opts: PacketPathOptions) {
    this.counters = opts.counters ?? new AttributionCounters();
    this.index = opts.index;
    this.cfg = opts.decode;
    this.flows = opts.flows;
    this.onPacket = opts.onPacket;
    this.samplingRate = opts.samplingRate ?? 1;
    this.untagged = opts.untaggedScope ?? null;
    this.handle = this.onPacket === undefined && this.flows !== undefined ? this.flowsOnly : this.everyPacket;
  }

  /**
   * The capture reader's callback (a property, so it can be passed as is). Chosen once at
   * construction: the flows-only path (the hot one: the flow table attributes once per
   * flow) carries no per-packet checks for the trace path.
   */
  readonly handle: (c: CapturedPacket) => void;

  private readonly flowsOnly = (c: CapturedPacket): void => {
    const p = this.packet;
    this.decodeStatus[decodeFrame(c.data, c.offset, c.capLength, c.wireLength, c.linkType, p, this.cfg)]++;
    if (this.untagged !== null) applyUntaggedScope(p, this.untagged);
    this.bytes += c.wireLength;
    this.flows!.add(p, c.tsSec, packetTimeUs(c.tsSec, c.tsNsec), p.erspanSession, this.samplingRate);
  };

  private readonly everyPacket = (c: CapturedPacket): void => {
    const p = this.packet;
    this.decodeStatus[decodeFrame(c.data, c.offset, c.capLength, c.wireLength, c.linkType, p, this.cfg)]++;
    if (this.untagged !== null) applyUntaggedScope(p, this.untagged);
    this.bytes += c.wireLength;
    const tUs = packetTimeUs(c.tsSec, c.tsNsec);
    attribute(p, tUs, this.index, this.attribution, this.counters);
    this.flows?.add(p, c.tsSec, tUs, p.erspanSession, this.samplingRate, this.attribution);
    this.onPacket?.(c, p, this.attribution);
  };

  /** A summary of counts for logs and the CLI's closing line. */
  summary(): Record<string, number> {
    const s: Record<string, number> = {
      packets: this.counters.packets,
      bytes: this.bytes,
      attributed: this.counters.attributed,
    };
    for (let i = 1; i < this.decodeStatus.length; i++) {
      if (this.decodeStatus[i] > 0) s[`decode_${decodeStatusName[i]}`] = this.decodeStatus[i];
    }
    return s;
  }
}
