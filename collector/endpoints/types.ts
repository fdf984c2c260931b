/**
 * The shared interface of the endpoint sources: each source (file, kubernetes, cni-cache,
 * demo) produces bind and unbind events carrying endpoint records of the inventory contract
 * (collector/attribution/inventory.ts); `LiveInventory` folds them into the time-versioned
 * index the packet path reads. Sources only produce: they never look at the index.
 */
import type { EndpointRecord } from '../attribution/inventory.js';

export interface EndpointEvent {
  kind: 'bind' | 'unbind';
  /** µs since the epoch when it happened */
  atUs: number;
  /**
   * Stable identity of this binding within its source, e.g. `${podUid}/${ifName}` or the
   * cni-cache file name. A bind for a key that is bound already replaces its record (the
   * old binding ends at `atUs`); a bind with an identical record is a no-op, so a source may
   * re-emit its whole state (after a relist) without creating history.
   */
  key: string;
  /**
   * The endpoint record (inventory contract); required for bind, optional for unbind. For a
   * bind the binding starts at `record.from` when set, else at `atUs`; a record with `to`
   * set is history (a binding that already ended).
   */
  record?: EndpointRecord;
}

/** A node and the VTEP addresses its overlay tunnels use (maps outer IPs to nodes). */
export interface EndpointNode {
  name: string;
  vteps: string[];
}

export type EmitEvents = (events: EndpointEvent[]) => void;
export type EmitNodes = (nodes: EndpointNode[]) => void;

export interface EndpointSource {
  readonly name: string;
  /**
   * Begins producing; emits the initial set as binds, then changes. Resolves once the
   * initial set was emitted (rejects only when the source cannot start at all, e.g. a
   * missing inventory file or kubeconfig: later errors are logged and retried, counted in
   * `health()`). `nodes`, when given, receives the nodes and VTEPs the source knows.
   */
  start(emit: EmitEvents, nodes?: EmitNodes): Promise<void>;
  stop(): Promise<void>;
  /** errors since start (each also logged), and the last one; the source keeps going */
  health(): EndpointSourceHealth;
}

export interface EndpointSourceHealth {
  ok: boolean;
  errors: number;
  lastError: string | null;
}

/** A log line sink (default: stderr, prefixed `podwire: `). */
export type Log = (msg: string) => void;

export const defaultLog: Log = (msg) => process.stderr.write(`podwire: ${msg}\n`);

/** µs since the epoch, from a clock in ms (Date.now by default). */
export const nowUs = (): number => Date.now() * 1000;
