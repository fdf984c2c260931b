/**
 * List+watch of one Kubernetes collection, the way the API's watch semantics ask:
 *
 * - list (in pages of `pageSize`), remember the list's resourceVersion, hand the complete
 *   set over (`onSync`: it replaces the previous state, so objects deleted while no watch
 *   ran are noticed);
 * - watch from that resourceVersion with `allowWatchBookmarks` (BOOKMARK events only move
 *   the resourceVersion on, so a resumed watch does not start from a compacted one), each
 *   event moving the resourceVersion on; when the server ends the watch (its timeout, or a
 *   dropped connection), resume from the last resourceVersion — no relist;
 * - 410 Gone (an ERROR event with code 410, or an HTTP 410: the resourceVersion was
 *   compacted away) → relist;
 * - any other error → log, count, back off (doubling from `initialMs` to `maxMs`, reset by
 *   the next successful list or event), and retry (a watch error resumes, a list error
 *   relists).
 */
import { ApiException, type KubeConfig, Watch } from '@kubernetes/client-node';

export interface K8sObject {
  metadata?: { resourceVersion?: string; uid?: string; name?: string; namespace?: string };
}

export interface ListPage<T> {
  items: T[];
  metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
}

export interface ListWatchOptions<T extends K8sObject> {
  kc: KubeConfig;
  /** what it lists, for messages: `pods`, `network-attachment-definitions` */
  what: string;
  /** the watch path, e.g. /api/v1/pods */
  path: string;
  /** field selector for list and watch, e.g. spec.nodeName=node-a */
  fieldSelector?: string;
  list: (page: { limit: number; _continue?: string }) => Promise<ListPage<T>>;
  onSync: (items: T[]) => void;
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void;
  onError: (msg: string) => void;
  /** the list failed with a 404 (e.g. a CRD that is not installed): treated as empty */
  notFoundIsEmpty?: boolean;
  timeoutSeconds: number;
  backoff: { initialMs: number; maxMs: number };
  pageSize?: number;
}

/** A 410 Gone, from an ERROR event or the HTTP status. */
class Gone extends Error {}

export class ListWatch<T extends K8sObject> {
  /** the last resourceVersion seen; null: (re)list next */
  resourceVersion: string | null = null;
  /** counters, for tests and the curious */
  readonly counts = { lists: 0, watches: 0, relists410: 0, bookmarks: 0, errors: 0, dropped: 0 };
  private stopped = false;
  private controller: AbortController | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private delayMs: number;
  private loop: Promise<void> | null = null;
  private firstSync: { resolve: () => void; promise: Promise<void> };
  private cancelWatch: (() => void) | null = null;

  constructor(private readonly o: ListWatchOptions<T>) {
    this.delayMs = o.backoff.initialMs;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.firstSync = { resolve, promise };
  }

