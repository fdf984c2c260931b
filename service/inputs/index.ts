/** The mirror input of a config's mirror.type; each loads its intake only when chosen. */
import type { InputContext, MirrorInput } from './types.js';

export async function startInput(ctx: InputContext): Promise<MirrorInput> {
  const m = ctx.mirror;
  switch (m.type) {
    case 'demo':
      return (await import('./demo.js')).startDemoInput({ ...ctx, mirror: m });
    case 'capture':
      return (await import('./capture.js')).startCaptureInput({ ...ctx, mirror: m });
    case 'sflow':
      return (await import('./sflow.js')).startSflowInput({ ...ctx, mirror: m });
    case 'netflow':
      return (await import('./netflow.js')).startNetflowInput({ ...ctx, mirror: m });
    case 'none':
      return {};
  }
}
