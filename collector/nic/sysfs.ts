/**
 * The `sysfs` source: per-VF counters and settings from the PF's PCI device directory,
 * for drivers that expose them there (the root is configurable: tests use a temp tree, a
 * container can mount the host's /sys elsewhere).
 *
 *   ROOT/class/net/PF/device/virtfnN            → symlink to the VF's PCI device (its
 *                                                 basename is the PCI address); VF N exists
 *   ROOT/class/net/PF/device/virtfnN/net/IF/address → the VF netdev's MAC (fallback)
 *   ROOT/class/net/PF/device/sriov/N/stats/*    → one counter per file (rx_bytes, rx_packets,
 *                                                 rx_dropped, rx_broadcast, rx_multicast,
 *                                                 tx_bytes, tx_packets, tx_dropped)
 *   ROOT/class/net/PF/device/sriov/N/stats      → or one file of "name : value" lines
 *   ROOT/class/net/PF/device/sriov/N/{mac,vlan,qos,max_tx_rate,min_tx_rate,spoofcheck,
 *                                     trust,link_state} → settings, each optional
 *
 * Counters a driver does not expose are null. Rates are Mbit/s in sysfs, bits per second in
 * the sample. A PF whose directory is gone or holds a malformed value is reported in
 * `errors` (its VFs are left out of this reading); all PFs failing rejects.
 */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkCommon, errorMessage } from './exec.js';
import { allWidths, type CounterWidths, type NicSource, VF_COUNTERS, type VfSample } from './types.js';

export interface SysfsSourceOptions {
  node: string;
  /** physical functions (netdev names) */
  devices: string[];
  /** the sysfs mount (default /sys) */
  root?: string;
  /** source name (default `sysfs`) */
  name?: string;
}

/** sysfs counter file → VfSample field */
export const SYSFS_VF_COUNTERS = {
  rx_bytes: 'rxBytes',
  rx_packets: 'rxPackets',
  rx_dropped: 'rxDropped',
  rx_broadcast: 'rxBroadcast',
  rx_multicast: 'rxMulticast',
  tx_bytes: 'txBytes',
  tx_packets: 'txPackets',
  tx_dropped: 'txDropped',
} as const;

type VfCounterField = (typeof SYSFS_VF_COUNTERS)[keyof typeof SYSFS_VF_COUNTERS];

const MBIT = 1_000_000;
const UINT_RE = /^\d+$/;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A file's trimmed text, or null when it does not exist. */
async function readOptional(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if (isMissing(err)) return null;
    throw new Error(`${path}: ${errorMessage(err)}`);
  }
}

async function listOptional(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isMissing(err)) return [];
    throw new Error(`${path}: ${errorMessage(err)}`);
  }
}

/** Parses one counter file's text ("12345\n"). */
export function parseSysfsCounter(text: string, path: string): number {
  const t = text.trim();
  if (!UINT_RE.test(t)) throw new Error(`${path}: expected an unsigned integer, got ${JSON.stringify(t)}`);
  return Number(t);
}

/** Parses a combined stats file of "name : value" lines (unknown names are ignored). */
export function parseSysfsStatsFile(text: string, path: string): Partial<Record<VfCounterField, number>> {
  const out: Partial<Record<VfCounterField, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*:\s*(\S+)\s*$/.exec(line);
    if (!m) continue;
    const field = SYSFS_VF_COUNTERS[m[1] as keyof typeof SYSFS_VF_COUNTERS];
    if (field !== undefined) out[field] = parseSysfsCounter(m[2]!, `${path} (${m[1]})`);
  }
  return out;
}

/** on/off, 1/0, true/false, enabled/disabled → boolean; anything else null */
export function parseSysfsBool(text: string | null): boolean | null {
  if (text === null) return null;
  const t = text.trim().toLowerCase();
  if (t === 'on' || t === '1' || t === 'true' || t === 'enabled' || t === 'enable') return true;
  if (t === 'off' || t === '0' || t === 'false' || t === 'disabled' || t === 'disable') return false;
  return null;
}

function parseRate(text: string | null, path: string): number {
  if (text === null || text === '') return 0;
  return parseSysfsCounter(text, path) * MBIT;
}

/** "100", or "VLAN: 100, QoS: 3" → { vlan, qos } (qos null when not in the text) */
export function parseSysfsVlan(text: string | null, path: string): { vlan: number; qos: number | null } {
  if (text === null || text === '') return { vlan: 0, qos: null };
  if (UINT_RE.test(text)) return { vlan: Number(text), qos: null };
  const vlan = /vlan\s*:?\s*(\d+)/i.exec(text);
  if (!vlan) throw new Error(`${path}: expected a VLAN id, got ${JSON.stringify(text)}`);
  const qos = /qos\s*:?\s*(\d+)/i.exec(text);
  return { vlan: Number(vlan[1]), qos: qos ? Number(qos[1]) : null };
}

