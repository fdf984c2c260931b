/**
 * The page (ui/, built by `npm run build` into dist/ui): `/` is its index.html and
 * `/ui/FILE` its assets. The files are read once at start, and only the names the build
 * writes are served (no path from a request touches the file system). A Content-Security-Policy
 * keeps the page to its own scripts and to this server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

const FILES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** dist/ui: next to dist/api when running the build, under dist/ when running the sources. */
export function uiDir(): string | null {
  for (const rel of ['../ui/', '../dist/ui/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`) && existsSync(`${dir}app.js`)) return dir;
  }
  return null;
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app (its env type does not matter here)
export function mountUi(app: Hono<any>, dir: string | null = uiDir()): void {
  const headers = {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (dir === null) {
    app.get('/', (c) =>
      c.text(
        'podwire: the page is not built (npm run build); the API is under /api/v1, metrics on /metrics\n',
        200,
        headers,
      ),
    );
    return;
  }
  const index = readFileSync(`${dir}index.html`);
  const assets = new Map(
    Object.entries(FILES).map(([name, type]) => [name, { body: readFileSync(`${dir}${name}`), type }]),
  );
  app.get('/', (c) =>
    c.body(index, 200, {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  );
  app.get('/ui/:file', (c) => {
    const a = assets.get(c.req.param('file'));
    if (a === undefined) return c.text('not found\n', 404, headers);
    return c.body(a.body, 200, { ...headers, 'content-type': a.type, 'cache-control': 'no-cache' });
  });
}
