/**
 * The pcaps the real NetFlow/IPFIX exporters play (softflowd -r, pmacctd pcap_savefile).
 * Both are rebuilt from seeds, so only the exports are kept as fixtures:
 * - `demo`: `podwire sample`'s capture (demoScenario: VLANs, QinQ, VXLAN, ERSPAN, IPv6,
 *   IP reuse, unknown hosts) and its inventory — 324 frames over 60 s;
 * - `bulk`: a few long flows between the demo's pods on VLANs 100 and 101 (and IPv6),
 *   interleaved at random, thousands of packets each, for the sampled exports: enough
 *   packets that scaling back is tested against a small sampling error.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PcapRecord, pcapFile } from '../../collector/capture/pcap-writer.js';
import { Prng } from '../../collector/synth/prng.js';
import { demoScenario, type InventoryJson, type Leg, podFrame } from '../../collector/synth/scenario.js';

export type CaptureName = 'demo' | 'bulk' | 'demo-head';

/** demo-head: the demo's first frames (psamp exports one 1428-byte datagram per packet) */
export const DEMO_HEAD = 100;

const web1: Leg = { mac: '02:00:00:00:01:01', ip: '10.10.0.11', vlan: 100, node: 'node-a' };
const web2: Leg = { mac: '02:00:00:00:01:02', ip: '10.10.0.12', vlan: 100, node: 'node-b' };
const gw: Leg = { mac: '02:00:00:00:01:fe', ip: '10.10.0.254', vlan: 100, node: 'node-a' };
const teller: Leg = { mac: '02:00:00:00:01:01', ip: '10.10.0.11', vlan: 101, node: 'node-c' };
const vault: Leg = { mac: '02:00:00:00:02:07', ip: '10.10.0.17', vlan: 101, node: 'node-a' };

/** The bulk capture's flows: [from, to, L4, packets]; sizes keep every frame above 60 bytes (no padding). */
const BULK: [Leg, Leg, Parameters<typeof podFrame>[2], number][] = [
  [web1, web2, { proto: 'tcp', sport: 41000, dport: 8080, size: 300 }, 6000],
  [web2, web1, { proto: 'tcp', sport: 8080, dport: 41000, size: 1200 }, 9000],
  [teller, vault, { proto: 'tcp', sport: 52000, dport: 5432, size: 200 }, 4000],
  [vault, teller, { proto: 'tcp', sport: 5432, dport: 52000, size: 900 }, 3000],
  [web1, gw, { proto: 'udp', sport: 5353, dport: 53, size: 80 }, 2500],
  [
    { ...web1, ip: 'fd00:10::11' },
    { ...web2, ip: 'fd00:10::12' },
    { proto: 'udp', sport: 6000, dport: 6001, size: 500 },
    3500,
  ],
];

/** Long flows interleaved at random over 50 s (seeded: the same bytes each time). */
export function bulkPackets(start = Date.parse('2026-11-26T10:00:00Z') / 1000): PcapRecord[] {
  const rng = new Prng(1313);
  const frames = BULK.map(([a, b, l4]) => podFrame(a, b, l4, [{ vid: a.vlan ?? 0 }]));
  const order: number[] = [];
  for (const [i, [, , , n]] of BULK.entries()) for (let k = 0; k < n; k++) order.push(i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const stepUs = Math.floor(50e6 / order.length);
  return order.map((f, i) => {
    const us = i * stepUs;
    return { tsSec: start + Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000, data: frames[f] };
  });
}

export function capturePackets(name: CaptureName): PcapRecord[] {
  if (name === 'bulk') return bulkPackets();
  const { packets } = demoScenario();
  return name === 'demo' ? packets : packets.slice(0, DEMO_HEAD);
}

export function demoInventory(): InventoryJson {
  return demoScenario().inventory;
}

/** Writes the named capture (and the demo inventory) into `dir`; returns the pcap's path. */
export async function writeCapture(dir: string, name: CaptureName): Promise<string> {
  const path = join(dir, `${name}.pcap`);
  await writeFile(path, pcapFile(capturePackets(name)));
  await writeFile(join(dir, 'inventory.json'), `${JSON.stringify(demoInventory(), null, 2)}\n`);
  return path;
}
