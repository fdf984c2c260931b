/**
 * The `iproute2` source: per-VF configuration and counters of SR-IOV physical functions
 * from `ip [-n NS] -s -d -j link show dev PF` (its `vfinfo_list`).
 *
 * Shapes handled (iproute2's print_vfinfo over the years):
 * - MAC: `address` (newer) or `mac` (older);
 * - VLAN: `vlan_list: [{vlan, qos, protocol}]` (IFLA_VF_VLAN_LIST; zero fields omitted) or
 *   flat `vlan`/`qos` (older);
 * - rates in Mbit/s: `rate: {max_tx, min_tx}` (IFLA_VF_RATE) or only `tx_rate` (older
 *   kernels; newer ones report both, `rate` wins) — turned into bits per second;
 * - `spoofchk`, `trust` (booleans, absent when the driver does not say), `link_state`;
 * - `stats.rx{bytes,packets,multicast,broadcast,dropped?}`,
 *   `stats.tx{tx_bytes,tx_packets,dropped?}` (note the tx_ prefix; `dropped` only on newer
 *   kernels: null when absent), and no `stats` at all when the driver has none.
 */
import { checkCommon, checkName, type ExecFn, errorMessage, execCommand, netnsArgs } from './exec.js';
import { allWidths, type CounterWidths, type NicSource, VF_COUNTERS, type VfSample } from './types.js';

export interface Iproute2SourceOptions {
  /** the node name put in every sample */
  node: string;
  /** physical functions (netdev names) whose VFs are read */
  devices: string[];
  /** the ip binary (default `ip` from PATH) */
  ipPath?: string;
  /** run inside this network namespace (`ip -n NS …`) */
  netns?: string;
  /** per command (default 5000 ms) */
  timeoutMs?: number;
  /** command runner (tests inject one) */
  exec?: ExecFn;
  /** source name (default `iproute2`) */
  name?: string;
}

const MBIT = 1_000_000;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Fields {
  constructor(private readonly where: string) {}

  fail(path: string, what: string, got: unknown): never {
    throw new Error(`${this.where}: ${path}: expected ${what}, got ${JSON.stringify(got) ?? String(got)}`);
  }

  /** a non-negative number, or null when absent */
  count(o: Json, key: string, path: string): number | null {
    const v = o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))
      this.fail(`${path}.${key}`, 'a non-negative number', v);
    return v;
  }

  bool(o: Json, key: string, path: string): boolean | null {
    const v = o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'boolean') this.fail(`${path}.${key}`, 'a boolean', v);
    return v;
  }

  str(o: Json, key: string, path: string): string | null {
    const v = o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') this.fail(`${path}.${key}`, 'a string', v);
    return v;
  }

  object(o: Json, key: string, path: string): Json | null {
    const v = o[key];
    if (v === undefined || v === null) return null;
    if (!isObject(v)) this.fail(`${path}.${key}`, 'an object', v);
    return v;
  }
}

/**
 * Parses the output of `ip -s -d -j link show [dev PF]` into one VfSample per VF of every
 * link that has a `vfinfo_list` (links without VFs contribute nothing). Throws an Error
 * naming the offending field on anything unexpected.
 */
export function parseIpLinkJson(json: string, node: string): VfSample[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`ip link JSON: not valid JSON (${errorMessage(err)})`);
  }
  if (!Array.isArray(doc)) throw new Error('ip link JSON: expected an array of links');
  const f: Fields = new Fields('ip link JSON');
  const out: VfSample[] = [];
  doc.forEach((link, li) => {
    const lp = `[${li}]`;
    if (!isObject(link)) f.fail(lp, 'a link object', link);
    const pf = f.str(link, 'ifname', lp);
    const vfs = link.vfinfo_list;
    if (vfs === undefined) return;
    if (pf === null) f.fail(`${lp}.ifname`, 'a string', link.ifname);
    if (!Array.isArray(vfs)) f.fail(`${lp}.vfinfo_list`, 'an array', vfs);
    vfs.forEach((vf, vi) => {
      const p = `${lp}.vfinfo_list[${vi}]`;
      if (!isObject(vf)) f.fail(p, 'a VF object', vf);
      out.push(parseVf(f, vf, p, node, pf));
    });
  });
  return out;
}

