/**
 * The API's answers to a request it will not serve — 400 naming the parameter, 403 for a
 * scope, 404 — and the time range every route shares.
 */
import { rangeProblem, TIME_LIMITS, type TimeLimits } from '../ingest/queries.js';

export class BadRequest extends Error {}
export class Forbidden extends Error {}
export class NotFound extends Error {}

/**
 * [from, to): the given ends, within what the columns queried hold, defaulting to the hour
 * before now.
 */
export function rangeOf(
  q: { from?: number; to?: number },
  limits: TimeLimits = TIME_LIMITS.dateTime,
): { from: number; to: number } {
  const given = rangeProblem(q, limits);
  if (given !== null) throw new BadRequest(given);
  const to = q.to ?? Math.ceil(Date.now() / 1000);
  const from = q.from ?? to - 3600;
  const problem = rangeProblem({ from, to }, limits);
  if (problem !== null) throw new BadRequest(problem);
  return { from, to };
}
