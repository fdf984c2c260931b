/**
 * The `netdev` source: interface statistics from ROOT/class/net/IF/statistics/* (one
 * counter per file), for VF representors in switchdev mode (the eswitch's view of each VF)
 * or any interface. Interfaces are named in `devices` and/or picked by `match` (e.g.
 * /^pf0vf\d+$/ for representors, which come and go with pods): a named interface that is
 * missing is reported in `errors`; a matched one that vanished between listing and reading
 * is simply not in this reading. Everything failing rejects.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkCommon, errorMessage } from './exec.js';
import {
  allWidths,
  type CounterWidths,
  NETDEV_COUNTERS as NETDEV_FIELDS,
  type NetdevSample,
  type NicSource,
} from './types.js';
import { setPeerMacs, type VethPeers } from './veth-peers.js';

export interface NetdevSourceOptions {
  node: string;
  /** interfaces read by name */
  devices: string[];
  /** also read every interface under ROOT/class/net whose name matches */
  match?: RegExp;
  /** the sysfs mount (default /sys) */
  root?: string;
  /** source name (default `netdev`) */
  name?: string;
  /** resolves host-side veths to their pod-side peer's MAC (set as `endpointMac`) */
  peers?: VethPeers;
}

/** statistics file → NetdevSample field */
export const NETDEV_COUNTERS = {
  rx_bytes: 'rxBytes',
  rx_packets: 'rxPackets',
  rx_dropped: 'rxDropped',
  rx_errors: 'rxErrors',
  tx_bytes: 'txBytes',
  tx_packets: 'txPackets',
  tx_dropped: 'txDropped',
  tx_errors: 'txErrors',
} as const;

const FILES = Object.keys(NETDEV_COUNTERS) as (keyof typeof NETDEV_COUNTERS)[];
const UINT_RE = /^\d+$/;

/** Thrown when the interface's statistics directory does not exist. */
export class NoSuchInterfaceError extends Error {
  constructor(path: string) {
    super(`${path}: no such interface`);
    this.name = 'NoSuchInterfaceError';
  }
}

/** Reads the eight counters of one interface. */
export async function readNetdevStats(root: string, node: string, ifname: string): Promise<NetdevSample> {
  const dir = join(root, 'class', 'net', ifname, 'statistics');
  const sample: NetdevSample = {
    node,
    interface: ifname,
    rxBytes: 0,
    rxPackets: 0,
    rxDropped: 0,
    rxErrors: 0,
    txBytes: 0,
    txPackets: 0,
    txDropped: 0,
    txErrors: 0,
  };
  await Promise.all(
    FILES.map(async (file) => {
      const path = join(dir, file);
      let text: string;
      try {
        text = (await readFile(path, 'utf8')).trim();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new NoSuchInterfaceError(dir);
        throw new Error(`${path}: ${errorMessage(err)}`);
      }
      if (!UINT_RE.test(text))
        throw new Error(`${path}: expected an unsigned integer, got ${JSON.stringify(text)}`);
      sample[NETDEV_COUNTERS[file]] = Number(text);
    }),
  );
  return sample;
}

/**
 * /sys/class/net/IF/statistics/* print the 64-bit struct rtnl_link_stats64 (dev_get_stats):
 * a decrease is a reset (the device re-created), never a wrap.
 */
export const NETDEV_WIDTHS: CounterWidths = { netdev: allWidths(NETDEV_FIELDS, 64) };

export function createNetdevSource(options: NetdevSourceOptions): NicSource {
  const devices = checkCommon('netdev', options.node, options.devices);
  if (devices.length === 0 && options.match === undefined) {
    throw new TypeError('netdev source: give devices, match, or both');
  }
  const root = options.root ?? '/sys';
  const node = options.node;
  const match = options.match;
  return {
    name: options.name ?? 'netdev',
    counterWidths: NETDEV_WIDTHS,
    async read() {
      const netdevs: NetdevSample[] = [];
      const errors: string[] = [];
      const named = new Set(devices);
      const matched: string[] = [];
      if (match !== undefined) {
        const dir = join(root, 'class', 'net');
        try {
          for (const name of await readdir(dir)) {
            if (!named.has(name) && match.test(name)) matched.push(name);
          }
        } catch (err) {
          errors.push(`${dir}: ${errorMessage(err)}`);
        }
        matched.sort();
      }
      for (const ifname of devices) {
        try {
          netdevs.push(await readNetdevStats(root, node, ifname));
        } catch (err) {
          errors.push(`${ifname}: ${errorMessage(err)}`);
        }
      }
      for (const ifname of matched) {
        try {
          netdevs.push(await readNetdevStats(root, node, ifname));
        } catch (err) {
          if (!(err instanceof NoSuchInterfaceError)) errors.push(`${ifname}: ${errorMessage(err)}`);
        }
      }
      if (errors.length > 0 && netdevs.length === 0) throw new Error(errors.join('; '));
      if (options.peers !== undefined && netdevs.length > 0) {
        await setPeerMacs(options.peers, netdevs, errors);
      }
      return errors.length > 0 ? { vfs: [], qdiscs: [], netdevs, errors } : { vfs: [], qdiscs: [], netdevs };
    },
  };
}
