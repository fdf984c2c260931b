/**
 * A client that never reads the stream: what the server holds for it stays bounded (its
 * socket's unsent bytes near the bound, the heap and Buffers flat while far more is offered),
 * samples are dropped and counted, and once it has been behind for slowCloseMs it is closed
 * with 1013 and a reason it can read when it wakes up. A client that reads meanwhile keeps
 * getting its rates, with nothing dropped.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, expect, it } from 'vitest';
import { bearer, connect, type Live, sample, startLive, TOKENS } from './server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let live: Live | null = null;
afterEach(async () => {
  await live?.close();
  live = null;
});

/** A sample with a 4 KB port-less payload stand-in: big messages fill buffers fast. */
const big = sample({ namespace: 'shop', pod: 'web-a0' }, { namespace: 'shop', pod: 'db-a1' });
const pad = { srcMac: `02:00:00:00:00:01${' '.repeat(4000)}` };

function flood(ms: number, perTick: number): Promise<number> {
  let offered = 0;
  return new Promise((resolve) => {
    const t = setInterval(() => {
      for (let i = 0; i < perTick; i++) live!.hub.sample({ ...big, ...pad, t: i });
      offered += perTick * 4200;
    }, 10);
    setTimeout(() => {
      clearInterval(t);
      resolve(offered);
    }, ms);
  });
}

function memory() {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
}

it('memory stays flat with a client that never reads; samples are dropped and counted', async () => {
  const BOUND = 256 * 1024;
  live = await startLive({ maxBufferedBytes: BOUND, slowCloseMs: 60_000 });
  const slow = connect(`${live.url}?samples=1`, bearer(TOKENS.admin));
  // a client that reads (rates only: this process holds what a client keeps, too)
  const reader = connect(live.url, bearer(TOKENS.admin));
  await Promise.all([slow.opened, reader.opened]);
  slow.ws.pause(); // stops reading its socket: the kernel buffers fill, then the server's
  await reader.next((m) => m.type === 'rates');
  await flood(1500, 20); // past the kernel's buffers
  const before = memory();
  const offered = await flood(4000, 20);
  const after = memory();
  expect(offered).toBeGreaterThan(20e6);
  // what is held for the slow client: at most the bound plus one message
  const serverSide = live.hub.unsentBytes();
  expect(Math.max(...serverSide)).toBeLessThan(BOUND + 8192);
  expect(after.heap - before.heap).toBeLessThan(8e6);
  expect(after.buffers - before.buffers).toBeLessThan(8e6);
  const dropped = await live.registry.getSingleMetricAsString('podwire_live_dropped_total');
  const n = Number(/what="samples"} (\d+)/.exec(dropped)?.[1] ?? 0);
  expect(n).toBeGreaterThan(1000);
  // the reader kept up and got its rates with the drop counts (its own: none)
  const lastRates = reader.messages.filter((m) => m.type === 'rates').at(-1) as {
    dropped: { samples: number };
  };
  expect(lastRates.dropped.samples).toBe(0);
  process.stderr.write(
    `slow client: offered ${(offered / 1e6).toFixed(0)} MB in 4 s; heap ${((after.heap - before.heap) / 1e6).toFixed(1)} MB, ` +
      `buffers ${((after.buffers - before.buffers) / 1e6).toFixed(1)} MB, rss ${((after.rss - before.rss) / 1e6).toFixed(1)} MB; ` +
      `${n} samples dropped\n`,
  );
  slow.ws.terminate();
  reader.ws.close();
}, 30_000);

it('a client behind for slowCloseMs is closed with 1013 and a reason', async () => {
  live = await startLive({ slowCloseMs: 1500, closeGraceMs: 20_000, heartbeatMs: 60_000 });
  const slow = connect(`${live.url}?samples=1`, bearer(TOKENS.admin));
  await slow.opened;
  slow.ws.pause();
  await flood(4000, 20);
  expect(await live.registry.getSingleMetricAsString('podwire_live_closed_total')).toMatch(
    /reason="too_slow"} 1/,
  );
  slow.ws.resume(); // it wakes up: reads what was queued, then the close frame
  const closed = await slow.closed;
  expect(closed.code).toBe(1013);
  expect(closed.reason).toMatch(
    /^too slow: behind for \d+ s; \d+ samples dropped, \d+ rate updates coalesced$/,
  );
  await expect.poll(() => live!.hub.size, { timeout: 2000 }).toBe(0);
}, 30_000);

it('a closing client that does not finish the close is terminated after closeGraceMs', async () => {
  live = await startLive({ slowCloseMs: 1000, closeGraceMs: 1000, heartbeatMs: 60_000 });
  const slow = connect(`${live.url}?samples=1`, bearer(TOKENS.admin));
  await slow.opened;
  slow.ws.pause();
  await flood(3500, 20);
  expect(live.hub.size).toBe(0);
  slow.ws.terminate();
}, 30_000);
