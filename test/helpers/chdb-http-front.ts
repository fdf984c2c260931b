/**
 * A STAND-IN for a ClickHouse server: one embedded chDB (ingest/embedded-engine.ts) behind
 * the part of ClickHouse's HTTP interface that @clickhouse/client speaks (GET /ping; POST
 * with the statement in `query` or in the body, `param_*` query parameters, settings as URL
 * parameters, gzip bodies, an insert's rows as the body). Why: the podwire schema needs a
 * modern ClickHouse, the only server this machine has is 18.16, and chDB is one process's
 * engine — so several podwire processes can share one store only through a front like
 * this. It proves the processes' wiring through the server transport (each its own
 * writer, dedup tokens, one store they all read) on real ClickHouse SQL; it cannot prove
 * a real server's concurrency, its HTTP edge cases, replication or Distributed tables.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EmbeddedEngine } from '../../ingest/embedded-engine.js';

/** URL parameters that are the protocol's, not settings. */
const PROTOCOL = new Set([
  'query',
  'database',
  'query_id',
  'session_id',
  'compress',
  'decompress',
  'enable_http_compression',
  'wait_end_of_query',
  'role',
]);

export interface ChdbFront {
  url: string;
  /** statements run, inserts among them */
  requests: { statements: number; inserts: number };
  close(): Promise<void>;
}

export async function startChdbFront(dir: string): Promise<ChdbFront> {
  const engine = await EmbeddedEngine.open({ path: dir, tmpDir: join(dir, 'tmp') });
  const requests = { statements: 0, inserts: 0 };
  const server: Server = createServer((req, res) => {
    void handle(engine, req, res, requests).catch((err: Error) => fail(res, err));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await engine.close();
    },
  };
}

async function handle(
  engine: EmbeddedEngine,
  req: IncomingMessage,
  res: ServerResponse,
  n: ChdbFront['requests'],
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://front');
  if (url.pathname === '/ping') return void res.end('Ok.\n');
  let body = await readBody(req);
  if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
  const inUrl = url.searchParams.get('query');
  const statement = inUrl ?? body.toString('utf8');
  const params: Record<string, string> = {};
  const settings: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (k.startsWith('param_')) params[k.slice(6)] = unescapeParam(v);
    else if (!PROTOCOL.has(k)) settings[k] = v;
  }
  n.statements++;
  if (inUrl !== null && body.length > 0) {
    n.inserts++;
    await engine.insertStatement(statement, body, insertSettings(settings));
    return void res.end('');
  }
  const text = await engine.run(statement, { settings, params });
  res.setHeader('content-type', 'text/plain; charset=UTF-8');
  res.end(text);
}

/** An insert's settings from the URL, as the engine's InsertData takes them (`name = value, …`). */
function insertSettings(settings: Record<string, string>): string | undefined {
  const sets = Object.entries(settings)
    .filter(([k]) => /^[A-Za-z_]\w*$/.test(k))
    .map(([k, v]) => `${k} = ${/^\d+$/.test(v) ? v : `'${v.replaceAll("'", "''")}'`}`);
  return sets.length > 0 ? sets.join(', ') : undefined;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f' };

/** The client sends a parameter escaped as a TSV value (backslash escapes); the engine binds raw values. */
function unescapeParam(v: string): string {
  return v.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** As a server fails a statement: a 500 whose body starts with the exception. */
function fail(res: ServerResponse, err: Error): void {
  if (res.headersSent) return void res.destroy(err);
  res.statusCode = 500;
  res.setHeader('x-clickhouse-exception-code', '1000');
  res.end(`Code: 1000. DB::Exception: ${err.message}\n`);
}
