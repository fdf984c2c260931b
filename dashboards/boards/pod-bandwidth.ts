/**
 * Pod bandwidth: one pod's VF against its performance tier — transmit with the guaranteed
 * minimum and the allowed maximum drawn as bands, receive, drops — and, from the store, the
 * peers it talks to and its sampled flows next to its VF counters (the two views agree).
 */
import {
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { flows_1m, vf_counters } from '../../ingest/schema.js';
import { dsRef } from '../datasources.js';
import { rate, sel } from '../metrics.js';
import { Board, limitLine, prom, sql, statPanel, tablePanel, timeseriesPanel } from '../panels.js';
import { bucket, sqlTable, sqlVar } from '../sql.js';
import type { BoardOptions, ModelOptions } from './options.js';

const POD = { namespace: '$namespace', pod: '$pod' } as const;

/** Bits per second of one of the pod's VF byte counters. */
const bits = (metric: string) => `(sum(${rate(metric, POD)}) * 8)`;
const packets = (metric: string) => `sum(${rate(metric, POD)})`;
const tierLimit = (metric: string) => `(max(${sel(metric, POD)}) * 8)`;

function variables() {
  const vfPods = sel('podwire_vf_info', { pod: ['!=', ''] });
  const nsPods = sel('podwire_vf_info', { namespace: '$namespace', pod: ['!=', ''] });
  const v = (name: string, label: string, query: string) =>
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(dsRef('prometheus'))
      .query(query)
      .definition(query)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc);
  return [
    v('namespace', 'Namespace', `label_values(${vfPods}, namespace)`),
    v('pod', 'Pod', `label_values(${nsPods}, pod)`),
  ];
}

/** Peers of the pod over the range, both directions, from the 1-minute rollup. */
function topPeersSql(database: string): string {
  const t = sqlTable(flows_1m, database);
  const { c } = t;
  const ns = sqlVar('namespace');
  const pod = sqlVar('pod');
  const peer = (side: 'src' | 'dst') =>
    `if(${c[`${side}_pod`]} = '', '(unattributed)', concat(${c[`${side}_namespace`]}, '/', ${c[`${side}_pod`]}))`;
  return `SELECT peer, sum(tx) AS bytes_sent, sum(rx) AS bytes_received, sum(tx + rx) AS bytes_total
FROM (
  SELECT ${peer('dst')} AS peer, ${c.bytes} AS tx, 0 AS rx
  FROM ${t.ref}
  WHERE ${t.timeFilter} AND ${c.src_namespace} = ${ns} AND ${c.src_pod} = ${pod}
  UNION ALL
  SELECT ${peer('src')} AS peer, 0 AS tx, ${c.bytes} AS rx
  FROM ${t.ref}
  WHERE ${t.timeFilter} AND ${c.dst_namespace} = ${ns} AND ${c.dst_pod} = ${pod}
)
GROUP BY peer
ORDER BY bytes_total DESC
LIMIT 10`;
}

/** The pod's transmit from its sampled flows (scaled back by the sampling rate). */
function flowTransmitSql(database: string): string {
  const t = sqlTable(flows_1m, database);
  const { c } = t;
  const b = bucket(t.time, 60);
  return `SELECT ${b.start} AS t, ${b.bitsPerSecond(`sum(${c.bytes})`)} AS \`flows (sampled, scaled)\`
FROM ${t.ref}
WHERE ${t.timeFilter} AND ${c.src_namespace} = ${sqlVar('namespace')} AND ${c.src_pod} = ${sqlVar('pod')}
GROUP BY t
ORDER BY t`;
}

/** The pod's transmit from the VF counter deltas the store keeps. */
function counterTransmitSql(database: string): string {
  const t = sqlTable(vf_counters, database);
  const { c } = t;
  const b = bucket(t.time, 60);
  return `SELECT ${b.start} AS t, ${b.bitsPerSecond(`sum(${c.tx_bytes})`)} AS \`VF counters\`
FROM ${t.ref}
WHERE ${t.timeFilter} AND ${c.namespace} = ${sqlVar('namespace')} AND ${c.pod} = ${sqlVar('pod')}
GROUP BY t
ORDER BY t`;
}

