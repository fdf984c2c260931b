/**
 * One intake worker thread (see workers.ts): its own endpoint index, intake and flow
 * table for the agents its shard owns. Datagrams arrive in batches (transferred buffers,
 * handed back with the ack for reuse); flows leave as the flow table's rows (transferred),
 * preceded by the names of any observation points they use for the first time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AttributionCounters } from '../attribution/attribute.js';
import { EndpointIndex } from '../attribution/endpoint-index.js';
import type { Inventory } from '../attribution/inventory.js';
import { decodeConfig } from '../decode/packet.js';
import { type FlowBatch, FlowTable } from '../flows/flow-table.js';
import { ReaderInputs } from '../udp/input.js';
import { withReordered } from '../udp/reorder.js';
import { sflowReorder } from './engine.js';
import { SflowIntake } from './intake.js';
import { InterfaceSeries } from './interface-series.js';
import { ObservationPoints } from './observation.js';
import type { MainMessage, WorkerInit, WorkerMessage } from './workers.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const index = EndpointIndex.fromInventory(init.inventory as Inventory);
const counters = new AttributionCounters();
const observations = new ObservationPoints(init.pointsFirst, init.pointsMax);
let pointsSent = 0;
let counterSamples = 0;
const interfaceSeries = new InterfaceSeries();

const table = new FlowTable({
  index,
  counters,
  windowSeconds: init.windowSeconds,
  maxFlows: init.maxFlows,
  onFlows: (b: FlowBatch) => {
    const points = observations.since(pointsSent);
    if (points.length > 0) {
      post({ type: 'points', entries: points });
      pointsSent += points.length;
    }
    const { rows, base } = b.parts();
    post({ type: 'flows', count: b.count, rows, base, windowSeconds: b.windowSeconds }, [
      rows.buffer as ArrayBuffer,
    ]);
  },
});
const intake = new SflowIntake({
  index,
  decode: decodeConfig(init.vxlanPorts),
  flows: table,
  counters,
  observations,
  onCounters: (c) => {
    counterSamples++;
    interfaceSeries.update(c);
  },
});

// each agent's datagrams reach the sequence counts in number order (collector/udp/reorder.ts)
const reorder = sflowReorder(intake);
// datagrams straight from reader threads, merged back into arrival order
const inputs =
  init.inputs === undefined || init.inputs.length === 0
    ? null
    : new ReaderInputs(init.inputs, (u8, r) => reorder.push(u8, r.payloadOffset, r.length, '', r.tUs));

port.on('message', async (m: MainMessage) => {
  if (m.type === 'batch') {
    const u8 = new Uint8Array(m.buf);
    const dv = new DataView(m.buf);
    let o = 0;
    while (o < m.used) {
      const len = dv.getUint32(o);
      const tUs = dv.getFloat64(o + 8);
      reorder.push(u8, o + 16, len, '', tUs);
      o += 16 + ((len + 7) & ~7);
    }
    post({ type: 'ack', buf: m.buf }, [m.buf]);
  } else if (m.type === 'tick') {
    table.tick(m.nowSec);
  } else if (m.type === 'stop') {
    // the readers were stopped first: what they sent is delivered before the totals
    if (inputs !== null) {
      await inputs.ended;
      inputs.close();
    }
    reorder.flush();
    intake.finish();
    table.flush();
    const s = table.stats;
    post({
      type: 'done',
      summary: withReordered(intake.summary(), reorder),
      agents: intake.agentSummaries(),
      flows: {
        emitted: s.emitted,
        overflows: s.overflows,
        latePackets: s.latePackets,
        timeOutliers: s.timeOutliers,
      },
      counterSamples,
      interfaces: interfaceSeries.list().map((i) => `${i.agent}|${i.ifIndex}`),
      interfaceOverflows: interfaceSeries.overflows,
    });
  }
});
