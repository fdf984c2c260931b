/**
 * Opaque page cursors for /api/v1/flows. A cursor holds where the next page starts (a
 * window and a hash of the stored row: ingest/api-queries.ts FlowPosition), the range the
 * first page fixed, and a digest of the filters and scope it belongs to — sealed with
 * AES-256-GCM under a key made at start. Opaque for real: the position is a stored row's
 * hash, which a tenant must not be able to read, and a tampered, foreign or stale cursor
 * (another process, other filters) is refused as a 400 instead of answering some page.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { FlowPosition } from '../ingest/api-queries.js';

export interface CursorState {
  position: FlowPosition;
  from: number;
  to: number;
}

export class CursorError extends Error {}

export class Cursors {
  private readonly key = randomBytes(32);

  /** A digest of what a page was asked with (filters, scope), binding a cursor to it. */
  static bindingOf(o: object): string {
    return createHash('sha256').update(JSON.stringify(o)).digest('base64url').slice(0, 16);
  }

  seal(s: CursorState, binding: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([
      c.update(JSON.stringify([s.position.window, s.position.hash, s.position.skip, s.from, s.to, binding])),
      c.final(),
    ]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  open(text: string, binding: string): CursorState {
    const raw = Buffer.from(text, 'base64url');
    if (raw.length < 29 || raw.toString('base64url') !== text) throw new CursorError('cursor: not a cursor');
    let parsed: unknown;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      parsed = JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8'));
    } catch {
      throw new CursorError('cursor: not a cursor of this server (expired by a restart, or altered)');
    }
    const [window, hash, skip, from, to, b] = parsed as [number, string, number, number, number, string];
    if (b !== binding) throw new CursorError('cursor: belongs to other filters; start again without it');
    return { position: { window, hash, skip }, from, to };
  }
}
