/**
 * An interface's own receive drops, read from ROOT/class/net/IF/statistics: `rx_dropped`
 * (the stack dropped it before any capture saw it, e.g. the per-CPU backlog was full),
 * `rx_missed_errors` and `rx_fifo_errors` (the NIC had no buffer for it; libpcap reports
 * only these two as "dropped by interface"). Frames lost there never reach a capture, so a
 * capture counts them apart from its own (kernel) drops.
 *
 * Read synchronously: three small sysfs files, a few times a minute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FILES = ['rx_dropped', 'rx_missed_errors', 'rx_fifo_errors'] as const;

/**
 * The sum of the interface's receive drop counters, or null when its statistics cannot be
 * read (no such interface in this namespace's sysfs, or no sysfs). A missing single file
 * (a driver without missed/fifo counters) counts as 0.
 */
export function readInterfaceDrops(iface: string, root = '/sys'): number | null {
  const dir = join(root, 'class', 'net', iface, 'statistics');
  let sum = 0;
  let read = 0;
  for (const f of FILES) {
    let text: string;
    try {
      text = readFileSync(join(dir, f), 'utf8').trim();
    } catch {
      continue;
    }
    if (!/^\d+$/.test(text)) continue;
    sum += Number(text);
    read++;
  }
  return read === 0 ? null : sum;
}

/**
 * The interface's receive drops since construction, monotonic: a counter that goes down (the
 * device was re-created) restarts from its new value. `read()` is null while the statistics
 * cannot be read.
 */
export class InterfaceDropCounter {
  private last: number | null;
  private total = 0;

  constructor(
    readonly iface: string,
    private readonly root = '/sys',
  ) {
    this.last = readInterfaceDrops(iface, root);
  }

  read(): number | null {
    const now = readInterfaceDrops(this.iface, this.root);
    if (now === null) return this.last === null ? null : this.total;
    if (this.last !== null) this.total += now >= this.last ? now - this.last : now;
    this.last = now;
    return this.total;
  }
}