async function readStats(dir: string): Promise<Partial<Record<VfCounterField, number>>> {
  const path = join(dir, 'stats');
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    if (isMissing(err)) return {};
    throw new Error(`${path}: ${errorMessage(err)}`);
  }
  if (!isDir) return parseSysfsStatsFile((await readOptional(path)) ?? '', path);
  const out: Partial<Record<VfCounterField, number>> = {};
  const names = await listOptional(path);
  await Promise.all(
    names.map(async (name) => {
      const field = SYSFS_VF_COUNTERS[name as keyof typeof SYSFS_VF_COUNTERS];
      if (field === undefined) return;
      const file = join(path, name);
      const text = await readOptional(file);
      if (text !== null) out[field] = parseSysfsCounter(text, file);
    }),
  );
  return out;
}

async function vfMacFromNetdev(deviceDir: string, index: number): Promise<string> {
  const netDir = join(deviceDir, `virtfn${index}`, 'net');
  for (const ifname of await listOptional(netDir)) {
    const mac = await readOptional(join(netDir, ifname, 'address'));
    if (mac) return mac.toLowerCase();
  }
  return '';
}

async function readVf(node: string, pf: string, deviceDir: string, index: number): Promise<VfSample> {
  const dir = join(deviceDir, 'sriov', String(index));
  const attr = (name: string) => readOptional(join(dir, name));
  const [link, mac, vlanText, qosText, maxRate, minRate, spoof, trust, linkState, stats] = await Promise.all([
    readlink(join(deviceDir, `virtfn${index}`)).catch((err: unknown) => {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EINVAL') return null;
      throw err;
    }),
    attr('mac'),
    attr('vlan'),
    attr('qos'),
    attr('max_tx_rate'),
    attr('min_tx_rate'),
    attr('spoofcheck'),
    attr('trust'),
    attr('link_state'),
    readStats(dir),
  ]);
  const vlan = parseSysfsVlan(vlanText, join(dir, 'vlan'));
  const qos = qosText !== null && qosText !== '' ? parseSysfsCounter(qosText, join(dir, 'qos')) : vlan.qos;
  return {
    node,
    pf,
    vf: index,
    mac: mac ? mac.toLowerCase() : await vfMacFromNetdev(deviceDir, index),
    vlan: vlan.vlan,
    qos: qos ?? 0,
    minTxRate: parseRate(minRate, join(dir, 'min_tx_rate')),
    maxTxRate: parseRate(maxRate, join(dir, 'max_tx_rate')),
    spoofCheck: parseSysfsBool(spoof),
    trust: parseSysfsBool(trust),
    linkState: linkState ? linkState.toLowerCase() : null,
    pciAddress: link === null ? null : basename(link),
    rxBytes: stats.rxBytes ?? null,
    rxPackets: stats.rxPackets ?? null,
    rxDropped: stats.rxDropped ?? null,
    rxBroadcast: stats.rxBroadcast ?? null,
    rxMulticast: stats.rxMulticast ?? null,
    txBytes: stats.txBytes ?? null,
    txPackets: stats.txPackets ?? null,
    txDropped: stats.txDropped ?? null,
  };
}

/** The VFs of one PF (none when it has no SR-IOV); throws when the PF's device is gone. */
export async function readSysfsPf(root: string, node: string, pf: string): Promise<VfSample[]> {
  const deviceDir = join(root, 'class', 'net', pf, 'device');
  let entries: string[];
  try {
    entries = await readdir(deviceDir);
  } catch (err) {
    if (isMissing(err)) throw new Error(`${deviceDir}: no such directory (no device ${pf}?)`);
    throw new Error(`${deviceDir}: ${errorMessage(err)}`);
  }
  const indexes = new Set<number>();
  for (const e of entries) {
    const m = /^virtfn(\d+)$/.exec(e);
    if (m) indexes.add(Number(m[1]));
  }
  for (const e of await listOptional(join(deviceDir, 'sriov'))) {
    if (UINT_RE.test(e)) indexes.add(Number(e));
  }
  const sorted = [...indexes].sort((a, b) => a - b);
  return Promise.all(sorted.map((i) => readVf(node, pf, deviceDir, i)));
}

/**
 * Drivers print the per-VF stats files from the kernel's 64-bit VF statistics (struct
 * ifla_vf_stats, e.g. mlx5's sriov/N/stats with %llu): a decrease is a reset.
 */
export const SYSFS_WIDTHS: CounterWidths = { vf: allWidths(VF_COUNTERS, 64) };

export function createSysfsSource(options: SysfsSourceOptions): NicSource {
  const devices = checkCommon('sysfs', options.node, options.devices);
  const root = options.root ?? '/sys';
  const node = options.node;
  return {
    name: options.name ?? 'sysfs',
    counterWidths: SYSFS_WIDTHS,
    async read() {
      const vfs: VfSample[] = [];
      const errors: string[] = [];
      for (const pf of devices) {
        try {
          for (const s of await readSysfsPf(root, node, pf)) vfs.push(s);
        } catch (err) {
          errors.push(`${pf}: ${errorMessage(err)}`);
        }
      }
      if (devices.length > 0 && errors.length === devices.length) throw new Error(errors.join('; '));
      return errors.length > 0 ? { vfs, qdiscs: [], netdevs: [], errors } : { vfs, qdiscs: [], netdevs: [] };
    },
  };
}
