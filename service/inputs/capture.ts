/** A live capture (tcpdump -i): a mirror/SPAN port, an ERSPAN receiver; its drops counted and shown. */

import { DropNotice } from '../../cli/capture-run.js';
import { type CaptureCounts, registerCaptureMetrics } from '../../collector/capture/metrics.js';
import { captureLive } from '../../collector/capture/tcpdump.js';
import type { InputContext, MirrorInput } from './types.js';

type CaptureMirror = Extract<InputContext['mirror'], { type: 'capture' }>;

const num = (n: number) => Math.round(n).toLocaleString('en');

export function startCaptureInput(ctx: InputContext<CaptureMirror>): MirrorInput {
  const m = ctx.mirror;
  const counts: CaptureCounts = {
    interface: m.interface,
    packets: 0,
    receivedByFilter: null,
    droppedByKernel: null,
    droppedByInterface: null,
  };
  registerCaptureMetrics(ctx.registry, () => counts);
  const notice = new DropNotice(m.interface, 'mirror.bufferMiB');
  const stop = new AbortController();
  const capture = captureLive(m.interface, ctx.packets.path.handle, {
    filter: m.filter,
    signal: stop.signal,
    bufferMiB: m.bufferMiB,
    snaplen: m.snaplen,
    onListening: () => ctx.say(`podwire: capturing on ${m.interface}`),
    onProgress: (_bytes, packets) => {
      counts.packets = packets;
    },
    onDrops: (d) => {
      Object.assign(counts, d);
      const warning = notice.update(d);
      if (warning !== null) ctx.log(warning);
    },
  }).catch((err: Error) => ctx.log(`capture on ${m.interface} stopped: ${err.message}`));
  ctx.undo.push(async () => {
    stop.abort();
    await capture;
  });
  return {
    status: () => ({ capture: { ...counts } }),
    line: () => captureStatus(counts),
  };
}

/** The status line's capture part: what the capture lost, by where. */
function captureStatus(c: CaptureCounts): string {
  const n = (v: number | null) => (v === null ? '?' : num(v));
  return `capture ${c.interface}: ${n(c.droppedByKernel)} dropped by the kernel, ${n(c.droppedByInterface)} by the interface`;
}
