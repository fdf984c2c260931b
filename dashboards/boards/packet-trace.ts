/**
 * Packet trace: "which pod sent this?" — the packet samples in the store, found by MAC, IP,
 * VLAN, VNI or pod (either direction), with who sent and who received each, as the API's
 * /api/v1/packets answers it. Every filter is a text box; empty means any.
 */
import { TextBoxVariableBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { packet_samples } from '../../ingest/schema.js';
import { Board, sql, tablePanel, timeseriesPanel } from '../panels.js';
import { protocolName, sqlTable, sqlVar } from '../sql.js';
import type { BoardOptions } from './options.js';

type Samples = ReturnType<typeof sqlTable<typeof packet_samples>>;

export const PACKET_FILTERS = ['mac', 'ip', 'vlan', 'vni', 'namespace', 'pod'] as const;

const LABELS: Record<(typeof PACKET_FILTERS)[number], string> = {
  mac: 'MAC',
  ip: 'IP',
  vlan: 'VLAN',
  vni: 'VNI',
  namespace: 'Namespace',
  pod: 'Pod',
};

/** Every filter given, either side for MAC, IP, namespace and pod (as ingest/queries.ts packetTrace). */
function filters(t: Samples): string {
  const c = t.c;
  const either = (name: string, src: string, dst: string, value: (v: string) => string) => {
    const v = sqlVar(name);
    return `(${v} = '' OR ${src} = ${value(v)} OR ${dst} = ${value(v)})`;
  };
  const number = (name: string, col: string, type: string) =>
    `(${sqlVar(name)} = '' OR ${col} = to${type}OrNull(${sqlVar(name)}))`;
  return [
    either('mac', c.src_mac, c.dst_mac, (v) => `MACStringToNum(${v})`),
    either('ip', c.src_ip, c.dst_ip, (v) => `toIPv6OrNull(${v})`),
    number('vlan', c.vlan, 'UInt16'),
    number('vni', c.vni, 'Int32'),
    either('namespace', c.src_namespace, c.dst_namespace, (v) => v),
    either('pod', c.src_pod, c.dst_pod, (v) => v),
  ].join('\n  AND ');
}

/** An address as text: IPv4 without its ::ffff: prefix. */
const ip = (col: string) => `replaceRegexpOne(toString(${col}), '^::ffff:', '')`;
const endpoint = (ns: string, pod: string) => `if(${pod} = '', '', concat(${ns}, '/', ${pod}))`;

export function packetTrace(o: BoardOptions) {
  const t = sqlTable(packet_samples, o.database);
  const c = t.c;
  const board = new Board({
    uid: 'podwire-packets',
    title: 'podwire / Packet trace',
    description:
      'Which pod sent this? Packet samples from the store, found by MAC, IP, VLAN, VNI or pod (either direction), with the pods and nodes that sent and received each.',
    datasources: ['clickhouse'],
    uids: o.uids,
    variables: PACKET_FILTERS.map((name) =>
      new TextBoxVariableBuilder(name)
        .label(LABELS[name])
        .description(`Only packets with this ${LABELS[name]} (empty: any).`),
    ),
    from: 'now-15m',
  });
  const where = `WHERE ${t.timeFilter}\n  AND ${filters(t)}`;

  board.panel(
    timeseriesPanel(
      {
        title: 'Matching samples',
        description:
          'Packet samples matching the filters per second, by whether both sides were attributed to a pod (each sample stands for sampling-rate packets).',
      },
      [
        sql(
          `SELECT $__timeInterval(${t.time}) AS t,
  multiIf(${c.src_pod} != '' AND ${c.dst_pod} != '', 'attributed', ${c.src_pod} != '' OR ${c.dst_pod} != '', 'one side attributed', 'unattributed') AS attribution,
  count() / $__interval_s AS samples_per_second
FROM ${t.ref}
${where}
GROUP BY t, attribution
ORDER BY t`,
          'timeseries',
        ),
      ],
      { unit: 'short', min: 0, stack: true },
    ),
    24,
    6,
  );
  board.panel(
    tablePanel(
      {
        title: 'Packet samples',
        description:
          "The matching samples, oldest first (at most 1000): addresses of the pod's own frame (inner for VXLAN), who sent and received it, and the first 128 bytes of the frame as captured.",
      },
      [
        sql(`SELECT ${t.time} AS sampled_at, ${c.observation} AS observation, ${c.vlan} AS vlan_id, ${c.vni} AS vni_id,
  MACNumToString(${c.src_mac}) AS source_mac, MACNumToString(${c.dst_mac}) AS destination_mac,
  ${ip(c.src_ip)} AS source_ip, ${ip(c.dst_ip)} AS destination_ip,
  ${protocolName(c.protocol)} AS proto, ${c.src_port} AS source_port, ${c.dst_port} AS destination_port,
  ${endpoint(c.src_namespace, c.src_pod)} AS sender, ${c.src_node} AS sender_node,
  ${endpoint(c.dst_namespace, c.dst_pod)} AS receiver, ${c.dst_node} AS receiver_node,
  ${c.frame_length} AS frame_bytes, ${c.sampling_rate} AS one_in, lower(hex(${c.frame})) AS frame_hex
FROM ${t.ref}
${where}
ORDER BY sampled_at
LIMIT 1000`),
      ],
      { units: { frame_bytes: 'bytes' } },
    ),
    24,
    14,
  );
  return board.build();
}
