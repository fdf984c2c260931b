/**
 * sFlow v5 from the TOR switches: a UDP listener (reader threads: collector/sflow/readers.ts)
 * feeding the sFlow intake, whose flows go to the shared sink; sampled headers are packet
 * samples already, so one in samples.oneIn is kept for "which pod sent this".
 */

import { listenError, parseListenAddress } from '../../cli/errors.js';
import { LocalSflow } from '../../collector/sflow/engine.js';
import { listeningLine } from '../../collector/sflow/listener.js';
import { registerSflowMetrics } from '../../collector/sflow/metrics.js';
import { openSflowInput, type SflowInput } from '../../collector/sflow/readers.js';
import { packetSampleRow } from '../../ingest/sample-rows.js';
import type { InputContext, MirrorInput } from './types.js';

type SflowMirror = Extract<InputContext['mirror'], { type: 'sflow' }>;

export async function startSflowInput(ctx: InputContext<SflowMirror>): Promise<MirrorInput> {
  const { cfg, packets, mirror } = ctx;
  const { host, port } = parseListenAddress(mirror.listen);
  const engine = new LocalSflow({
    index: ctx.live.index,
    windowSeconds: cfg.flows.windowSeconds,
    maxFlows: cfg.flows.maxFlows,
    onFlows: packets.onFlows,
    onSample:
      cfg.samples.oneIn > 0
        ? (_d, s, p, a, obs, buf) => {
            if (!packets.sampleDue()) return;
            const frame = {
              timeUs: Date.now() * 1000,
              bytes: buf.subarray(s.headerOffset, s.headerOffset + s.headerLength),
              wireLength: s.headerLength > 0 ? s.frameLength - s.stripped : p.ipLength,
            };
            packets.keepSample(packetSampleRow(frame, p, a, packets.observation(obs), s.samplingRate));
          }
        : undefined,
  });
  packets.adopt({ counters: engine.intake.counters, flowStats: engine.flowStats, names: engine.names });
  let input: SflowInput | null = null;
  try {
    input = await openSflowInput({
      host,
      port,
      readers: mirror.readers,
      engine,
      onError: (err) => ctx.log(`sflow listener: ${err.message}`),
    });
  } catch (err) {
    listenError(err, host, port, 'set mirror.listen in the config');
  }
  const l = input!;
  registerSflowMetrics(ctx.registry, {
    intake: engine.intake,
    interfaces: engine.interfaceSeries,
    listener: () => l.reader,
    reordered: () => engine.reorder?.reordered ?? 0,
  });
  ctx.say(listeningLine('sFlow', mirror.listen, l.recvBufferSize, [l.readersText]));
  // before the flow sink's last flush (undo runs in reverse): read what the socket holds,
  // then emit the intake's open windows
  ctx.undo.push(async () => {
    await l.close();
    await engine.stop();
  });
  return { tick: (_last, nowMs) => engine.tick(nowMs / 1000) };
}
