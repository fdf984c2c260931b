/**
 * Observation point codes: the `observation` number a flow is keyed by (an int32 in the
 * flow table's row) and what it is called in the store's `observation` column and the CLI.
 *
 *   code                      meaning                              name
 *   -1                        the input itself (file, interface)   the input's name
 *   0 .. 1023                 ERSPAN session ID (10 bits)          erspan:ID
 *   SFLOW_OBSERVATION_BASE+n  the n-th sFlow (agent, ifIndex) seen  sflow:AGENT:IFINDEX
 *                             by this process (ObservationPoints)  (IPv6 agents in brackets)
 *   2^22+n                    the n-th NetFlow/IPFIX (exporter,    netflow:EXPORTER:IFINDEX
 *                             ifIndex) (netflow/observation.ts)
 *
 * sFlow points are numbered in the order they are first seen, so the numbers mean
 * something only together with the ObservationPoints of the same run: every sink gets
 * the names, never the numbers.
 */
export const SFLOW_OBSERVATION_BASE = 1 << 20;
/** points one process names; more (a misbehaving agent inventing ifIndexes) share one code */
export const MAX_SFLOW_POINTS = 1 << 20;
export const SFLOW_OTHER_POINT = SFLOW_OBSERVATION_BASE + MAX_SFLOW_POINTS;

/** What names observation codes (one ObservationPoints, or the merged names of several). */
export interface PointNames {
  name(code: number): string | undefined;
}

export class ObservationPoints implements PointNames {
  private readonly names: string[] = [];
  /** registrations refused because MAX_SFLOW_POINTS were named */
  overflows = 0;

  /**
   * `first`: the number of this table's first point, so that several tables (one per
   * intake worker) hand out codes that never collide: worker k starts at k × 2^20 - its
   * share of the MAX_SFLOW_POINTS, which then bounds all of them together.
   */
  constructor(
    private readonly first = 0,
    private readonly max = MAX_SFLOW_POINTS,
  ) {}

  /** A new code for (agent, ifIndex); the caller keeps it (see agents.ts). */
  register(agent: string, ifIndex: number): number {
    if (this.names.length >= this.max) {
      this.overflows++;
      return SFLOW_OTHER_POINT;
    }
    this.names.push(`sflow:${agent}:${ifIndex}`);
    return SFLOW_OBSERVATION_BASE + this.first + this.names.length - 1;
  }

  name(code: number): string | undefined {
    if (code === SFLOW_OTHER_POINT) return 'sflow:other';
    return this.names[code - SFLOW_OBSERVATION_BASE - this.first];
  }

  /** Points from the `from`-th on, as [code, name] (what a worker sends its parent). */
  since(from: number): [number, string][] {
    return this.names.slice(from).map((n, i) => [SFLOW_OBSERVATION_BASE + this.first + from + i, n]);
  }

  get size(): number {
    return this.names.length;
  }
}

/** The name of an observation code (see the table above). */
export function observationName(code: number, input: string, points?: PointNames): string {
  if (code < 0) return input;
  if (code < SFLOW_OBSERVATION_BASE) return `erspan:${code}`;
  const named = points?.name(code);
  if (named !== undefined) return named;
  // NetFlow's range (collector/netflow/observation.ts) starts at 2^22
  if (code >= 1 << 22) return `netflow:${code - (1 << 22)}`;
  return `sflow:${code - SFLOW_OBSERVATION_BASE}`;
}
