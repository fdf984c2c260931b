/**
 * The scraper of bench:exporter, run as a process of its own as Prometheus is: GETs
 * /metrics `count` times, one every `spacingMs`, on one keep-alive connection, and prints
 * each latency (request sent → whole body received, ms) as one JSON array on stdout.
 * Run in the exporter's own process, the client's reading of 1.4 MB bodies shared its
 * event loop and was measured as the exporter's.
 *
 *   node dist/bench/scraper.js URL COUNT SPACING_MS [gzip]
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, count, spacing, mode] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const gzip = mode === 'gzip';

function scrape(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      `${url}/metrics`,
      { agent, headers: gzip ? { 'accept-encoding': 'gzip' } : {} },
      (res) => {
        res.on('data', () => {});
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - t0)
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const out: number[] = [];
for (let i = 0; i < Number(count); i++) {
  out.push(await scrape());
  await new Promise((r) => setTimeout(r, Number(spacing)));
}
agent.destroy();
process.stdout.write(`${JSON.stringify(out)}\n`);
