/**
 * Observation point codes: the `observation` number a flow is keyed by (an int32 in the
 * flow table's row) and what it is called in the store's `observation` column and the CLI.
 *
 *   code                      meaning                              name
 *   -1                        the input itself (file, interface)   the input's name
 *   0 .. 1023                 ERSPAN session ID (10 bits)          erspan:ID
 *   SFLOW_OBSERVATION_BASE+n  the n-th sFlow (agent, ifIndex) seen  sflow:AGENT:IFINDEX
 *                             by this process (ObservationPoints)  (IPv6 agents in brackets)
 *
 * sFlow points are numbered in the order they are first seen, so the numbers mean
 * something only together with the ObservationPoints of the same run: every sink gets
 * the names, never the numbers.
 */
export const SFLOW_OBSERVATION_BASE = 1 << 20;
/** points one process names; more (a misbehaving agent inventing ifIndexes) share one code */
export const MAX_SFLOW_POINTS = 1 << 20;
export const SFLOW_OTHER_POINT = SFLOW_OBSERVATION_BASE + MAX_SFLOW_POINTS;

export class ObservationPoints {
  private readonly names: string[] = [];
  /** registrations refused because MAX_SFLOW_POINTS were named */
  overflows = 0;

  /** A new code for (agent, ifIndex); the caller keeps it (see agents.ts). */
  register(agent: string, ifIndex: number): number {
    if (this.names.length >= MAX_SFLOW_POINTS) {
      this.overflows++;
      return SFLOW_OTHER_POINT;
    }
    this.names.push(`sflow:${agent}:${ifIndex}`);
    return SFLOW_OBSERVATION_BASE + this.names.length - 1;
  }

  name(code: number): string | undefined {
    if (code === SFLOW_OTHER_POINT) return 'sflow:other';
    return this.names[code - SFLOW_OBSERVATION_BASE];
  }

  get size(): number {
    return this.names.length;
  }
}

/** The name of an observation code (see the table above). */
export function observationName(code: number, input: string, points?: ObservationPoints): string {
  if (code < 0) return input;
  if (code < SFLOW_OBSERVATION_BASE) return `erspan:${code}`;
  return points?.name(code) ?? `sflow:${code - SFLOW_OBSERVATION_BASE}`;
}
