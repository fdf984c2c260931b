/** The page's calls to /api/v1: same origin, the session cookie rides along; errors carry the API's words. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function get<T>(
  path: string,
  query: Record<string, string | number | undefined> = {},
): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  const r = await fetch(`/api/v1${path}${s ? `?${s}` : ''}`, { credentials: 'same-origin' });
  const body = (await r.json().catch(() => ({}))) as { error?: string };
  if (!r.ok) throw new ApiError(r.status, body.error ?? `${r.status} ${r.statusText}`);
  return body as T;
}

export async function post(path: string, body?: unknown): Promise<Response> {
  return fetch(`/api/v1${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export interface Whoami {
  name: string;
  role: 'admin' | 'tenant';
  namespaces: string[] | null;
}

/** Seconds since the epoch of a range ending now. */
export function lastSeconds(seconds: number): { from: number; to: number } {
  const to = Math.ceil(Date.now() / 1000);
  return { from: to - seconds, to };
}
