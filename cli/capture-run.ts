/**
 * Shared by `trace` and `flows`: load the inventory, open the input (file, stdin or a
 * live tcpdump), run the packet path over it with progress, and report counts on stderr.
 */
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import { InventoryError, loadInventory } from '../collector/attribution/inventory.js';
import { openCapture, readCaptureSource } from '../collector/capture/reader.js';
import { captureLive } from '../collector/capture/tcpdump.js';
import { CaptureError, type CaptureStats } from '../collector/capture/types.js';
import { decodeConfig } from '../collector/decode/packet.js';
import { PacketPath, type PacketPathOptions } from '../collector/packet-path.js';
import { ExitCode, UserError } from './errors.js';
import { Progress } from './progress.js';

export interface InputOptions {
  pcap?: string;
  capture?: string;
  filter?: string;
  inventory: string;
  vxlanPort?: number[];
  quiet?: boolean;
}

export async function loadIndex(path: string): Promise<EndpointIndex> {
  try {
    return EndpointIndex.fromInventory(await loadInventory(path));
  } catch (err) {
    if (err instanceof InventoryError) throw new UserError(err.message, ExitCode.USAGE);
    throw err;
  }
}

export function checkInput(o: InputOptions): void {
  if ((o.pcap === undefined) === (o.capture === undefined)) {
    throw new UserError('give exactly one input: --pcap FILE (or - for stdin) or --capture IFACE');
  }
  if (o.filter !== undefined && o.capture === undefined) {
    throw new UserError(
      '--filter applies to --capture only (filter a file with tcpdump -r FILE -w - FILTER | podwire … --pcap -)',
    );
  }
}

export type PathFactory = (index: EndpointIndex) => Omit<PacketPathOptions, 'index' | 'decode'>;

/** Runs the packet path over the input; resolves with the path (for its counters). */
export async function runCapture(
  o: InputOptions,
  makePath: PathFactory,
  signal: AbortSignal,
): Promise<{ path: PacketPath; stats: CaptureStats }> {
  checkInput(o);
  const index = await loadIndex(o.inventory);
  const path = new PacketPath({ index, decode: decodeConfig(o.vxlanPort ?? []), ...makePath(index) });
  let stats: CaptureStats;
  try {
    if (o.capture !== undefined) {
      const iface = o.capture;
      stats = await captureLive(iface, path.handle, {
        filter: o.filter,
        signal,
        // packets as they arrive: without it libpcap hands them over in kernel blocks, up to
        // 1 s late, and the last partial block is lost when the capture is stopped
        immediate: true,
        // the readiness line scripts and tests wait for before generating traffic
        onListening: () => {
          if (!o.quiet) process.stderr.write(`podwire: capturing on ${iface}\n`);
        },
      });
    } else {
      const input = await openCapture(o.pcap!);
      const progress = new Progress(input.size, !o.quiet && process.stderr.isTTY === true);
      try {
        stats = await readCaptureSource(input, path.handle, {
          signal,
          onProgress: (bytes, packets) => progress.update(bytes, packets),
        });
      } finally {
        progress.done();
      }
    }
  } catch (err) {
    if (err instanceof CaptureError)
      throw new UserError(`${o.pcap ?? o.capture}: ${err.message}`, ExitCode.INPUT);
    if (err instanceof UserError) throw err;
    if (err instanceof Error && (err as NodeJS.ErrnoException).code !== undefined) {
      throw new UserError(err.message, ExitCode.INPUT);
    }
    if (err instanceof Error && /tcpdump/.test(err.message)) throw new UserError(err.message, ExitCode.INPUT);
    throw err;
  }
  return { path, stats };
}

/** One closing line on stderr: what was read and what could not be attributed. */
export function summaryLine(path: PacketPath): string {
  const parts = Object.entries(path.summary()).map(([k, v]) => `${k}=${v}`);
  return `podwire: ${parts.join(' ')}`;
}