  /** Starts the loop; resolves after the first successful list (or stop()). */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.firstSync.promise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    this.cancelWatch?.();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    this.firstSync.resolve();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === null) await this.relist();
        if (this.stopped) break;
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Gone) {
          this.counts.relists410++;
          this.resourceVersion = null;
          continue;
        }
        this.counts.errors++;
        this.o.onError(`${this.o.what}: ${describe(err)}; retrying in ${this.delayMs} ms`);
        await this.sleep(this.delayMs);
        this.delayMs = Math.min(this.delayMs * 2, this.o.backoff.maxMs);
      }
    }
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    try {
      do {
        const page = await this.o.list({
          limit: this.o.pageSize ?? 500,
          ...(cont ? { _continue: cont } : {}),
        });
        items.push(...page.items);
        rv = page.metadata?.resourceVersion;
        cont = page.metadata?._continue || page.metadata?.continue || undefined;
      } while (cont && !this.stopped);
    } catch (err) {
      if (err instanceof ApiException && err.code === 410) throw new Gone(); // expired continue token
      if (err instanceof ApiException && err.code === 404 && this.o.notFoundIsEmpty) {
        this.counts.lists++;
        this.o.onSync([]);
        this.firstSync.resolve();
        // nothing to watch: look again after the longest backoff
        await this.sleep(this.o.backoff.maxMs);
        return this.stopped ? undefined : this.relist();
      }
      throw err;
    }
    if (this.stopped) return;
    this.counts.lists++;
    this.resourceVersion = rv ?? '0';
    this.delayMs = this.o.backoff.initialMs;
    this.o.onSync(items);
    this.firstSync.resolve();
  }

  /**
   * One watch, until the server ends it or the connection drops (both: resume from the last
   * resourceVersion; after a watch shorter than a second, with the backoff delay, so a
   * server that drops every connection at once is not hammered). Throws on errors: a failed
   * request, an HTTP error, an ERROR event (Gone: relist).
   */
  private async watchOnce(): Promise<void> {
    const began = Date.now();
    let opened = false;
    try {
      await this.watchRequest(() => {
        opened = true;
      });
    } catch (err) {
      if (!opened || err instanceof Gone || this.stopped) throw err;
      this.counts.dropped++;
    }
    if (!this.stopped && Date.now() - began < 1000) {
      await this.sleep(this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, this.o.backoff.maxMs);
    }
  }

  private watchRequest(onOpen: () => void): Promise<void> {
    this.counts.watches++;
    const w = new Watch(this.o.kc);
    return new Promise<void>((resolve, reject) => {
      // stop() ends the wait at once: the Watch hands its AbortController over only once the
      // response headers are in, and a request still waiting for them cannot be aborted yet
      this.cancelWatch = resolve;
      let failure: Error | null = null;
      const query: Record<string, string | number | boolean> = {
        resourceVersion: this.resourceVersion ?? '0',
        allowWatchBookmarks: true,
        timeoutSeconds: this.o.timeoutSeconds,
      };
      if (this.o.fieldSelector) query.fieldSelector = this.o.fieldSelector;
      // the server ends a watch after timeoutSeconds; one silently lost (no FIN) would hang
      // forever, so give up on it a little later and resume
      let timedOut = false;
      const watchdog = setTimeout(
        () => {
          timedOut = true;
          this.controller?.abort();
        },
        this.o.timeoutSeconds * 1000 + 30_000,
      );
      watchdog.unref();
      w.watch(
        this.o.path,
        query,
        (type: string, obj: unknown) => {
          if (failure !== null) return;
          const o = obj as T & { code?: number; message?: string; reason?: string };
          if (type === 'ERROR') {
            failure =
              o?.code === 410
                ? new Gone()
                : new Error(`watch error ${o?.code ?? ''} ${o?.reason ?? ''}: ${o?.message ?? ''}`.trim());
            this.controller?.abort();
            return;
          }
          const rv = o?.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          this.delayMs = this.o.backoff.initialMs;
          if (type === 'BOOKMARK') {
            this.counts.bookmarks++;
            return;
          }
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.o.onEvent(type, o);
        },
        (err: unknown) => {
          clearTimeout(watchdog);
          if (failure !== null) reject(failure);
          else if (err && !this.stopped && !timedOut) {
            const code = (err as { statusCode?: number }).statusCode;
            reject(code === 410 ? new Gone() : (err as Error));
          } else resolve(); // the server ended the watch: resume from the last resourceVersion
        },
      ).then((c) => {
        this.controller = c;
        onOpen();
        if (this.stopped) c.abort();
      }, reject);
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((r) => {
      this.wake = r;
      this.sleepTimer = setTimeout(r, ms);
    });
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: string } | string | undefined;
    const msg = typeof body === 'object' && body?.message ? body.message : String(body ?? '').slice(0, 200);
    return `HTTP ${err.code}${msg ? `: ${msg}` : ''}`;
  }
  const e = err as { message?: string; code?: string; statusCode?: number };
  if (e?.statusCode) return `HTTP ${e.statusCode} ${e.message ?? ''}`.trim();
  return e?.message ?? String(err);
}
