/**
 * Which pod interface is behind a host-side veth: the MAC of its peer. The host end of a
 * pod's veth knows its peer only by ifindex in another network namespace (`ip -j link`:
 * `link_index`, `link_netnsid`); that namespace's name comes from `ip -j netns list-id`
 * (named namespaces: /var/run/netns, where containerd, CRI-O and `ip netns` put pods'), and
 * the peer's MAC from `ip -n NAME -j link show`. The netdev and tc sources put it on their
 * samples (`endpointMac`), and the exporter joins it to the inventory by (node, MAC), so
 * the host-side series carry the pod without the inventory naming the device.
 *
 * One `ip -j link show` per reading; a peer's MAC is cached by (host ifindex, netns id, peer
 * ifindex) — a re-created veth gets a new ifindex — and dropped once its device is gone.
 */
import { checkName, type ExecFn, errorMessage, execCommand, netnsArgs } from './exec.js';

export interface VethPeersOptions {
  /** the namespace the host-side devices live in (`ip -n NS`; default: podwire's own) */
  netns?: string;
  /** the ip binary (default `ip` from PATH) */
  ipPath?: string;
  /** per command (default 5000 ms) */
  timeoutMs?: number;
  exec?: ExecFn;
}

interface Link {
  ifindex: number;
  ifname: string;
  address?: string;
  link_index?: number;
  link_netnsid?: number;
}

/** What a resolution found, and what it could not resolve (each with why). */
export interface PeerMacs {
  /** host device → the MAC (lower case) of its peer */
  macs: Map<string, string>;
  errors: string[];
}

function parseLinks(json: string, what: string): Link[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`${what}: not valid JSON (${errorMessage(err)})`);
  }
  if (!Array.isArray(doc)) throw new Error(`${what}: expected an array`);
  return doc.filter(
    (l): l is Link =>
      typeof l === 'object' && l !== null && typeof l.ifindex === 'number' && typeof l.ifname === 'string',
  );
}

export class VethPeers {
  private readonly ip: string;
  private readonly exec: ExecFn;
  private readonly timeoutMs: number;
  private readonly netns: string | undefined;
  /** `${ifindex}/${nsid}/${peer ifindex}` → peer MAC */
  private readonly cache = new Map<string, string>();

  constructor(options: VethPeersOptions = {}) {
    this.ip = options.ipPath ?? 'ip';
    this.exec = options.exec ?? execCommand;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.netns = options.netns === undefined ? undefined : checkName('veth peers: netns', options.netns);
  }

  /**
   * The peer MACs of those `devices` that are veths with a peer in a named namespace.
   * Rejects only when the host's links cannot be listed; a peer that cannot be looked up is
   * in `errors`, and its device simply has no MAC.
   */
  async resolve(devices: Iterable<string>): Promise<PeerMacs> {
    const wanted = new Set(devices);
    const macs = new Map<string, string>();
    const errors: string[] = [];
    const links = parseLinks(
      await this.run([...netnsArgs(this.netns), '-j', 'link', 'show']),
      'ip -j link show',
    );
    const missing = new Map<number, { device: string; key: string; peer: number }[]>();
    const seen = new Set<string>();
    for (const l of links) {
      if (!wanted.has(l.ifname) || l.link_index === undefined || l.link_netnsid === undefined) continue;
      const key = `${l.ifindex}/${l.link_netnsid}/${l.link_index}`;
      seen.add(key);
      const mac = this.cache.get(key);
      if (mac !== undefined) macs.set(l.ifname, mac);
      else {
        const list = missing.get(l.link_netnsid) ?? [];
        list.push({ device: l.ifname, key, peer: l.link_index });
        missing.set(l.link_netnsid, list);
      }
    }
    for (const key of this.cache.keys()) if (!seen.has(key)) this.cache.delete(key);
    if (missing.size === 0) return { macs, errors };

    const names = await this.namespaceNames().catch((err: unknown) => {
      errors.push(`veth peers: ${errorMessage(err)}`);
      return new Map<number, string>();
    });
    for (const [nsid, peers] of missing) {
      const name = names.get(nsid);
      if (name === undefined) continue; // an unnamed namespace (a bare container's): not resolvable
      try {
        const inNs = parseLinks(
          await this.run(['-n', name, '-j', 'link', 'show']),
          `ip -n ${name} -j link show`,
        );
        const byIndex = new Map(inNs.map((l) => [l.ifindex, l.address]));
        for (const p of peers) {
          const mac = byIndex.get(p.peer);
          if (mac === undefined) continue;
          this.cache.set(p.key, mac.toLowerCase());
          macs.set(p.device, mac.toLowerCase());
        }
      } catch (err) {
        errors.push(`veth peers of ${peers.map((p) => p.device).join(', ')}: ${errorMessage(err)}`);
      }
    }
    return { macs, errors };
  }

  /** nsid → name, as the host-side namespace numbers its peers' namespaces. */
  private async namespaceNames(): Promise<Map<number, string>> {
    const out = await this.run([...netnsArgs(this.netns), '-j', 'netns', 'list-id']);
    const doc = out.trim() === '' ? [] : (JSON.parse(out) as unknown);
    const names = new Map<number, string>();
    if (Array.isArray(doc)) {
      for (const e of doc as { nsid?: unknown; name?: unknown }[]) {
        if (typeof e.nsid === 'number' && typeof e.name === 'string') names.set(e.nsid, e.name);
      }
    }
    return names;
  }

  private run(args: string[]): Promise<string> {
    return this.exec(this.ip, args, { timeoutMs: this.timeoutMs });
  }
}

/**
 * Sets `endpointMac` on samples of host-side veths to their peer's MAC (a sample that has
 * one keeps it); a lookup that failed is reported with the reading's errors.
 */
export async function setPeerMacs(
  peers: VethPeers,
  samples: { interface: string; endpointMac?: string | null }[],
  errors: string[],
): Promise<void> {
  try {
    const r = await peers.resolve(samples.map((s) => s.interface));
    for (const s of samples) s.endpointMac ??= r.macs.get(s.interface) ?? null;
    errors.push(...r.errors);
  } catch (err) {
    errors.push(`veth peers: ${errorMessage(err)}`);
  }
}
