/**
 * One mirror input per file (service/inputs/): it takes frames or datagrams and hands
 * flows to the shared sink (service/packets.ts); `startInput` picks it by mirror.type.
 */
import type { Registry } from 'prom-client';
import type { AllConfig } from '../../cli/all-config.js';
import type { LiveInventory } from '../../collector/endpoints/live-inventory.js';
import type { DemoNic } from '../../collector/nic/demo.js';
import type { Packets } from '../packets.js';
import type { Undo } from '../undo.js';

export type MirrorConfig = AllConfig['mirror'];

export interface InputContext<M extends MirrorConfig = MirrorConfig> {
  cfg: AllConfig;
  mirror: M;
  live: LiveInventory;
  packets: Packets;
  registry: Registry;
  demoNic: DemoNic | null;
  log: (line: string) => void;
  /** startup lines (quiet: none) */
  say: (line: string) => void;
  undo: Undo;
}

export interface MirrorInput {
  /** every 100 ms: [lastMs, nowMs) has passed (windows close by the clock when input goes quiet) */
  tick?(lastMs: number, nowMs: number): void;
  /** its part of /api/v1/status */
  status?(): Record<string, unknown>;
  /** its part of the status line */
  line?(): string;
}

/** The observation input name of a mirror: where its frames or datagrams come from. */
export function inputName(m: MirrorConfig): string {
  switch (m.type) {
    case 'capture':
      return `capture:${m.interface}`;
    case 'sflow':
      return `sflow:${m.listen}`;
    case 'netflow':
      return `netflow:${m.listen}`;
    default:
      return 'mirror:demo';
  }
}
