/**
 * The `tc` source: the QoS scheduler's counters per interface — bytes, packets, drops,
 * overlimits, requeues and backlog of every qdisc (`tc [-n NS] -s -j qdisc show dev IF`)
 * and of every class (`tc [-n NS] -s -j class show dev IF`).
 *
 * `tc -j class` prints plain text on iproute2 up to at least 6.1 (the -j is ignored), so the
 * class output is parsed as JSON when it is JSON and as text otherwise:
 *
 *   class htb 1:10 root leaf 10: prio 0 rate 10Mbit ceil 10Mbit burst 1600b cburst 1600b
 *    Sent 2569715 bytes 1751 pkt (dropped 6906, overlimits 1730 requeues 0)
 *    backlog 0b 0p requeues 0
 *
 * Classes without a "Sent" line (tbf's internal class) carry no statistics and are left
 * out. Text backlog bytes are printed rounded ("12Kb"); JSON ones are exact.
 * Counter widths (TC_WIDTHS) are the kernel's: bytes are u64 (gnet_stats_basic); packets
 * are counted in 64 bits since Linux 5.5 and printed whole by tc since iproute2 5.5 (the
 * TCA_STATS_PKT64 attribute follows the u32 of gnet_stats_basic once it overflows);
 * drops, overlimits and requeues are u32 (gnet_stats_queue) and wrap at 2^32.
 */
import { checkCommon, checkName, type ExecFn, errorMessage, execCommand, netnsArgs } from './exec.js';
import type { CounterWidths, NicSource, QdiscSample } from './types.js';
import { setPeerMacs, type VethPeers } from './veth-peers.js';

export interface TcSourceOptions {
  node: string;
  /** interfaces whose qdiscs (and classes) are read */
  devices: string[];
  /** the tc binary (default `tc` from PATH) */
  tcPath?: string;
  /** run inside this network namespace (`tc -n NS …`) */
  netns?: string;
  /** read class statistics too (default true) */
  classes?: boolean;
  /** per command (default 5000 ms) */
  timeoutMs?: number;
  exec?: ExecFn;
  /** source name (default `tc`) */
  name?: string;
  /** resolves host-side veths to their pod-side peer's MAC (set as `endpointMac`) */
  peers?: VethPeers;
}

type Json = Record<string, unknown>;

function fail(where: string, path: string, what: string, got: unknown): never {
  throw new Error(`${where}: ${path}: expected ${what}, got ${JSON.stringify(got) ?? String(got)}`);
}

function count(where: string, o: Json, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
    if (v === undefined) throw new Error(`${where}: ${path}: no "${key}" (statistics need tc -s)`);
    fail(where, `${path}.${key}`, 'a non-negative number', v);
  }
  return v;
}

