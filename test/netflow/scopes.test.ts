/**
 * Records with neither VLAN nor VNI (a router's L3 export): the exporter's tenant scope
 * (mirror.untaggedScope / mirror.exporterScopes) puts them where their addresses mean
 * something. The overlay pods here are keyed by VNI 5001 only, so without a scope their
 * addresses match nobody.
 */
import { describe, expect, it } from 'vitest';
import { allConfigSchema } from '../../cli/all-config.js';
import { parseUntaggedScope } from '../../collector/attribution/untagged-scope.js';
import { encodeIpfix, field as f, IE, type TemplateDef } from '../../collector/netflow/encode.js';
import { collecting, OVERLAY, PODS, T_US, T0, VNI } from './helpers.js';

const L3: TemplateDef = {
  id: 300,
  fields: [
    f(IE.sourceIPv4Address, 4),
    f(IE.destinationIPv4Address, 4),
    f(IE.octetDeltaCount, 4),
    f(IE.packetDeltaCount, 4),
  ],
};
const TAGGED: TemplateDef = { id: 301, fields: [...L3.fields, f(IE.vlanId, 2)] };
const [api0, api1] = OVERLAY.map((o) => o.leg.ip);
const web1 = PODS[0].leg;

function datagram(): Uint8Array {
  return encodeIpfix({
    exportSecs: T0,
    sequence: 0,
    domain: 1,
    sets: [
      { kind: 'templates', templates: [L3, TAGGED] },
      { kind: 'data', template: L3, records: [[api0, api1, 1000, 2]] },
      // a record with its own VLAN keeps it, whatever the exporter's scope
      { kind: 'data', template: TAGGED, records: [[web1.ip, PODS[1].leg.ip, 500, 1, web1.vlan ?? 0]] },
    ],
  });
}

describe('the tenant scope of untagged NetFlow records', () => {
  it('without a scope, overlay addresses in untagged records match no pod', () => {
    const c = collecting();
    const m = datagram();
    c.intake.receive(m, 0, m.length, '192.0.2.9', T_US);
    expect(c.seen.map((s) => [s.src, s.dst, s.vlan, s.vni])).toEqual([
      [null, null, 0, -1],
      ['web-1', 'web-2', 100, -1],
    ]);
  });

  it('per exporter first, then for all: the untagged records take the scope, tagged ones keep their VLAN', () => {
    const c = collecting({
      scopes: {
        all: parseUntaggedScope('vlan:100'),
        byExporter: new Map([['192.0.2.9', parseUntaggedScope(`vni:${VNI}`)]]),
      },
    });
    const m = datagram();
    c.intake.receive(m, 0, m.length, '192.0.2.9', T_US);
    c.intake.receive(m, 0, m.length, '192.0.2.10', T_US);
    expect(c.seen.map((s) => [s.exporter, s.src, s.dst, s.vlan, s.vni])).toEqual([
      ['192.0.2.9', 'api-0', 'api-1', 0, VNI],
      ['192.0.2.9', 'web-1', 'web-2', 100, -1],
      // VLAN 100 holds no overlay addresses: the other exporter's untagged records stay unmatched
      ['192.0.2.10', null, null, 100, -1],
      ['192.0.2.10', 'web-1', 'web-2', 100, -1],
    ]);
  });

  it('the config names bad scopes by path', () => {
    const r = allConfigSchema.safeParse({
      mirror: { type: 'netflow', untaggedScope: 'vlan:0', exporterScopes: { '10.0.0.1': 'vni:x' } },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['mirror.exporterScopes.10.0.0.1', 'mirror.untaggedScope']);
  });
});
