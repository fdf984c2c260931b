/**
 * The `kubernetes` endpoint source (`@kubernetes/client-node`): list+watch of the pods (all,
 * one namespace's, or one node's: a `spec.nodeName` field selector) and of the
 * NetworkAttachmentDefinitions (`k8s.cni.cncf.io/v1`), each by `ListWatch` (resumes with
 * resourceVersion, relists on 410 Gone, uses bookmarks, backs off on errors).
 *
 * A pod's endpoints come from its NPWG network-status annotation joined to the NADs' CNI
 * config (network-status.ts): one binding per attachment, keyed `${podUid}/${ifName}`, with
 * the tier from the tier annotation. The pod's bindings follow its annotation: an
 * attachment appearing binds, one disappearing (or the pod ending or being deleted) unbinds,
 * a changed one rebinds; a NAD change re-derives every pod. A pod in the first list binds
 * from its start time (so a restarted podwire still attributes older packets); later changes
 * at the moment they are seen.
 *
 * Bad input (a broken annotation, an invalid NAD config) is logged once per object version,
 * counted in health() and skipped; the rest goes on.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod, type V1PodList } from '@kubernetes/client-node';
import type { EndpointRecord } from '../attribution/inventory.js';
import type { KubernetesSourceConfig } from './config.js';
import { type ListPage, ListWatch } from './list-watch.js';
import {
  type NadConfig,
  NETWORK_STATUS_ANNOTATION,
  type PodLike,
  type PodMappingOptions,
  parseNadConfig,
  podEndpoints,
  vfFromSysfs,
} from './network-status.js';
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

export interface KubernetesSourceOptions extends Partial<Omit<KubernetesSourceConfig, 'type' | 'backoff'>> {
  backoff?: { initialMs?: number; maxMs?: number };
  /** a ready KubeConfig (tests; embedding); overrides kubeconfig/server */
  kubeConfig?: KubeConfig;
  log?: Log;
  now?: () => number;
}

interface NadObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { config?: string };
}

/** A KubeConfig from the options: a file, a server URL, in-cluster, or the default locations. */
export function kubeConfigFor(o: { kubeconfig?: string; server?: string }): KubeConfig {
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else if (o.server) {
    kc.loadFromOptions({
      clusters: [{ name: 'podwire', server: o.server, skipTLSVerify: o.server.startsWith('http:') }],
      users: [{ name: 'podwire' }],
      contexts: [{ name: 'podwire', cluster: 'podwire', user: 'podwire' }],
      currentContext: 'podwire',
    });
    return kc;
  } else kc.loadFromDefault();
  if (o.server) {
    const cluster = kc.getCurrentCluster();
    if (cluster) (cluster as { server: string }).server = o.server;
  }
  if (!kc.getCurrentCluster()) throw new Error('kubernetes: no cluster in the kubeconfig');
  return kc;
}

const toUs = (t: Date | string | undefined): number | null => {
  if (t === undefined) return null;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? ms * 1000 : null;
};

export class KubernetesSource implements EndpointSource {
  readonly name: string;
  private readonly opts: KubernetesSourceOptions;
  private readonly log: Log;
  private readonly now: () => number;
  private readonly mapping: PodMappingOptions;
  private emit: EmitEvents | null = null;
  private pods: ListWatch<V1Pod> | null = null;
  private nadWatch: ListWatch<NadObject> | null = null;
  /** the pods' raw objects by uid */
  private readonly podObjects = new Map<string, PodLike>();
  /** the bindings emitted, by key: their record as JSON */
  private readonly bound = new Map<string, string>();
  /** pod uid → its binding keys */
  private readonly podKeys = new Map<string, Set<string>>();
  private readonly nads = new Map<string, NadConfig>();
  /** error messages already logged (once per object version) */
  private readonly logged = new Set<string>();
  private readonly healthState: EndpointSourceHealth = { ok: true, errors: 0, lastError: null };
  /** true after the first pod list: binds then take the time they are seen */
  private synced = false;

