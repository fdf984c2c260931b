/**
 * The `cni-cache` endpoint source: SR-IOV CNI's saved NetConf files. On every ADD the
 * plugin saves its configuration, completed with the VF it took, as
 * `<dir>/<containerID>-<ifName>` (default dir /var/lib/cni/sriov) and removes it on DEL; so
 * the directory is exactly the node's bound VFs. Read from each file: `deviceID` (the VF's
 * PCI address), `VFID`, `Master` (the PF), `MAC`, `vlan`, `min_tx_rate`/`max_tx_rate`
 * (Mb/s: they name the tier) and `name` (the network).
 *
 * The NetConf does not say which pod the VF belongs to, nor its IPs. When libcni's result
 * cache is readable (`resultsDir`, default /var/lib/cni/results: one
 * `<network>-<containerID>-<ifName>` JSON per attachment, with the runtime's `cniArgs`
 * K8S_POD_NAMESPACE/K8S_POD_NAME and the IPAM `result.ips`), they are taken from it;
 * otherwise the endpoint is namespace `unknown`, pod `container-<first 12 of the ID>`, and
 * attributed by MAC only.
 *
 * Watching: fs.watch on the directory (real inotify), debounced, and a rescan every
 * `pollMs` (default 2 s) for file systems without inotify and a directory that does not
 * exist yet (the plugin creates it on its first ADD). Each scan is diffed against the last:
 * a new file binds (at its mtime on the first scan: the VF was bound then), a changed one
 * rebinds, a removed one unbinds. An invalid file is a logged error naming the file and the
 * field, counted in health(); a file that was valid keeps its last good binding.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { type EndpointRecord, endpointSchema } from '../attribution/inventory.js';
import { type CniCacheSourceConfig, formatIssues } from './config.js';
import { type CniTier, DEFAULT_CNI_TIERS, tierForRates } from './tiers.js';
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

export interface CniCacheSourceOptions extends Partial<Omit<CniCacheSourceConfig, 'type'>> {
  log?: Log;
  now?: () => number;
  /** rescan interval, ms (default 2000; 0 = none) */
  pollMs?: number;
}

const PCI_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;

/** The fields of SR-IOV CNI's NetConf this source reads (the rest is ignored). */
export const sriovNetConfSchema = z.object({
  name: z.string().default(''),
  deviceID: z.string().regex(PCI_RE, 'expected a PCI address like 0000:3b:02.0'),
  VFID: z.number().int().min(0).max(255),
  Master: z.string().min(1, 'expected the PF name'),
  MAC: z
    .string()
    .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'expected the VF MAC address like 02:00:00:00:01:01'),
  vlan: z.number().int().min(0).max(4094).nullable().optional(),
  min_tx_rate: z.number().int().min(0).nullable().optional(),
  max_tx_rate: z.number().int().min(0).nullable().optional(),
});

export type SriovNetConf = z.infer<typeof sriovNetConfSchema>;

/** What libcni's result cache says about an attachment. */
export interface CniResult {
  namespace: string | null;
  pod: string | null;
  ips: string[];
}

export class CniCacheError extends Error {
  override name = 'CniCacheError';
}

/** Splits a cache file name `<containerID>-<ifName>` (container IDs are hex, no dashes). */
export function splitCacheName(file: string): { containerId: string; ifName: string } | null {
  const i = file.indexOf('-');
  if (i <= 0 || i === file.length - 1) return null;
  return { containerId: file.slice(0, i), ifName: file.slice(i + 1) };
}

/** Parses a saved NetConf; throws CniCacheError naming the file and each bad field. */
export function parseSriovNetConf(text: string, file: string): SriovNetConf {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CniCacheError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const r = sriovNetConfSchema.safeParse(json);
  if (!r.success) throw new CniCacheError(`${file}: invalid SR-IOV NetConf\n${formatIssues(r.error.issues)}`);
  return r.data;
}

/** Parses a libcni cached result (kind cniCacheV1); null when it is not one. */
export function parseCniResult(text: string): CniResult | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof json !== 'object' || json === null) return null;
  const j = json as { cniArgs?: unknown; result?: { ips?: unknown } };
  let namespace: string | null = null;
  let pod: string | null = null;
  if (Array.isArray(j.cniArgs)) {
    for (const kv of j.cniArgs) {
      if (!Array.isArray(kv) || typeof kv[1] !== 'string') continue;
      if (kv[0] === 'K8S_POD_NAMESPACE') namespace = kv[1];
      if (kv[0] === 'K8S_POD_NAME') pod = kv[1];
    }
  }
  const ips: string[] = [];
  if (Array.isArray(j.result?.ips)) {
    for (const ip of j.result.ips as { address?: unknown }[]) {
      if (typeof ip?.address === 'string') ips.push(ip.address.split('/')[0]);
    }
  }
  return { namespace, pod, ips };
}

/** The endpoint record of a cache file (validated against the inventory contract). */
export function netConfToRecord(
  c: SriovNetConf,
  file: string,
  node: string,
  result: CniResult | null,
  tiers: readonly CniTier[],
): EndpointRecord {
  const names = splitCacheName(file);
  if (names === null) throw new CniCacheError(`${file}: not a <containerID>-<ifName> cache file name`);
  const r = endpointSchema.safeParse({
    namespace: result?.namespace || 'unknown',
    pod: result?.pod || `container-${names.containerId.slice(0, 12)}`,
    node,
    interface: names.ifName,
    network: c.name,
    mode: 'l2',
    vlan: c.vlan ?? 0,
    mac: c.MAC.toLowerCase(),
    ips: result?.ips ?? [],
    vf: { pf: c.Master, index: c.VFID },
    tier: tierForRates(c.min_tx_rate, c.max_tx_rate, tiers),
  });
  if (!r.success)
    throw new CniCacheError(`${file}: cannot make an endpoint\n${formatIssues(r.error.issues)}`);
  return r.data;
}

