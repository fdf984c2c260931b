/**
 * `node --import ./test/cli/load-trace.mjs …` with LOAD_TRACE=FILE appends the URL of every
 * module the process loads to FILE, one a line: what a command imports, as a user runs it
 * (lazy-load.test.ts). The module registers itself as a loader hook; the hook runs in
 * Node's loader thread, so it writes each URL as it is loaded (nothing is lost at exit).
 */
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const out = process.env.LOAD_TRACE;

if (isMainThread && out) register(import.meta.url);

export async function load(url, context, next) {
  const loaded = await next(url, context);
  if (out) appendFileSync(out, `${url}\n`);
  return loaded;
}