  constructor(opts: KubernetesSourceOptions = {}) {
    this.opts = opts;
    this.name = opts.name ?? 'kubernetes';
    this.log = opts.log ?? defaultLog;
    this.now = opts.now ?? nowUs;
    const sysfs = opts.sysfsRoot ?? '/sys';
    this.mapping = {
      networkStatusAnnotation: opts.networkStatusAnnotation ?? NETWORK_STATUS_ANNOTATION,
      tierAnnotation: opts.tierAnnotation ?? 'podwire.io/tier',
      staticAnnotation: opts.staticAnnotation ?? 'podwire.io/static',
      includeDefaultNetwork: opts.includeDefaultNetwork ?? false,
      tiers: opts.tiers,
      // a PCI address means something only on its own node
      resolveVf: opts.node ? (pci) => vfFromSysfs(pci, sysfs) : undefined,
    };
  }

  /** Lists NADs and pods (retrying with backoff until the API answers), emits, then watches. */
  async start(emit: EmitEvents, _nodes?: EmitNodes): Promise<void> {
    const o = this.opts;
    const kc = o.kubeConfig ?? kubeConfigFor(o);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    this.emit = emit;
    const backoff = { initialMs: o.backoff?.initialMs ?? 500, maxMs: o.backoff?.maxMs ?? 30_000 };
    const timeoutSeconds = o.watchTimeoutSeconds ?? 300;
    const onError = (msg: string) => this.fail(msg);
    const group = 'k8s.cni.cncf.io';
    this.nadWatch = new ListWatch<NadObject>({
      kc,
      what: 'network-attachment-definitions',
      path: o.namespace
        ? `/apis/${group}/v1/namespaces/${o.namespace}/network-attachment-definitions`
        : `/apis/${group}/v1/network-attachment-definitions`,
      list: async (page) =>
        (o.namespace
          ? await custom.listNamespacedCustomObject({
              group,
              version: 'v1',
              namespace: o.namespace,
              plural: 'network-attachment-definitions',
              ...page,
            })
          : await custom.listClusterCustomObject({
              group,
              version: 'v1',
              plural: 'network-attachment-definitions',
              ...page,
            })) as ListPage<NadObject>,
      onSync: (items) => this.syncNads(items),
      onEvent: (type, nad) => this.nadEvent(type, nad),
      onError,
      notFoundIsEmpty: true,
      timeoutSeconds,
      backoff,
    });
    const fieldSelector = o.node ? `spec.nodeName=${o.node}` : undefined;
    this.pods = new ListWatch<V1Pod>({
      kc,
      what: 'pods',
      path: o.namespace ? `/api/v1/namespaces/${o.namespace}/pods` : '/api/v1/pods',
      fieldSelector,
      list: async (page): Promise<V1PodList> =>
        o.namespace
          ? core.listNamespacedPod({ namespace: o.namespace, fieldSelector, ...page })
          : core.listPodForAllNamespaces({ fieldSelector, ...page }),
      onSync: (items) => this.syncPods(items),
      onEvent: (type, pod) => this.podEvent(type, pod),
      onError,
      timeoutSeconds,
      backoff,
    });
    // the NADs first: the pods' records depend on them
    await this.nadWatch.start();
    await this.pods.start();
  }

  async stop(): Promise<void> {
    this.emit = null;
    await Promise.all([this.pods?.stop(), this.nadWatch?.stop()]);
  }

  health(): EndpointSourceHealth {
    return { ...this.healthState };
  }

  /** list/watch counters (tests) */
  watchCounts(): { pods: ListWatch<V1Pod>['counts'] | null; nads: ListWatch<NadObject>['counts'] | null } {
    return { pods: this.pods?.counts ?? null, nads: this.nadWatch?.counts ?? null };
  }

  // -------------------------------------------------------------------------------------

  private fail(msg: string): void {
    this.healthState.ok = false;
    this.healthState.errors++;
    this.healthState.lastError = msg;
    this.log(`${this.name}: ${msg}`);
  }

