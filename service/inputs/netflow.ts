/**
 * NetFlow v5/v9/IPFIX from switches and routers (netflow-mirror.ts: listener, intake,
 * metrics, status); a packet report's frame (dataLinkFrameSection) is a packet sample, as
 * an sFlow header is: one in samples.oneIn is kept. Flow records carry no frame.
 */

import { Has } from '../../collector/netflow/types.js';
import { listeningLine } from '../../collector/sflow/listener.js';
import { packetSampleRow } from '../../ingest/sample-rows.js';
import { netflowStatusLine, startNetflowMirror } from './netflow-mirror.js';
import type { InputContext, MirrorInput } from './types.js';

type NetflowConfig = Extract<InputContext['mirror'], { type: 'netflow' }>;

export async function startNetflowInput(ctx: InputContext<NetflowConfig>): Promise<MirrorInput> {
  const { cfg, packets, mirror } = ctx;
  const nf = await startNetflowMirror({
    ...mirror,
    index: ctx.live.index,
    windowSeconds: cfg.flows.windowSeconds,
    maxFlows: cfg.flows.maxFlows,
    onFlows: packets.onFlows,
    dataDir: cfg.dataDir,
    registry: ctx.registry,
    log: ctx.log,
    onRecord:
      cfg.samples.oneIn > 0
        ? (_e, r, p, a, obs, rate, buf) => {
            if ((r.has & Has.FRAME_SECTION) === 0 || r.frameLength === 0 || !packets.sampleDue()) return;
            const frame = {
              timeUs: Date.now() * 1000,
              bytes: buf.subarray(r.frameOffset, r.frameOffset + r.frameLength),
              wireLength: (r.has & Has.FRAME_SIZE) !== 0 ? r.frameSize : r.frameLength,
            };
            packets.keepSample(packetSampleRow(frame, p, a, packets.observation(obs), rate));
          }
        : undefined,
  });
  packets.adopt({ counters: nf.counters, flowStats: nf.flowStats, names: nf.names });
  ctx.say(listeningLine('NetFlow/IPFIX', mirror.listen, nf.recvBufferSize, [nf.readersText]));
  ctx.undo.push(() => nf.stop());
  return {
    tick: (_last, nowMs) => nf.tick(nowMs / 1000),
    status: () => ({ netflow: nf.status() }),
    line: () => netflowStatusLine(nf.status()),
  };
}
