/**
 * What did not reach the store, for the closing lines of `flows --store` and `podwire all`:
 * the rows that wait in the spool now (not the rows ever spooled: those replayed meanwhile
 * are stored), the rows dropped and why, and the rows the store refused as bad data and
 * where they are kept.
 */
import type { WriterStats } from '../ingest/writer.js';

export type StoreOutcome = Pick<
  WriterStats,
  'written' | 'spoolRows' | 'overflowed' | 'dropped' | 'droppedBy' | 'rejected' | 'rejectedBy' | 'quarantined'
>;

const num = (n: number) => Math.round(n).toLocaleString('en');

const byReason = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}: ${num(n)}`)
    .join(', ');

/** The writers' outcomes added up. */
export function sumOutcomes(list: readonly StoreOutcome[]): StoreOutcome {
  const add = (a: Record<string, number>, b: Record<string, number>) => {
    const out = { ...a };
    for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  return list.reduce(
    (s, o) => ({
      written: s.written + o.written,
      spoolRows: s.spoolRows + o.spoolRows,
      overflowed: s.overflowed + o.overflowed,
      dropped: s.dropped + o.dropped,
      droppedBy: add(s.droppedBy, o.droppedBy),
      rejected: s.rejected + o.rejected,
      rejectedBy: add(s.rejectedBy, o.rejectedBy),
      quarantined: s.quarantined + o.quarantined,
    }),
    {
      written: 0,
      spoolRows: 0,
      overflowed: 0,
      dropped: 0,
      droppedBy: {},
      rejected: 0,
      rejectedBy: {},
      quarantined: 0,
    },
  );
}

/**
 * `; N rows wait in the spool DIR for the next start; N rows DROPPED (reason: n): …; N
 * rows refused by the store as bad data (ERROR: n), kept in DIR` — each part only when it
 * applies; '' when every row was stored.
 */
export function notStored(o: StoreOutcome, dirs: { spool: string; quarantine: string }): string {
  const parts: string[] = [];
  if (o.spoolRows > 0)
    parts.push(`${num(o.spoolRows)} rows wait in the spool ${dirs.spool} for the next start`);
  const lost = o.dropped - o.rejected;
  if (lost > 0) {
    const { rejected: _, ...reasons } = o.droppedBy;
    parts.push(`${num(lost)} rows DROPPED (${byReason(reasons)}): they could not be stored nor spooled`);
  }
  if (o.rejected > 0) {
    const kept =
      o.quarantined === o.rejected ? '' : ` (${num(o.quarantined)} of them: the quarantine is full)`;
    parts.push(
      `${num(o.rejected)} rows refused by the store as bad data (${byReason(o.rejectedBy)}), kept in ${dirs.quarantine}${kept}`,
    );
  }
  return parts.map((p) => `; ${p}`).join('');
}

/**
 * For a status line: `N rows waiting in the spool, M dropped (reason: n, …)[, K spooled
 * over a full queue]` over every writer.
 */
export function storeHealth(o: StoreOutcome): string {
  return (
    `${num(o.spoolRows)} rows waiting in the spool, ${num(o.dropped)} dropped` +
    (o.dropped > 0 ? ` (${byReason(o.droppedBy)})` : '') +
    (o.overflowed > 0 ? `, ${num(o.overflowed)} spooled over a full queue` : '')
  );
}