export function podBandwidth(o: BoardOptions & ModelOptions) {
  const ceiling = o.model.alerts.ceilingRatio;
  const board = new Board({
    uid: 'podwire-pod',
    title: 'podwire / Pod bandwidth',
    description:
      "One pod's VF against its performance tier: transmit within the guaranteed minimum and the allowed maximum, receive, drops, and from the store its peers and its flows next to its VF counters.",
    datasources: ['prometheus', 'clickhouse'],
    uids: o.uids,
    variables: variables(),
  });

  board.row('Contract');
  board.panel(
    tablePanel(
      {
        title: 'VF and tier',
        description: "The pod's VF as the NIC reports it: node, PF and VF index, VLAN, MAC, QoS and tier.",
      },
      [prom(sel('podwire_vf_info', POD), '', { instant: true, table: true })],
      { hide: ['Time', 'Value', '__name__', 'job', 'instance'] },
    ),
    24,
    4,
  );
  const stats: [string, string, string][] = [
    ['Transmit now', bits('podwire_vf_transmit_bytes_total'), 'What the VF sends now, bits per second.'],
    [
      'Guaranteed minimum',
      tierLimit('podwire_vf_tier_min_bytes_per_second'),
      "The VF's configured minimum transmit rate (its tier's guarantee); 0 for best effort.",
    ],
    [
      'Allowed maximum',
      tierLimit('podwire_vf_tier_max_bytes_per_second'),
      "The VF's configured maximum transmit rate (its tier's ceiling).",
    ],
  ];
  for (const [title, expr, description] of stats) {
    board.panel(
      statPanel({ title, description }, [prom(expr, title, { instant: true })], {
        unit: 'bps',
        base: 'blue',
      }),
      6,
      4,
    );
  }
  board.panel(
    statPanel(
      {
        title: 'Use of the maximum',
        description: `Transmit now as a share of the allowed maximum: near 100 % the NIC throttles the pod (red from ${Math.round(ceiling * 1000) / 10} %, the at-ceiling alert's threshold).`,
      },
      [
        prom(
          `${bits('podwire_vf_transmit_bytes_total')} / ${tierLimit('podwire_vf_tier_max_bytes_per_second')}`,
          'use',
          { instant: true },
        ),
      ],
      {
        unit: 'percentunit',
        thresholds: [
          [Math.min(0.8, ceiling), 'orange'],
          [ceiling, 'red'],
        ],
      },
    ),
    6,
    4,
  );

  board.row('Bandwidth');
  const tx = timeseriesPanel(
    {
      title: 'Transmit against the tier',
      description:
        'What the VF sends, bits per second, between the guaranteed minimum (red, dashed) and the allowed maximum (orange, dashed). Below the minimum with drops is a breach; at the maximum with drops, throttling.',
    },
    [
      prom(bits('podwire_vf_transmit_bytes_total'), 'transmit'),
      prom(tierLimit('podwire_vf_tier_min_bytes_per_second'), 'guaranteed minimum'),
      prom(tierLimit('podwire_vf_tier_max_bytes_per_second'), 'allowed maximum'),
    ],
    { unit: 'bps', min: 0 },
  );
  limitLine(tx, 'guaranteed minimum', 'red');
  limitLine(tx, 'allowed maximum', 'orange');
  board.panel(tx, 12, 9);
  board.panel(
    timeseriesPanel(
      {
        title: 'Receive',
        description: 'What the VF receives, bits per second. The tier limits transmit only.',
      },
      [prom(bits('podwire_vf_receive_bytes_total'), 'receive')],
      { unit: 'bps', min: 0 },
    ),
    12,
    9,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Drops',
        description:
          "Packets dropped per second: by the NIC's QoS scheduler (above the maximum, or beyond the pod's share under contention), on transmit and on receive.",
      },
      [
        prom(packets('podwire_vf_qos_dropped_packets_total'), 'QoS'),
        prom(packets('podwire_vf_transmit_dropped_packets_total'), 'transmit'),
        prom(packets('podwire_vf_receive_dropped_packets_total'), 'receive'),
      ],
      { unit: 'pps', min: 0 },
    ),
    12,
    8,
  );
  board.panel(
    timeseriesPanel(
      { title: 'Packets', description: 'Packets the VF sends and receives, per second.' },
      [
        prom(packets('podwire_vf_transmit_packets_total'), 'transmit'),
        prom(packets('podwire_vf_receive_packets_total'), 'receive'),
      ],
      { unit: 'pps', min: 0 },
    ),
    12,
    8,
  );

  board.row('Flows (ClickHouse)');
  board.panel(
    tablePanel(
      {
        title: 'Top peers',
        description:
          'The pods this pod exchanged most bytes with over the time range, both directions, from its sampled flows (1-minute rollup; bytes scaled by the sampling rate).',
      },
      [sql(topPeersSql(o.database))],
      { units: { bytes_sent: 'bytes', bytes_received: 'bytes', bytes_total: 'bytes' } },
    ),
    12,
    9,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Transmit: flows and VF counters',
        description:
          "The pod's transmit two ways, bits per second per minute or more: its sampled flows scaled back by the sampling rate, and its VF counter deltas. They should agree within about 10 %.",
      },
      [sql(flowTransmitSql(o.database), 'timeseries'), sql(counterTransmitSql(o.database), 'timeseries')],
      { unit: 'bps', min: 0 },
    ),
    12,
    9,
  );
  return board.build();
}
