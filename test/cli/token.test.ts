/**
 * `podwire token new|hash`: the token is read from stdin (never an argument, which shell
 * history and process listings keep), its hash is SHA-256 hex, and `new` prints a token
 * whose hash is the one in the api.tokens entry it prints.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../api/access.js';
import { ensureBuilt, expectCleanFailure, podwire } from './helpers.js';

beforeAll(() => ensureBuilt());

describe('podwire token', () => {
  it('hash: the SHA-256 hex of the first line on stdin', async () => {
    const r = await podwire(['token', 'hash'], { stdin: Buffer.from('my secret token\n') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${hashToken('my secret token')}\n`);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it('hash: refuses an empty stdin', async () => {
    expectCleanFailure(
      await podwire(['token', 'hash'], { stdin: Buffer.alloc(0) }),
      2,
      /give the token on stdin/,
    );
  });

  it('new: a random token on stdout, and its api.tokens entry (the hash, never the token) on stderr', async () => {
    const r = await podwire([
      'token',
      'new',
      '--name',
      'shop-team',
      '--role',
      'tenant',
      '--namespaces',
      'shop,web',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const entry = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
    expect(entry).toEqual({
      name: 'shop-team',
      sha256: hashToken(token),
      role: 'tenant',
      namespaces: ['shop', 'web'],
    });
    expect(r.stderr).not.toContain(token);
    const again = await podwire(['token', 'new']);
    expect(again.stdout.trim()).not.toBe(token);
  });

  it('new: a tenant token needs its namespaces; an unknown role is refused', async () => {
    expectCleanFailure(
      await podwire(['token', 'new', '--role', 'tenant']),
      2,
      /--role tenant needs --namespaces/,
    );
    const r = await podwire(['token', 'new', '--role', 'root']);
    expect(r.code).toBe(2);
  });
});