function parseVf(f: Fields, vf: Json, p: string, node: string, pf: string): VfSample {
  const index = vf.vf;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
    f.fail(`${p}.vf`, 'a non-negative integer', index);
  }
  const mac = (f.str(vf, 'address', p) ?? f.str(vf, 'mac', p) ?? '').toLowerCase();

  let vlan: number | null;
  let qos: number | null;
  const list = vf.vlan_list;
  if (list !== undefined) {
    if (!Array.isArray(list)) f.fail(`${p}.vlan_list`, 'an array', list);
    const first = list[0] as unknown;
    if (first !== undefined && !isObject(first)) f.fail(`${p}.vlan_list[0]`, 'an object', first);
    vlan = first ? f.count(first, 'vlan', `${p}.vlan_list[0]`) : null;
    qos = first ? f.count(first, 'qos', `${p}.vlan_list[0]`) : null;
  } else {
    vlan = f.count(vf, 'vlan', p);
    qos = f.count(vf, 'qos', p);
  }

  const rate = f.object(vf, 'rate', p);
  const maxTx = rate ? f.count(rate, 'max_tx', `${p}.rate`) : f.count(vf, 'tx_rate', p);
  const minTx = rate ? f.count(rate, 'min_tx', `${p}.rate`) : null;

  let rxBytes: number | null = null;
  let rxPackets: number | null = null;
  let rxMulticast: number | null = null;
  let rxBroadcast: number | null = null;
  let rxDropped: number | null = null;
  let txBytes: number | null = null;
  let txPackets: number | null = null;
  let txDropped: number | null = null;
  const stats = f.object(vf, 'stats', p);
  if (stats) {
    const rx = f.object(stats, 'rx', `${p}.stats`);
    if (rx) {
      const rp = `${p}.stats.rx`;
      rxBytes = f.count(rx, 'bytes', rp);
      rxPackets = f.count(rx, 'packets', rp);
      rxMulticast = f.count(rx, 'multicast', rp);
      rxBroadcast = f.count(rx, 'broadcast', rp);
      rxDropped = f.count(rx, 'dropped', rp);
    }
    const tx = f.object(stats, 'tx', `${p}.stats`);
    if (tx) {
      const tp = `${p}.stats.tx`;
      txBytes = f.count(tx, 'tx_bytes', tp) ?? f.count(tx, 'bytes', tp);
      txPackets = f.count(tx, 'tx_packets', tp) ?? f.count(tx, 'packets', tp);
      txDropped = f.count(tx, 'dropped', tp) ?? f.count(tx, 'tx_dropped', tp);
    }
  }

  return {
    node,
    pf,
    vf: index as number,
    mac,
    vlan: vlan ?? 0,
    qos: qos ?? 0,
    minTxRate: (minTx ?? 0) * MBIT,
    maxTxRate: (maxTx ?? 0) * MBIT,
    spoofCheck: f.bool(vf, 'spoofchk', p),
    trust: f.bool(vf, 'trust', p),
    linkState: f.str(vf, 'link_state', p),
    pciAddress: null,
    rxBytes,
    rxPackets,
    rxDropped,
    rxBroadcast,
    rxMulticast,
    txBytes,
    txPackets,
    txDropped,
  };
}

/** The argument list for one PF (exported for display and tests). */
export function ipLinkArgs(pf: string, netns?: string): string[] {
  return [...netnsArgs(netns), '-s', '-d', '-j', 'link', 'show', 'dev', pf];
}

/**
 * The kernel's VF statistics are 64-bit (struct ifla_vf_stats: IFLA_VF_STATS_* are u64
 * netlink attributes), so a VF counter that goes down was reset (the VF re-created), never
 * wrapped.
 */
export const IPROUTE2_WIDTHS: CounterWidths = { vf: allWidths(VF_COUNTERS, 64) };

/**
 * A NicSource reading each PF with one `ip` command. One PF failing (gone, bad output) is
 * reported in `errors` while the others are read; all failing rejects.
 */
export function createIproute2Source(options: Iproute2SourceOptions): NicSource {
  const devices = checkCommon('iproute2', options.node, options.devices);
  const netns = options.netns === undefined ? undefined : checkName('iproute2 source: netns', options.netns);
  const ip = options.ipPath ?? 'ip';
  const exec = options.exec ?? execCommand;
  const timeoutMs = options.timeoutMs ?? 5000;
  const node = options.node;
  return {
    name: options.name ?? 'iproute2',
    counterWidths: IPROUTE2_WIDTHS,
    async read() {
      const vfs: VfSample[] = [];
      const errors: string[] = [];
      for (const pf of devices) {
        try {
          const stdout = await exec(ip, ipLinkArgs(pf, netns), { timeoutMs });
          for (const s of parseIpLinkJson(stdout, node)) vfs.push(s);
        } catch (err) {
          errors.push(`${pf}: ${errorMessage(err)}`);
        }
      }
      if (devices.length > 0 && errors.length === devices.length) throw new Error(errors.join('; '));
      return errors.length > 0 ? { vfs, qdiscs: [], netdevs: [], errors } : { vfs, qdiscs: [], netdevs: [] };
    },
  };
}
