/**
 * NetFlow observation points: the `observation` code a flow is keyed by, in a range of its
 * own beside sFlow's (sflow/observation.ts has the table of ranges), named
 * `netflow:EXPORTER:IFINDEX` — the exporter's address (IPv6 in brackets) and the record's
 * input interface (its output interface when it has no input, 0 when neither).
 */
import type { PointNames } from '../sflow/observation.js';

export const NETFLOW_OBSERVATION_BASE = 1 << 22;
/** points one process names; more (an exporter inventing interfaces) share one code */
export const MAX_NETFLOW_POINTS = 1 << 20;
export const NETFLOW_OTHER_POINT = NETFLOW_OBSERVATION_BASE + MAX_NETFLOW_POINTS;

export class NetflowPoints implements PointNames {
  private readonly names: string[] = [];
  overflows = 0;

  /** `first`/`max`: this table's share of the range (one table per intake worker). */
  constructor(
    private readonly first = 0,
    private readonly max = MAX_NETFLOW_POINTS,
  ) {}

  register(exporter: string, ifIndex: number): number {
    if (this.names.length >= this.max) {
      this.overflows++;
      return NETFLOW_OTHER_POINT;
    }
    this.names.push(`netflow:${exporter}:${ifIndex}`);
    return NETFLOW_OBSERVATION_BASE + this.first + this.names.length - 1;
  }

  name(code: number): string | undefined {
    if (code === NETFLOW_OTHER_POINT) return 'netflow:other';
    return this.names[code - NETFLOW_OBSERVATION_BASE - this.first];
  }

  since(from: number): [number, string][] {
    return this.names.slice(from).map((n, i) => [NETFLOW_OBSERVATION_BASE + this.first + from + i, n]);
  }

  get size(): number {
    return this.names.length;
  }
}
