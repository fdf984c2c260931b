/** The demo mirror: frames consistent with the live endpoints, through the real packet path. */
import { DemoMirror } from '../../collector/synth/mirror.js';
import type { InputContext, MirrorInput } from './types.js';

export function startDemoInput(
  ctx: InputContext<Extract<InputContext['mirror'], { type: 'demo' }>>,
): MirrorInput {
  const { live, packets } = ctx;
  const vteps = () => {
    const m = new Map<string, string>();
    for (const n of live.snapshot().nodes) if (n.vteps[0] !== undefined) m.set(n.name, n.vteps[0]);
    return m;
  };
  let cachedVteps = vteps();
  live.onChange(() => {
    cachedVteps = vteps();
  });
  const mirror = new DemoMirror({
    endpoints: () => live.current(),
    vteps: () => cachedVteps,
    packetsPerSecond: ctx.mirror.packetsPerSecond,
    seed: ctx.mirror.seed,
    follow: ctx.demoNic === null ? undefined : { tap: ctx.demoNic.tap(), samplingRate: packets.samplingRate },
  });
  return { tick: (lastMs, nowMs) => mirror.emit(lastMs, nowMs, packets.path.handle) };
}
