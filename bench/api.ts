/**
 * bench:api — the query API under load while the service ingests the demo: `podwire all`
 * (embedded chDB) in a process of its own; after a warm-up, a load process (apart from the
 * service, as real clients are) runs 50 HTTP clients, each asking top talkers (by pod,
 * pair, namespace: what the UI polls, "the last hour") and a trace (a demo pod's MAC) in
 * turn for 30 s, plus 100 WebSocket subscribers on /api/v1/live. Meanwhile this process
 * scrapes the service's /metrics once a second, as Prometheus would: the scrape latency,
 * and the event-loop lag p99 the service reports (`podwire_event_loop_lag_p99_seconds`,
 * per 10 s window; the worst window under load is printed). Last line:
 * `p99_ms: N event_loop_lag_p99_ms: M` (target p99 under 200 ms).
 *
 *   BENCH_API_SECONDS (30), BENCH_API_CLIENTS (50), BENCH_API_SUBSCRIBERS (100),
 *   BENCH_API_WARMUP_SECONDS (20)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const SECONDS = env('BENCH_API_SECONDS', 30);
const CLIENTS = env('BENCH_API_CLIENTS', 50);
const SUBSCRIBERS = env('BENCH_API_SUBSCRIBERS', 100);
const WARMUP = env('BENCH_API_WARMUP_SECONDS', 20);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface LoadReport {
  routes: Record<string, number[]>;
  errors: Record<string, number>;
  ws: { opened: number; failed: string[]; messages: number; rates: number; closed: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(url: string, agent?: http.Agent): Promise<{ status: number; body: string; ms: number }> {
  const t = performance.now();
  return new Promise((resolve) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - t }));
      })
      .on('error', (e) => resolve({ status: 0, body: e.message, ms: performance.now() - t }));
  });
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(1));

// ── the load process ────────────────────────────────────────────────────────────────

async function load(base: string, macs: string[]): Promise<void> {
  const end = Date.now() + SECONDS * 1000;
  const report: LoadReport = {
    routes: {},
    errors: {},
    ws: { opened: 0, failed: [], messages: 0, rates: 0, closed: 0 },
  };
  const sockets: WebSocket[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/live`);
    sockets.push(ws);
    ws.on('open', () => {
      report.ws.opened++;
      ws.send(JSON.stringify({ type: 'subscribe', samples: i % 2 === 0 }));
    });
    ws.on('message', (m) => {
      report.ws.messages++;
      if (String(m).startsWith('{"type":"rates"')) report.ws.rates++;
    });
    ws.on('unexpected-response', (_req, res) => {
      report.ws.failed.push(`HTTP ${res.statusCode}`);
    });
    ws.on('error', (e) => report.ws.failed.push(e.message));
    ws.on('close', () => report.ws.closed++);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const asks: [string, (i: number) => string][] = [
    ['top-talkers', (i) => `/api/v1/top-talkers?by=${['pod', 'pair', 'namespace'][i % 3]}`],
    ['trace', (i) => `/api/v1/trace?mac=${encodeURIComponent(macs[i % macs.length])}&limit=20`],
  ];
  let n = 0;
  const client = async () => {
    while (Date.now() < end) {
      const i = n++;
      const [route, path] = asks[i % asks.length];
      const r = await get(base + path(i), agent);
      const key = `${route} ${r.status}`;
      if (r.status !== 200) {
        report.errors[key] = (report.errors[key] ?? 0) + 1;
        continue;
      }
      report.routes[route] ??= [];
      report.routes[route].push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const openAtEnd = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  for (const s of sockets) s.terminate();
  agent.destroy();
  // exit only once the report is written: a pipe takes it asynchronously
  await new Promise<void>((r) =>
    process.stdout.write(`${JSON.stringify({ ...report, ws: { ...report.ws, openAtEnd } })}\n`, () => r()),
  );
}

// ── the bench: service, scrapes, report ─────────────────────────────────────────────

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function run(cmd: string, args: string[]): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return { child, out: () => out, err: () => err };
}

const gauge = (text: string, name: string) => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
};

async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-bench-api-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const service = run(process.execPath, [
    'bin/podwire.js',
    'all',
    '--data-dir',
    dir,
    '--listen',
    `127.0.0.1:${port}`,
    '--quiet',
  ]);
  try {
    const t0 = Date.now();
    while ((await get(`${base}/readyz`)).status !== 200) {
      if (service.child.exitCode !== null || Date.now() - t0 > 60_000)
        throw new Error(`the service did not become ready:\n${service.err()}`);
      await sleep(250);
    }
    process.stdout.write(`service ready in ${Date.now() - t0} ms; ingesting the demo for ${WARMUP} s\n`);
    await sleep(WARMUP * 1000);
    const pods = await get(`${base}/api/v1/pods`);
    const macs = [...new Set(pods.body.match(/[0-9a-f]{2}(?::[0-9a-f]{2}){5}/gi) ?? [])].slice(0, 50);
    if (macs.length === 0) throw new Error(`no MAC in /api/v1/pods: ${pods.body.slice(0, 200)}`);
    process.stdout.write(
      `load: ${CLIENTS} HTTP clients (top talkers, trace over ${macs.length} MACs) and ${SUBSCRIBERS} ` +
        `WebSocket subscribers for ${SECONDS} s, from a process of their own\n`,
    );
    const gen = run(process.execPath, [fileURLToPath(import.meta.url), '--load', base, macs.join(',')]);
    // 'close', not 'exit': its report is read once its stdout has all arrived
    let done = false;
    gen.child.once('close', () => {
      done = true;
    });
    const scrapes: number[] = [];
    const lags: number[] = [];
    const scrapeAgent = new http.Agent({ keepAlive: true });
    while (!done) {
      const r = await get(`${base}/metrics`, scrapeAgent);
      if (r.status === 200) {
        scrapes.push(r.ms);
        lags.push(gauge(r.body, 'podwire_event_loop_lag_p99_seconds') * 1000);
      }
      await sleep(1000);
    }
    scrapeAgent.destroy();
    const report = JSON.parse(gen.out().trim().split('\n').at(-1) ?? '{}') as LoadReport & {
      ws: { openAtEnd: number };
    };
    if (report.routes === undefined) throw new Error(`the load process failed:\n${gen.err()}`);
    const all: number[] = [];
    for (const [route, xs] of Object.entries(report.routes)) {
      for (const x of xs) all.push(x); // not push(...xs): a quiet machine answers more than the stack holds
      process.stdout.write(
        `${route}: ${xs.length} answers (${(xs.length / SECONDS).toFixed(0)}/s), p50 ${ms(pct(xs, 50))} ms, p99 ${ms(pct(xs, 99))} ms, max ${ms(pct(xs, 100))} ms\n`,
      );
    }
    const errors = Object.entries(report.errors);
    process.stdout.write(
      `errors: ${errors.length === 0 ? 'none' : errors.map(([k, v]) => `${k}: ${v}`).join(', ')}\n`,
    );
    const w = report.ws;
    const failed = [...new Set(w.failed)];
    process.stdout.write(
      `live: ${w.opened}/${SUBSCRIBERS} subscribers connected, ${w.openAtEnd} still open at the end, ` +
        `${w.messages} messages (${w.rates} rates)` +
        (failed.length ? `; failures: ${failed.join(', ')}` : '') +
        '\n',
    );
    process.stdout.write(
      `/metrics while loaded: ${scrapes.length} scrapes, p50 ${ms(pct(scrapes, 50))} ms, max ${ms(pct(scrapes, 100))} ms; ` +
        `event-loop lag p99 per 10 s window: ${lags
          .map((l) => l.toFixed(0))
          .filter((l, i, a) => i === 0 || l !== a[i - 1])
          .join(' ')} ms\n`,
    );
    // the windows that fell wholly under load: all but the first (it began before it)
    const loaded = lags.slice(Math.min(10, lags.length - 1));
    process.stdout.write(`p99_ms: ${ms(pct(all, 99))} event_loop_lag_p99_ms: ${ms(Math.max(...loaded))}\n`);
  } finally {
    service.child.kill('SIGTERM');
    await new Promise((r) => {
      service.child.once('exit', r);
      setTimeout(r, 15_000).unref();
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--load') {
  await load(process.argv[3], process.argv[4].split(','));
  process.exit(0);
} else {
  await bench();
}