  /** Logs a problem once per object version; each occurrence is counted. */
  private problem(msg: string, version: string): void {
    this.healthState.errors++;
    this.healthState.lastError = msg;
    const k = `${version}\n${msg}`;
    if (this.logged.has(k)) return;
    if (this.logged.size > 10_000) this.logged.clear();
    this.logged.add(k);
    this.log(`${this.name}: ${msg}`);
  }

  private nadKey(n: NadObject): string {
    return `${n.metadata?.namespace ?? ''}/${n.metadata?.name ?? ''}`;
  }

  private setNad(n: NadObject): void {
    const key = this.nadKey(n);
    try {
      this.nads.set(key, parseNadConfig(n.spec?.config ?? '{}'));
    } catch (err) {
      this.nads.delete(key);
      this.problem(
        `network-attachment-definition ${key}: ${(err as Error).message}`,
        n.metadata?.resourceVersion ?? '',
      );
    }
  }

  private syncNads(items: NadObject[]): void {
    this.nads.clear();
    for (const n of items) this.setNad(n);
    if (this.synced) this.rederiveAll();
  }

  private nadEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', n: NadObject): void {
    if (type === 'DELETED') this.nads.delete(this.nadKey(n));
    else this.setNad(n);
    if (this.synced) this.rederiveAll();
  }

  private rederiveAll(): void {
    const at = this.now();
    const events: EndpointEvent[] = [];
    for (const [uid, pod] of this.podObjects) this.derive(uid, pod, at, events);
    this.flush(events);
  }

  private syncPods(items: V1Pod[]): void {
    const at = this.now();
    const events: EndpointEvent[] = [];
    const seen = new Set<string>();
    for (const pod of items as PodLike[]) {
      const uid = pod.metadata?.uid;
      if (!uid) continue;
      seen.add(uid);
      this.podObjects.set(uid, pod);
      // on the first list, a pod's endpoints bind from its start (podwire may have restarted)
      const start = this.synced
        ? at
        : (toUs(pod.status?.startTime) ?? toUs(pod.metadata?.creationTimestamp) ?? at);
      this.derive(uid, pod, Math.min(start, at), events);
    }
    // pods deleted while no watch ran
    for (const uid of [...this.podObjects.keys()]) {
      if (!seen.has(uid)) {
        this.podObjects.delete(uid);
        this.derive(uid, null, at, events);
      }
    }
    this.synced = true;
    this.flush(events);
  }

  private podEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const events: EndpointEvent[] = [];
    if (type === 'DELETED') {
      this.podObjects.delete(uid);
      this.derive(uid, null, this.now(), events);
    } else {
      this.podObjects.set(uid, pod as PodLike);
      this.derive(uid, pod as PodLike, this.now(), events);
    }
    this.flush(events);
  }

  /** A pod's bindings now (null: gone) against what was emitted: the events to emit. */
  private derive(uid: string, pod: PodLike | null, at: number, events: EndpointEvent[]): void {
    const records = new Map<string, EndpointRecord>();
    if (pod !== null) {
      const r = podEndpoints(pod, this.nads, this.mapping);
      for (const e of r.errors)
        this.problem(e, (pod.metadata as { resourceVersion?: string })?.resourceVersion ?? '');
      // an unreadable annotation says nothing: the pod's bindings stay as they were
      if (r.unreadable) return;
      for (const [ifName, rec] of r.records) records.set(`${uid}/${ifName}`, rec);
    }
    const keys = this.podKeys.get(uid) ?? new Set<string>();
    for (const [key, rec] of records) {
      const json = JSON.stringify(rec);
      if (this.bound.get(key) === json) continue;
      this.bound.set(key, json);
      keys.add(key);
      events.push({ kind: 'bind', atUs: at, key, record: rec });
    }
    for (const key of [...keys]) {
      if (records.has(key)) continue;
      keys.delete(key);
      this.bound.delete(key);
      events.push({ kind: 'unbind', atUs: at, key });
    }
    if (keys.size > 0) this.podKeys.set(uid, keys);
    else this.podKeys.delete(uid);
  }

  private flush(events: EndpointEvent[]): void {
    if (events.length > 0 || !this.synced) this.emit?.(events);
  }
}