function parseTcJson(json: string, node: string, dev: string, level: 'qdisc' | 'class'): QdiscSample[] {
  const where = `tc ${level} JSON (${dev})`;
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`${where}: not valid JSON (${errorMessage(err)})`);
  }
  if (!Array.isArray(doc)) throw new Error(`${where}: expected an array`);
  return doc.map((e, i): QdiscSample => {
    const p = `[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) fail(where, p, 'an object', e);
    const o = e as Json;
    const kind = o.kind ?? o.class;
    if (typeof kind !== 'string') fail(where, `${p}.kind`, 'a string', kind);
    if (typeof o.handle !== 'string') fail(where, `${p}.handle`, 'a string', o.handle);
    const parent = typeof o.parent === 'string' ? o.parent : o.root === true ? 'root' : '';
    return {
      node,
      interface: typeof o.dev === 'string' ? o.dev : dev,
      kind,
      handle: o.handle,
      parent,
      level,
      bytes: count(where, o, 'bytes', p),
      packets: count(where, o, 'packets', p),
      drops: count(where, o, 'drops', p),
      overlimits: count(where, o, 'overlimits', p),
      requeues: count(where, o, 'requeues', p),
      backlogBytes: count(where, o, 'backlog', p),
      backlogPackets: count(where, o, 'qlen', p),
    };
  });
}

/** Parses `tc -s -j qdisc show dev DEV`. Root qdiscs get parent "root". */
export function parseTcQdiscJson(json: string, node: string, dev: string): QdiscSample[] {
  return parseTcJson(json, node, dev, 'qdisc');
}

/** Parses a JSON class listing (iproute2 versions that print one; kind in `class` or `kind`). */
export function parseTcClassJson(json: string, node: string, dev: string): QdiscSample[] {
  return parseTcJson(json, node, dev, 'class');
}

const HEADER_RE = /^class\s+(\S+)\s+(\S+)(.*)$/;
const SENT_RE = /Sent (\d+) bytes (\d+) pkts? \(dropped (\d+), overlimits (\d+) requeues (\d+)\)/;
const BACKLOG_RE = /backlog (\d+(?:\.\d+)?(?:e\+?\d+)?)([KMG]?)b (\d+)p/;
const UNIT: Record<string, number> = { '': 1, K: 1024, M: 1024 * 1024, G: 1024 * 1024 * 1024 };

/** Parses the text of `tc -s class show dev DEV` (classes without statistics are left out). */
export function parseTcClassText(text: string, node: string, dev: string): QdiscSample[] {
  const out: QdiscSample[] = [];
  let cur: QdiscSample | null = null;
  let sent = false;
  const flush = () => {
    if (cur !== null && sent) out.push(cur);
    cur = null;
    sent = false;
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = HEADER_RE.exec(line);
    if (h) {
      flush();
      const rest = h[3]!;
      const parent = /\bparent (\S+)/.exec(rest);
      cur = {
        node,
        interface: dev,
        kind: h[1]!,
        handle: h[2]!,
        parent: parent ? parent[1]! : /\broot\b/.test(rest) ? 'root' : '',
        level: 'class',
        bytes: 0,
        packets: 0,
        drops: 0,
        overlimits: 0,
        requeues: 0,
        backlogBytes: 0,
        backlogPackets: 0,
      };
      continue;
    }
    if (cur === null) {
      if (line.trim() !== '')
        throw new Error(
          `tc class text (${dev}): line ${i + 1}: expected "class …", got ${JSON.stringify(line.trim())}`,
        );
      continue;
    }
    const c: QdiscSample = cur;
    const s = SENT_RE.exec(line);
    if (s) {
      sent = true;
      c.bytes = Number(s[1]);
      c.packets = Number(s[2]);
      c.drops = Number(s[3]);
      c.overlimits = Number(s[4]);
      c.requeues = Number(s[5]);
    }
    const b = BACKLOG_RE.exec(line);
    if (b) {
      c.backlogBytes = Math.round(Number(b[1]) * UNIT[b[2]!]!);
      c.backlogPackets = Number(b[3]);
    }
  }
  flush();
  return out;
}

/** `tc -j class` output: JSON when it is JSON, text otherwise. */
export function parseTcClassOutput(out: string, node: string, dev: string): QdiscSample[] {
  const t = out.trimStart();
  return t.startsWith('[') ? parseTcClassJson(t, node, dev) : parseTcClassText(out, node, dev);
}

/** Argument lists (exported for display and tests). */
export function tcQdiscArgs(dev: string, netns?: string): string[] {
  return [...netnsArgs(netns), '-s', '-j', 'qdisc', 'show', 'dev', dev];
}

export function tcClassArgs(dev: string, netns?: string): string[] {
  return [...netnsArgs(netns), '-s', '-j', 'class', 'show', 'dev', dev];
}

/**
 * See the top of this file. On a kernel or iproute2 older than 5.5 packets are u32: their
 * wrap then reads as a reset, which loses the count from the old value up to 2^32 (less
 * than one interval's packets) rather than inventing 2^32 of them.
 */
export const TC_WIDTHS: CounterWidths = {
  qdisc: { bytes: 64, packets: 64, drops: 32, overlimits: 32, requeues: 32 },
};

/**
 * A NicSource running tc for each device (qdiscs, then classes). A device failing is
 * reported in `errors` while the others are read; all failing rejects.
 */
export function createTcSource(options: TcSourceOptions): NicSource {
  const devices = checkCommon('tc', options.node, options.devices);
  const netns = options.netns === undefined ? undefined : checkName('tc source: netns', options.netns);
  const tc = options.tcPath ?? 'tc';
  const exec = options.exec ?? execCommand;
  const timeoutMs = options.timeoutMs ?? 5000;
  const classes = options.classes ?? true;
  const node = options.node;
  return {
    name: options.name ?? 'tc',
    counterWidths: TC_WIDTHS,
    async read() {
      const qdiscs: QdiscSample[] = [];
      const errors: string[] = [];
      let failedDevices = 0;
      for (const dev of devices) {
        try {
          const q = parseTcQdiscJson(await exec(tc, tcQdiscArgs(dev, netns), { timeoutMs }), node, dev);
          for (const s of q) qdiscs.push(s);
        } catch (err) {
          errors.push(`${dev}: ${errorMessage(err)}`);
          failedDevices++;
          continue;
        }
        if (!classes) continue;
        try {
          const c = parseTcClassOutput(await exec(tc, tcClassArgs(dev, netns), { timeoutMs }), node, dev);
          for (const s of c) qdiscs.push(s);
        } catch (err) {
          errors.push(`${dev} classes: ${errorMessage(err)}`);
        }
      }
      if (devices.length > 0 && failedDevices === devices.length) throw new Error(errors.join('; '));
      if (options.peers !== undefined && qdiscs.length > 0) await setPeerMacs(options.peers, qdiscs, errors);
      return errors.length > 0 ? { vfs: [], qdiscs, netdevs: [], errors } : { vfs: [], qdiscs, netdevs: [] };
    },
  };
}
