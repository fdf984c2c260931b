/**
 * The `file` endpoint source: the JSON inventory (collector/attribution/inventory.ts),
 * re-read when it changes. The file is the whole truth: each read is diffed against the
 * last good one — new records bind, records gone unbind (now), changed records rebind.
 * An invalid file is refused with an error naming the bad field (logged, counted in
 * health()) and the last good inventory stays in force.
 *
 * Watching: fs.watch on the file's directory (editors and `mv` replace the file, which a
 * watch on the file itself would lose), debounced; plus a 2 s stat poll of the mtime and
 * size as a fallback for file systems without inotify (network mounts, some containers).
 */
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type EndpointRecord, loadInventory } from '../attribution/inventory.js';
import type { FileSourceConfig } from './config.js';
import {
  defaultLog,
  type EmitEvents,
  type EmitNodes,
  type EndpointEvent,
  type EndpointSource,
  type EndpointSourceHealth,
  type Log,
  nowUs,
} from './types.js';

export interface FileSourceOptions extends Omit<FileSourceConfig, 'type' | 'debounceMs' | 'name'> {
  debounceMs?: number;
  name?: string;
  log?: Log;
  /** µs since the epoch (default the wall clock): when removals happened */
  now?: () => number;
  /** stat poll interval, ms (default 2000; 0 = none) */
  pollMs?: number;
}

/** A record's key within the file: who, where, and since when (history has several). */
export function fileRecordKey(r: EndpointRecord): string {
  return `${r.node}/${r.namespace}/${r.pod}/${r.interface}@${r.from ?? ''}`;
}

export class FileSource implements EndpointSource {
  readonly name: string;
  readonly path: string;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly log: Log;
  private readonly now: () => number;
  private emit: EmitEvents | null = null;
  private emitNodes: EmitNodes | undefined;
  /** the last good inventory's records by key, as JSON (to detect changes) */
  private current = new Map<string, string>();
  private watcher: FSWatcher | null = null;
  private poll: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastStat = '';
  private reading: Promise<void> = Promise.resolve();
  private readonly healthState: EndpointSourceHealth = { ok: true, errors: 0, lastError: null };
  /** successful reads (tests wait on it) */
  reads = 0;

  constructor(opts: FileSourceOptions) {
    this.name = opts.name ?? 'file';
    this.path = opts.path;
    this.debounceMs = opts.debounceMs ?? 100;
    this.pollMs = opts.pollMs ?? 2000;
    this.log = opts.log ?? defaultLog;
    this.now = opts.now ?? nowUs;
  }

  /** Reads the file once (rejects when the first read fails), then watches it. */
  async start(emit: EmitEvents, nodes?: EmitNodes): Promise<void> {
    this.emit = emit;
    this.emitNodes = nodes;
    // the first read must succeed: there is no last good inventory to keep
    await this.read(true);
    const file = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), (_event, name) => {
        if (name === null || name === file) this.schedule();
      });
      this.watcher.on('error', (err) => this.fail(`watching ${this.path}: ${err.message}`));
    } catch (err) {
      this.fail(`cannot watch ${this.path} (polling instead): ${(err as Error).message}`);
    }
    if (this.pollMs > 0) {
      this.poll = setInterval(() => {
        stat(this.path).then(
          (s) => {
            if (`${s.mtimeMs}/${s.size}` !== this.lastStat) this.schedule();
          },
          () => {},
        );
      }, this.pollMs);
      this.poll.unref();
    }
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    if (this.poll) clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    this.poll = this.timer = null;
    this.emit = null;
    await this.reading;
  }

  health(): EndpointSourceHealth {
    return { ...this.healthState };
  }

  private schedule(): void {
    if (this.emit === null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reading = this.reading.then(() => this.read(false));
    }, this.debounceMs);
  }

  private fail(msg: string): void {
    this.healthState.ok = false;
    this.healthState.errors++;
    this.healthState.lastError = msg;
    this.log(msg);
  }

  private async read(first: boolean): Promise<void> {
    let inv: Awaited<ReturnType<typeof loadInventory>>;
    try {
      const s = await stat(this.path).catch(() => null);
      this.lastStat = s ? `${s.mtimeMs}/${s.size}` : '';
      inv = await loadInventory(this.path);
    } catch (err) {
      const msg = `${(err as Error).message}${first ? '' : '\n  (the last good inventory stays in force)'}`;
      if (first) throw err;
      this.fail(msg);
      return;
    }
    if (this.emit === null) return;
    const at = this.now();
    const next = new Map<string, string>();
    const events: EndpointEvent[] = [];
    for (const r of inv.endpoints) {
      const key = fileRecordKey(r);
      const json = JSON.stringify(r);
      next.set(key, json);
      if (this.current.get(key) !== json) events.push({ kind: 'bind', atUs: at, key, record: r });
    }
    for (const key of this.current.keys()) {
      if (!next.has(key)) events.push({ kind: 'unbind', atUs: at, key });
    }
    this.current = next;
    this.healthState.ok = true;
    this.reads++;
    this.emitNodes?.(inv.nodes);
    this.emit(events);
  }
}
