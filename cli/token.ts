/**
 * `podwire token new|hash`: make an API token and the SHA-256 the config holds
 * (`api.tokens[].sha256`). The token is read from stdin, never from the command line, where
 * it would land in the shell history and in every process listing.
 */
import { hashToken, newToken } from '../api/access.js';
import { UserError } from './errors.js';

/** A new random token on stdout's first line, its hash and a config entry after it. */
export function tokenNew(o: { name: string; role: string; namespaces?: string }): void {
  const token = newToken();
  const entry = {
    name: o.name,
    sha256: hashToken(token),
    role: o.role,
    ...(o.namespaces === undefined ? {} : { namespaces: o.namespaces.split(',').filter((s) => s !== '') }),
  };
  process.stdout.write(`${token}\n`);
  process.stderr.write(
    `podwire: the token is the line above (shown once; podwire keeps only its hash). Add to api.tokens:\n${JSON.stringify(entry)}\n`,
  );
}

/** The SHA-256 hex of the token given on stdin (its first line, without the newline). */
export async function tokenHash(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const token = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
  if (token === undefined || token === '') throw new UserError('podwire token hash: give the token on stdin');
  process.stdout.write(`${hashToken(token)}\n`);
}
