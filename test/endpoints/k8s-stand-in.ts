/**
 * A stand-in for the Kubernetes API server (nothing real runs here): a small node:http
 * server on 127.0.0.1 serving list and watch of pods and NetworkAttachmentDefinitions with
 * resourceVersions, paging, field selectors (spec.nodeName), bookmarks, 410 Gone for
 * compacted resourceVersions, dropped connections and injected errors, as the API server's
 * watch protocol documents them (one JSON event per line; ERROR events carry a Status).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

type Kind = 'pods' | 'nads';

interface Obj {
  metadata: { uid?: string; name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec?: { nodeName?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface Event {
  rv: number;
  kind: Kind;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  kind: Kind;
  res: ServerResponse;
  node: string | null;
  bookmarks: boolean;
}

export interface RequestLogEntry {
  kind: Kind;
  watch: boolean;
  resourceVersion: string | null;
  fieldSelector: string | null;
}

export class K8sStandIn {
  private server: Server | null = null;
  private rv = 100;
  private readonly objects: Record<Kind, Map<string, Obj>> = { pods: new Map(), nads: new Map() };
  private readonly events: Event[] = [];
  /** events at or below this resourceVersion are compacted away: watching from older → 410 */
  private compactedRv = 0;
  private readonly watchers = new Set<Watcher>();
  private failures: { status: number; kind: Kind | null; watch: boolean | null }[] = [];
  /** the NAD CRD is installed (else its paths 404) */
  nadCrd = true;
  readonly requests: RequestLogEntry[] = [];
  port = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** A KubeConfig built in code for the stand-in: plain http, no auth. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'stand-in', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'stand-in' }],
      contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'stand-in' }],
      currentContext: 'stand-in',
    });
    return kc;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  put(kind: Kind, obj: Obj): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const type = this.objects[kind].has(key) ? 'MODIFIED' : 'ADDED';
    const o = structuredClone(obj);
    o.metadata.resourceVersion = String(++this.rv);
    this.objects[kind].set(key, o);
    this.publish({ rv: this.rv, kind, type, object: o });
  }

  delete(kind: Kind, namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const o = this.objects[kind].get(key);
    if (!o) return;
    this.objects[kind].delete(key);
    const gone = structuredClone(o);
    gone.metadata.resourceVersion = String(++this.rv);
    this.publish({ rv: this.rv, kind, type: 'DELETED', object: gone });
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that asked for them. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const kind = w.kind === 'pods' ? 'Pod' : 'NetworkAttachmentDefinition';
      w.res.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind, metadata: { resourceVersion: String(this.rv) } } })}\n`,
      );
    }
  }

  /** Forgets the event history: a watch resuming from before now gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.events.length = 0;
  }

  /** Drops every open watch connection (as a restarting API server or a load balancer does). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  /** The next `count` matching requests fail with `status`. */
  fail(count: number, status: number, kind: Kind | null = null, watch: boolean | null = null): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, kind, watch });
  }

  watchCount(kind: Kind): number {
    return [...this.watchers].filter((w) => w.kind === kind).length;
  }

  private publish(e: Event): void {
    this.events.push(e);
    for (const w of this.watchers) if (w.kind === e.kind) this.send(w, e);
  }

  private send(w: Watcher, e: Event): void {
    if (w.node !== null && e.object.spec?.nodeName !== w.node) return;
    w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const p = url.pathname;
    const kind: Kind | null =
      p === '/api/v1/pods' || /^\/api\/v1\/namespaces\/[^/]+\/pods$/.test(p)
        ? 'pods'
        : p === '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions' ||
            /^\/apis\/k8s\.cni\.cncf\.io\/v1\/namespaces\/[^/]+\/network-attachment-definitions$/.test(p)
          ? 'nads'
          : null;
    const namespace = /\/namespaces\/([^/]+)\//.exec(p)?.[1] ?? null;
    const watch = url.searchParams.get('watch') === 'true';
    const rvParam = url.searchParams.get('resourceVersion');
    const fieldSelector = url.searchParams.get('fieldSelector');
    if (kind === null) {
      this.status(res, 404, 'NotFound', `no such path ${p}`);
      return;
    }
    this.requests.push({ kind, watch, resourceVersion: rvParam, fieldSelector });
    const fi = this.failures.findIndex(
      (f) => (f.kind === null || f.kind === kind) && (f.watch === null || f.watch === watch),
    );
    if (fi >= 0) {
      const f = this.failures.splice(fi, 1)[0];
      this.status(res, f.status, f.status === 410 ? 'Expired' : 'InternalError', `injected ${f.status}`);
      return;
    }
    if (kind === 'nads' && !this.nadCrd) {
      this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return;
    }
    let node: string | null = null;
    if (fieldSelector) {
      const m = /^spec\.nodeName=(.+)$/.exec(fieldSelector);
      if (!m) {
        this.status(res, 400, 'BadRequest', `unsupported field selector ${fieldSelector}`);
        return;
      }
      node = m[1];
    }
    const matches = (o: Obj) =>
      (namespace === null || o.metadata.namespace === namespace) &&
      (node === null || o.spec?.nodeName === node);
    if (!watch) {
      const all = [...this.objects[kind].values()].filter(matches);
      const limit = Number(url.searchParams.get('limit') ?? 0) || all.length;
      const offset = Number(url.searchParams.get('continue') ?? 0);
      const items = all.slice(offset, offset + limit);
      const next = offset + limit < all.length ? String(offset + limit) : undefined;
      const body = {
        kind: kind === 'pods' ? 'PodList' : 'NetworkAttachmentDefinitionList',
        apiVersion: kind === 'pods' ? 'v1' : 'k8s.cni.cncf.io/v1',
        metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
        items,
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    const from = Number(rvParam ?? 0);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // as the API server does: the client sees the watch open before any event
    if (from !== 0 && from < this.compactedRv) {
      res.end(
        `${JSON.stringify({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: `too old resource version: ${from} (${this.compactedRv})`,
            reason: 'Expired',
            code: 410,
          },
        })}\n`,
      );
      return;
    }
    const w: Watcher = { kind, res, node, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
    for (const e of this.events) if (e.kind === kind && e.rv > from && matches(e.object)) this.send(w, e);
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        code,
      }),
    );
  }
}

/** A pod object as the API server returns it. */
export function pod(
  name: string,
  opts: {
    namespace?: string;
    uid?: string;
    node?: string;
    networkStatus?: unknown[] | string;
    tier?: string;
    static?: boolean;
    phase?: string;
    startTime?: string;
  } = {},
): Obj {
  const annotations: Record<string, string> = {};
  if (opts.networkStatus !== undefined) {
    annotations['k8s.v1.cni.cncf.io/network-status'] =
      typeof opts.networkStatus === 'string'
        ? opts.networkStatus
        : JSON.stringify(opts.networkStatus, null, 2);
  }
  if (opts.tier) annotations['podwire.io/tier'] = opts.tier;
  if (opts.static) annotations['podwire.io/static'] = 'true';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: opts.namespace ?? 'shop',
      uid: opts.uid ?? `uid-${name}`,
      creationTimestamp: '2026-11-26T00:00:00Z',
      annotations,
    },
    spec: { nodeName: opts.node ?? 'node-a', containers: [{ name: 'app', image: 'app' }] },
    status: { phase: opts.phase ?? 'Running', startTime: opts.startTime ?? '2026-11-26T00:00:05Z' },
  };
}

export function nad(name: string, config: unknown, namespace = 'shop'): Obj {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace },
    spec: { config: typeof config === 'string' ? config : JSON.stringify(config) },
  };
}

/** The default network's entry, and an SR-IOV and an overlay attachment. */
export const defaultEntry = (ip: string) => ({
  name: 'k8s-pod-network',
  interface: 'eth0',
  ips: [ip],
  mac: '0a:58:0a:f4:00:05',
  default: true,
  dns: {},
});
export const sriovEntry = (mac: string, ip: string, pci = '0000:3b:02.3', network = 'shop/sriov-shop') => ({
  name: network,
  interface: 'net1',
  ips: [ip],
  mac,
  dns: {},
  'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': pci } },
});
export const overlayEntry = (mac: string, ip: string, network = 'overlay-5001') => ({
  name: network,
  interface: 'net2',
  ips: [ip],
  mac,
  dns: {},
});
