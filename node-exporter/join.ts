/**
 * Joins NIC devices to the pods of the endpoint inventory: a VF by (node, pf, vf index) —
 * the inventory's `vf: {pf, index}` —, a host-side device (netdev, qdisc) by (node, the
 * inventory's `hostInterface`), and a netdev by (node, the pod's MAC it carries: its veth
 * peer's, which the sources resolve).
 * Time-versioned like the EndpointIndex: the binding active at the collection's instant
 * wins, the newest one when two overlap.
 *
 * `version` changes whenever an answer may change: the index was replaced or changed (its
 * generation), or time passed the next start or end of any binding. Between changes the
 * registry reuses what it joined (and the label strings it built) without looking again.
 */
import type { Endpoint, EndpointIndex } from '../collector/attribution/endpoint-index.js';

/** newest binding first */
function insert(list: Endpoint[], ep: Endpoint): void {
  let i = list.length;
  list.push(ep);
  while (i > 0 && list[i - 1].fromUs <= ep.fromUs) {
    list[i] = list[i - 1];
    i--;
  }
  list[i] = ep;
}

function active(list: Endpoint[] | undefined, tUs: number): Endpoint | null {
  if (list === undefined) return null;
  for (const ep of list) if (tUs >= ep.fromUs && tUs < ep.toUs) return ep;
  return null;
}

function file(map: Map<string, Endpoint[]>, key: string, ep: Endpoint): void {
  let list = map.get(key);
  if (list === undefined) {
    list = [];
    map.set(key, list);
  }
  insert(list, ep);
}

function sub<K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let m = map.get(key);
  if (m === undefined) {
    m = new Map();
    map.set(key, m);
  }
  return m;
}

export class EndpointJoin {
  private index: EndpointIndex | null = null;
  private generation = -1;
  /** node → pf → vf index → bindings */
  private readonly byVf = new Map<string, Map<string, Map<number, Endpoint[]>>>();
  /** node → MAC → bindings */
  private readonly byMac = new Map<string, Map<string, Endpoint[]>>();
  /** node → host-side device name → bindings */
  private readonly byHost = new Map<string, Map<string, Endpoint[]>>();
  /** the next instant (µs) a binding starts or ends */
  private nextChangeUs = Number.NEGATIVE_INFINITY;
  /** bumped whenever a join's answer may have changed */
  version = 0;

  constructor(private readonly getIndex: () => EndpointIndex | null) {}

  /** Call once per collection with its instant (ms), before joining. */
  refresh(tMs: number): void {
    const tUs = tMs * 1000;
    const idx = this.getIndex();
    if (idx !== this.index || (idx !== null && idx.generation !== this.generation)) {
      this.index = idx;
      this.generation = idx?.generation ?? -1;
      this.byVf.clear();
      this.byMac.clear();
      this.byHost.clear();
      if (idx !== null) {
        for (const ep of idx.endpoints) {
          // an empty binding (an expired one's slot, EXPIRED_ENDPOINT, or one replaced before
          // it began) never matches: skip it rather than file thousands under node ''
          if (ep.fromUs >= ep.toUs) continue;
          if (ep.vf) {
            const byIndex = sub(sub(this.byVf, ep.node), ep.vf.pf);
            let list = byIndex.get(ep.vf.index);
            if (list === undefined) {
              list = [];
              byIndex.set(ep.vf.index, list);
            }
            insert(list, ep);
          }
          file(sub(this.byMac, ep.node), ep.mac, ep);
          if (ep.hostInterface !== '') file(sub(this.byHost, ep.node), ep.hostInterface, ep);
        }
      }
      this.nextChangeUs = Number.NEGATIVE_INFINITY;
    }
    if (tUs >= this.nextChangeUs) {
      this.version++;
      let next = Number.POSITIVE_INFINITY;
      if (this.index !== null) {
        for (const ep of this.index.endpoints) {
          if (ep.fromUs > tUs && ep.fromUs < next) next = ep.fromUs;
          else if (ep.toUs > tUs && ep.toUs < next) next = ep.toUs;
        }
      }
      this.nextChangeUs = next;
    }
  }

  /** The endpoint bound to a VF at tMs (ms since the epoch). */
  vf(node: string, pf: string, vf: number, tMs: number): Endpoint | null {
    return active(this.byVf.get(node)?.get(pf)?.get(vf), tMs * 1000);
  }

  /** The endpoint whose host-side device on `node` is `device`, at tMs. */
  hostDevice(node: string, device: string, tMs: number): Endpoint | null {
    return active(this.byHost.get(node)?.get(device), tMs * 1000);
  }

  /**
   * The pod behind a host device at tMs: by the inventory's hostInterface, else by the MAC
   * of the pod interface behind it (its veth peer's), when the source knew it.
   */
  device(node: string, device: string, endpointMac: string | null | undefined, tMs: number): Endpoint | null {
    return (
      this.hostDevice(node, device, tMs) ??
      (endpointMac ? this.mac(node, endpointMac.toLowerCase(), tMs) : null)
    );
  }

  /** The endpoint of a node with this MAC (lower case) at tMs. */
  mac(node: string, mac: string, tMs: number): Endpoint | null {
    return active(this.byMac.get(node)?.get(mac), tMs * 1000);
  }

  /** Endpoints of these nodes bound at tMs. */
  *endpointsOn(nodes: ReadonlySet<string>, tMs: number): Generator<Endpoint> {
    if (this.index === null) return;
    const tUs = tMs * 1000;
    for (const ep of this.index.endpoints) {
      if (nodes.has(ep.node) && tUs >= ep.fromUs && tUs < ep.toUs) yield ep;
    }
  }
}
