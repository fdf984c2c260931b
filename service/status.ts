/** /api/v1/status and the one-line health summary, from what a role runs. */
import type { SlaAssembly } from '../alerts/service.js';
import { type StoreOutcome, storeHealth } from '../cli/store-report.js';
import type { LiveInventory } from '../collector/endpoints/live-inventory.js';
import type { Health } from '../node-exporter/server.js';
import type { MirrorInput } from './inputs/types.js';
import type { NicPart } from './nic.js';
import type { Packets } from './packets.js';
import type { Role } from './roles.js';
import type { Writers } from './writers.js';

export interface StatusParts {
  role: Role;
  live: LiveInventory;
  nic: NicPart;
  started: number;
  writers?: Writers;
  packets?: Packets;
  input?: MirrorInput;
  sla?: SlaAssembly;
  health?: () => Health;
}

const num = (n: number) => Math.round(n).toLocaleString('en');

export function statusOf(p: StatusParts): Record<string, unknown> {
  const inv = p.live.stats();
  const nodes = [...inv.vfsInUse].map(([n, v]) => `${n} ${v}/64`).join(', ');
  const f = p.writers?.flows?.stats();
  const pk = p.packets;
  return {
    role: p.role,
    uptimeSeconds: Math.round((Date.now() - p.started) / 1000),
    endpoints: { live: inv.live, history: inv.history, conflicts: inv.conflicts, vfsInUse: nodes },
    ...(pk === undefined
      ? {}
      : {
          packets: { seen: pk.counters.packets, attributed: pk.counters.attributed, sampled: pk.sampled },
          flows: { emitted: pk.flowStats().emitted, open: pk.flowStats().open, ...f },
        }),
    ...(p.writers === undefined ? {} : { store: p.writers.outcome() }),
    vfCounterRows: p.nic.rows,
    nic: (p.health?.().sources ?? []).map((s) => ({ source: s.name, ok: s.ok, lastError: s.lastError })),
    ...p.input?.status?.(),
    ...(p.sla === undefined ? {} : { alerts: p.sla.service.status() }),
  };
}

export function statusLine(p: StatusParts): string {
  const s = statusOf(p) as {
    endpoints: { live: number; vfsInUse: string };
    packets?: { seen: number; attributed: number };
    flows?: { emitted: number; written: number };
    store?: StoreOutcome;
    nic: { source: string; ok: boolean }[];
  };
  const parts = [
    `podwire: ${s.endpoints.live} endpoints live (VFs in use: ${s.endpoints.vfsInUse || 'none'})`,
  ];
  if (s.packets !== undefined && s.flows !== undefined) {
    const pct = s.packets.seen > 0 ? ((100 * s.packets.attributed) / s.packets.seen).toFixed(1) : '0';
    parts[0] += `, ${num(s.packets.seen)} packets (${pct}% attributed), ${num(s.flows.emitted)} flows, ${num(s.flows.written)} stored`;
  }
  const tail: string[] = [];
  if (s.store !== undefined) tail.push(storeHealth(s.store));
  if (s.nic.length > 0) {
    const bad = s.nic.filter((n) => !n.ok).map((n) => n.source);
    tail.push(`NIC ${bad.length === 0 ? 'ok' : `failing: ${bad.join(', ')}`}`);
  }
  if (p.sla !== undefined) tail.push(p.sla.service.line());
  const line = p.input?.line?.();
  if (line !== undefined) tail.push(line);
  return [parts[0], ...tail].join('; ');
}
