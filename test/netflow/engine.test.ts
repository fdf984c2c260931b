/**
 * The surface the CLI and `podwire all` wire: LocalNetflow (receive by exporter address,
 * tick, stop with totals; the template state saved at stop and loaded by the next engine)
 * and the `podwire_netflow_*` metrics, checked by the real promtool.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../collector/flows/flow-table.js';
import { encodeIpfix, encodeV9, field as f, IE, type TemplateDef } from '../../collector/netflow/encode.js';
import { exporterName, LocalNetflow } from '../../collector/netflow/engine.js';
import { registerNetflowMetrics } from '../../collector/netflow/metrics.js';
import { STATE_FILE } from '../../collector/netflow/state-file.js';
import { malformedName } from '../../collector/netflow/types.js';
import { SflowListener } from '../../collector/sflow/listener.js';
import { observationName } from '../../collector/sflow/observation.js';
import { promtoolCheck } from '../exporter/exposition.js';
import { netflowIndex, PODS, T_US, T0 } from './helpers.js';

const web1 = PODS[0].leg;
const web2 = PODS[1].leg;
const T: TemplateDef = {
  id: 256,
  fields: [
    f(IE.sourceIPv4Address, 4),
    f(IE.destinationIPv4Address, 4),
    f(IE.octetDeltaCount, 4),
    f(IE.packetDeltaCount, 4),
    f(IE.vlanId, 2),
    f(IE.ingressInterface, 2),
    f(IE.samplingInterval, 2),
  ],
};

function engine(stateFile?: string) {
  const flows: FlowRecord[] = [];
  const e = new LocalNetflow({
    index: netflowIndex(),
    onFlows: (b) => flows.push(...b.records()),
    stateFile,
  });
  return { e, flows };
}

describe('LocalNetflow', () => {
  it('names exporters by address (IPv6 in brackets) and their points netflow:EXPORTER:IFINDEX', async () => {
    const { e, flows } = engine();
    const m = Buffer.from(
      encodeIpfix({
        exportSecs: T0,
        sequence: 0,
        domain: 1,
        sets: [
          { kind: 'templates', templates: [T] },
          { kind: 'data', template: T, records: [[web1.ip, web2.ip, 1000, 2, 100, 12, 10]] },
        ],
      }),
    );
    e.receive(m, '2001:db8::7', T_US);
    e.receive(m, '192.0.2.3', T_US);
    const totals = await e.stop();
    expect(totals.exporters.map((x) => x.exporter).sort()).toEqual(['192.0.2.3', '[2001:db8::7]']);
    expect(totals.summary).toMatchObject({ datagrams: 2, records: 2, packets: 40, bytes: 20_000 });
    expect(flows.map((x) => observationName(x.observation, 'input', e.names)).sort()).toEqual([
      'netflow:192.0.2.3:12',
      'netflow:[2001:db8::7]:12',
    ]);
    expect(flows.every((x) => x.samplingRate === 10 && x.packets === 20 && x.bytes === 10_000)).toBe(true);
    expect(exporterName('::1')).toBe('[::1]');
  });

  it('over a real UDP socket on loopback: the listener hands over the source address', async () => {
    const { e } = engine();
    const listener = await SflowListener.open({
      host: '127.0.0.1',
      port: 0,
      onDatagram: (msg, tUs, from) => e.receive(msg, from, tUs),
    });
    const m = encodeIpfix({
      exportSecs: T0,
      sequence: 0,
      domain: 1,
      sets: [
        { kind: 'templates', templates: [T] },
        { kind: 'data', template: T, records: [[web1.ip, web2.ip, 1000, 2, 100, 12, 1]] },
      ],
    });
    const s = createSocket('udp4');
    s.send(m, listener.port, '127.0.0.1');
    for (let i = 0; i < 200 && listener.stats.datagrams === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    s.close();
    await listener.close();
    const totals = await e.stop();
    expect(totals.exporters.map((x) => [x.exporter, x.records])).toEqual([['127.0.0.1', 1]]);
  });

  it('saves the templates at stop; the next engine on the same data directory decodes at once', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'podwire-netflow-')), STATE_FILE);
    const a = engine(stateFile);
    const t = Buffer.from(
      encodeV9({
        sysUptime: 1,
        exportSecs: T0,
        sequence: 1,
        sourceId: 0,
        sets: [{ kind: 'templates', templates: [T] }],
      }),
    );
    a.e.receive(t, '192.0.2.3', T_US);
    await a.e.stop();
    const b = engine(stateFile);
    const d = Buffer.from(
      encodeV9({
        sysUptime: 2,
        exportSecs: T0,
        sequence: 2,
        sourceId: 0,
        sets: [{ kind: 'data', template: T, records: [[web1.ip, web2.ip, 1000, 2, 100, 12, 1]] }],
      }),
    );
    b.e.receive(d, '192.0.2.3', T_US + 1e6);
    const totals = await b.e.stop();
    expect(totals.summary.records).toBe(1);
    expect(totals.summary.template_missing).toBeUndefined();
    expect(b.flows).toHaveLength(1);
  });
});

describe('podwire_netflow_* metrics', () => {
  it('pass promtool; every malformed reason is there at 0 before anything malformed arrives', async () => {
    const { e } = engine();
    const registry = new Registry();
    registerNetflowMetrics(registry, { intake: e.intake, kernelDrops: async () => 3 });
    const m = Buffer.from(
      encodeIpfix({
        exportSecs: T0,
        sequence: 5,
        domain: 7,
        sets: [
          { kind: 'templates', templates: [T] },
          { kind: 'data', template: T, records: [[web1.ip, web2.ip, 1000, 2, 100, 12, 10]] },
        ],
      }),
    );
    e.receive(m, '192.0.2.3', T_US);
    const text = await registry.metrics();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    const lines = text.split('\n');
    for (const r of malformedName.slice(1))
      expect(lines).toContain(`podwire_netflow_malformed_total{reason="${r}"} 0`);
    expect(lines).toContain('podwire_netflow_datagrams_total{exporter="192.0.2.3"} 1');
    expect(lines).toContain('podwire_netflow_records_total{exporter="192.0.2.3"} 1');
    expect(lines).toContain('podwire_netflow_templates{exporter="192.0.2.3"} 1');
    expect(lines).toContain('podwire_netflow_sampling_rate{exporter="192.0.2.3",domain="7"} 10');
    expect(lines).toContain('podwire_netflow_kernel_drops_total 3');
    // a bad version afterwards: counted under its reason
    e.receive(Buffer.alloc(20), '192.0.2.3', T_US);
    expect((await registry.metrics()).split('\n')).toContain(
      'podwire_netflow_malformed_total{reason="bad_version"} 1',
    );
  });
});
