/**
 * tshark for the NetFlow suites: the 28,000-frame bulk capture takes it about 7 s alone,
 * and several suites at once on two shared cores pass the shared helper's 20 s limit (its
 * SIGTERM makes tshark exit 2, which read as a tshark failure). The limit here is 2 minutes.
 */
import { run } from '../cli/helpers.js';

export async function tsharkSlow(args: readonly string[]): Promise<string> {
  const r = await run('tshark', args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`tshark ${args.join(' ')} failed (${r.code ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}