export class CniCacheSource implements EndpointSource {
  readonly name: string;
  readonly dir: string;
  readonly resultsDir: string;
  readonly node: string;
  private readonly tiers: readonly CniTier[];
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly log: Log;
  private readonly now: () => number;
  private emit: EmitEvents | null = null;
  /** file → its content and record, of the last good read */
  private known = new Map<string, { text: string; result: string; record: EndpointRecord }>();
  /** file → content whose error was logged already (an error is logged once per content) */
  private readonly badLogged = new Map<string, string>();
  private watcher: FSWatcher | null = null;
  private poll: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> = Promise.resolve();
  private readonly healthState: EndpointSourceHealth = { ok: true, errors: 0, lastError: null };
  /** completed scans (tests wait on it) */
  scans = 0;

  constructor(opts: CniCacheSourceOptions = {}) {
    this.name = opts.name ?? 'cni-cache';
    this.dir = opts.dir ?? '/var/lib/cni/sriov';
    this.resultsDir = opts.resultsDir ?? '/var/lib/cni/results';
    this.node = opts.node ?? hostname();
    this.tiers = opts.tiers ?? DEFAULT_CNI_TIERS;
    this.debounceMs = opts.debounceMs ?? 50;
    this.pollMs = opts.pollMs ?? 2000;
    this.log = opts.log ?? defaultLog;
    this.now = opts.now ?? nowUs;
  }

  async start(emit: EmitEvents, _nodes?: EmitNodes): Promise<void> {
    this.emit = emit;
    await this.scan(true);
    this.tryWatch();
    if (this.pollMs > 0) {
      this.poll = setInterval(() => {
        if (this.watcher === null) this.tryWatch();
        this.queueScan();
      }, this.pollMs);
      this.poll.unref();
    }
  }

  async stop(): Promise<void> {
    this.emit = null;
    this.watcher?.close();
    this.watcher = null;
    if (this.poll) clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    this.poll = this.timer = null;
    await this.scanning;
  }

  health(): EndpointSourceHealth {
    return { ...this.healthState };
  }

  private tryWatch(): void {
    try {
      this.watcher = watch(this.dir, () => this.schedule());
      this.watcher.on('error', () => {
        // the directory went away: the poll rescans and watches it again when it is back
        this.watcher?.close();
        this.watcher = null;
        this.schedule();
      });
    } catch {
      this.watcher = null; // not there yet: the poll retries
    }
  }

  private schedule(): void {
    if (this.emit === null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.queueScan();
    }, this.debounceMs);
  }

  private queueScan(): void {
    this.scanning = this.scanning.then(() => this.scan(false));
  }

  private fail(msg: string): void {
    this.healthState.ok = false;
    this.healthState.errors++;
    this.healthState.lastError = msg;
    this.log(`${this.name}: ${msg}`);
  }

  private async scan(first: boolean): Promise<void> {
    if (this.emit === null) return;
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((f) => !f.startsWith('.')).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.fail(`cannot read ${this.dir}: ${(err as Error).message}`);
      files = []; // no directory yet: no VF bound through the plugin
    }
    const results = await this.readResultNames();
    const events: EndpointEvent[] = [];
    const at = this.now();
    const next = new Map<string, { text: string; result: string; record: EndpointRecord }>();
    let errors = false;
    for (const file of files) {
      const path = join(this.dir, file);
      let text: string;
      let mtimeUs: number;
      try {
        const s = await stat(path);
        if (!s.isFile()) continue;
        mtimeUs = Math.floor(s.mtimeMs * 1000);
        text = await readFile(path, 'utf8');
      } catch {
        continue; // removed between the listing and the read
      }
      const names = splitCacheName(file);
      const resultFile = names
        ? results.find((r) => r.endsWith(`-${names.containerId}-${names.ifName}`))
        : undefined;
      let resultText = '';
      if (resultFile !== undefined) {
        try {
          resultText = await readFile(join(this.resultsDir, resultFile), 'utf8');
        } catch {}
      }
      const old = this.known.get(file);
      if (old !== undefined && old.text === text && old.result === resultText) {
        next.set(file, old);
        continue;
      }
      let record: EndpointRecord;
      try {
        const conf = parseSriovNetConf(text, path);
        record = netConfToRecord(
          conf,
          file,
          this.node,
          resultText ? parseCniResult(resultText) : null,
          this.tiers,
        );
      } catch (err) {
        errors = true;
        if (this.badLogged.get(file) !== text) {
          this.badLogged.set(file, text);
          this.fail(`${(err as Error).message}${old ? '\n  (its last good binding stays)' : ' (skipped)'}`);
        }
        if (old !== undefined) next.set(file, old);
        continue;
      }
      this.badLogged.delete(file);
      next.set(file, { text, result: resultText, record });
      events.push({ kind: 'bind', atUs: first ? Math.min(mtimeUs, at) : at, key: file, record });
    }
    for (const file of this.known.keys()) {
      if (!next.has(file)) events.push({ kind: 'unbind', atUs: at, key: file });
    }
    for (const file of this.badLogged.keys()) if (!files.includes(file)) this.badLogged.delete(file);
    this.known = next;
    if (!errors) this.healthState.ok = true;
    this.scans++;
    if (events.length > 0 || first) this.emit?.(events);
  }

  private async readResultNames(): Promise<string[]> {
    if (this.resultsDir === '') return [];
    try {
      return await readdir(this.resultsDir);
    } catch {
      return [];
    }
  }
}
