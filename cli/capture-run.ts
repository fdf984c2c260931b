/**
 * Shared by `trace` and `flows`: load the inventory, open the input (file, stdin or a
 * live tcpdump), run the packet path over it with progress, and report counts on stderr.
 */
import { EndpointIndex } from '../collector/attribution/endpoint-index.js';
import type { Inventory } from '../collector/attribution/inventory.js';
import { InventoryError } from '../collector/attribution/inventory-error.js';
import { loadInventory } from '../collector/attribution/inventory-file.js';
import { parseUntaggedScope, type UntaggedScope } from '../collector/attribution/untagged-scope.js';
import { openCapture, readCaptureSource } from '../collector/capture/reader.js';
import { type CaptureDrops, captureLive, type LiveCaptureStats } from '../collector/capture/tcpdump.js';
import { CaptureError, type CaptureStats } from '../collector/capture/types.js';
import { decodeConfig } from '../collector/decode/packet.js';
import { PacketPath, type PacketPathOptions } from '../collector/packet-path.js';
import { ExitCode, UserError } from './errors.js';
import { Progress } from './progress.js';

export interface InputOptions {
  pcap?: string;
  capture?: string;
  filter?: string;
  /** --capture: the kernel capture buffer, MiB */
  captureBuffer?: number;
  /** --capture: bytes captured per packet */
  snaplen?: number;
  /** the tenant scope of untagged frames, `vni:N` or `vlan:N` */
  untaggedScope?: string;
  inventory: string;
  vxlanPort?: number[];
  quiet?: boolean;
}

/** The --inventory file; a bad one is a usage error naming it. */
export async function loadInventoryArg(path: string): Promise<Inventory> {
  try {
    return await loadInventory(path);
  } catch (err) {
    if (err instanceof InventoryError) throw new UserError(err.message, ExitCode.USAGE);
    throw err;
  }
}

export async function loadIndex(path: string): Promise<EndpointIndex> {
  return EndpointIndex.fromInventory(await loadInventoryArg(path));
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
  for (const [flag, v] of [
    ['--capture-buffer', o.captureBuffer],
    ['--snaplen', o.snaplen],
  ] as const) {
    if (v !== undefined && o.capture === undefined) throw new UserError(`${flag} applies to --capture only`);
  }
  if (
    o.captureBuffer !== undefined &&
    !(Number.isInteger(o.captureBuffer) && o.captureBuffer >= 1 && o.captureBuffer <= 4096)
  )
    throw new UserError('--capture-buffer: a whole number of MiB, 1..4096');
  if (o.snaplen !== undefined && !(Number.isInteger(o.snaplen) && o.snaplen >= 64 && o.snaplen <= 262144))
    throw new UserError('--snaplen: a whole number of bytes, 64..262144');
}

/** `--untagged-scope` parsed (a usage error when it is not vni:N or vlan:N). */
export function untaggedScopeOption(text: string | undefined): UntaggedScope | undefined {
  if (text === undefined) return undefined;
  try {
    return parseUntaggedScope(text);
  } catch (err) {
    throw new UserError(`--untagged-scope: ${(err as Error).message}`);
  }
}

export type PathFactory = (index: EndpointIndex) => Omit<PacketPathOptions, 'index' | 'decode'>;

/** Runs the packet path over the input; resolves with the path (for its counters). */
export async function runCapture(
  o: InputOptions,
  makePath: PathFactory,
  signal: AbortSignal,
): Promise<{ path: PacketPath; stats: CaptureStats; live?: LiveCaptureStats }> {
  checkInput(o);
  const untaggedScope = untaggedScopeOption(o.untaggedScope);
  const index = await loadIndex(o.inventory);
  const path = new PacketPath({
    index,
    decode: decodeConfig(o.vxlanPort ?? []),
    untaggedScope,
    ...makePath(index),
  });
  let stats: CaptureStats;
  let live: LiveCaptureStats | undefined;
  try {
    if (o.capture !== undefined) {
      const iface = o.capture;
      const notice = new DropNotice(iface, '--capture-buffer');
      live = await captureLive(iface, path.handle, {
        filter: o.filter,
        signal,
        bufferMiB: o.captureBuffer,
        snaplen: o.snaplen,
        // the readiness line scripts and tests wait for before generating traffic
        onListening: () => {
          if (!o.quiet) process.stderr.write(`podwire: capturing on ${iface}\n`);
        },
        // a loss is said while it happens, not only at the end (quiet or not)
        onDrops: (d) => {
          const line = notice.update(d);
          if (line !== null) process.stderr.write(`${line}\n`);
        },
      });
      stats = live;
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
  return { path, stats, live };
}

/** One closing line on stderr: what was read, what a live capture lost, what could not be attributed. */
export function summaryLine(path: PacketPath, live?: CaptureDrops): string {
  const parts = Object.entries(path.summary()).map(([k, v]) => `${k}=${v}`);
  if (live !== undefined) {
    const n = (v: number | null) => (v === null ? 'unknown' : String(v));
    parts.push(
      `received_by_filter=${n(live.receivedByFilter)}`,
      `kernel_drops=${n(live.droppedByKernel)}`,
      `interface_drops=${n(live.droppedByInterface)}`,
    );
  }
  return `podwire: ${parts.join(' ')}`;
}

const num = (n: number) => n.toLocaleString('en');

/**
 * Exit 1 (the input could not be read completely) when the kernel dropped packets of the
 * capture: the output is missing what podwire did not keep up with. Interface drops, lost
 * before any capture, are warned about only.
 */
export function failOnKernelDrops(iface: string | undefined, live: CaptureDrops | undefined): void {
  const n = live?.droppedByKernel ?? 0;
  if (n > 0) {
    throw new UserError(
      `capture on ${iface}: ${num(n)} packets dropped by the kernel; the output is incomplete`,
      ExitCode.INPUT,
    );
  }
}

/**
 * What a live capture lost, as a warning line — once per growth of its drop counts.
 * `bufferHint` names the setting that raises the capture buffer (a flag or a config key).
 */
export class DropNotice {
  private kernel = 0;
  private iface = 0;

  constructor(
    readonly interfaceName: string,
    private readonly bufferHint: string,
  ) {}

  /** The warning when the counts grew since the last one, else null. */
  update(d: CaptureDrops): string | null {
    const kernel = d.droppedByKernel ?? 0;
    const iface = d.droppedByInterface ?? 0;
    if (kernel <= this.kernel && iface <= this.iface) return null;
    this.kernel = kernel;
    this.iface = iface;
    return dropWarning(this.interfaceName, d, this.bufferHint);
  }
}

/** `podwire: WARNING: …` for a capture that lost packets; null when it lost none. */
export function dropWarning(iface: string, d: CaptureDrops, bufferHint: string): string | null {
  const kernel = d.droppedByKernel ?? 0;
  const ifd = d.droppedByInterface ?? 0;
  if (kernel === 0 && ifd === 0) return null;
  const what: string[] = [];
  if (kernel > 0)
    what.push(`${num(kernel)} dropped by the kernel (the capture buffer was full: raise ${bufferHint})`);
  if (ifd > 0) what.push(`${num(ifd)} dropped by the interface before any capture saw them`);
  const of = d.receivedByFilter === null ? '' : ` of ${num(d.receivedByFilter + ifd)}`;
  return `podwire: WARNING: capture on ${iface} lost packets${of}: ${what.join('; ')}`;
}
