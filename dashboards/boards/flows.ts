/**
 * Flows and top talkers, from the store: who talks to whom (pod pairs), by namespace, VLAN,
 * VNI, protocol and observation point. Read from the 1-minute rollup (every key these panels
 * group by is in it; buckets of at least a minute), with the same groupings as the API's
 * top talkers (ingest/queries.ts TALKER_KEYS).
 */
import {
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { TALKER_KEYS, type TalkerKey } from '../../ingest/queries.js';
import { flows_1m } from '../../ingest/schema.js';
import { dsRef } from '../datasources.js';
import { Board, piePanel, sql, tablePanel, timeseriesPanel } from '../panels.js';
import { ALL_VALUE, bucket, isAll, protocolName, sqlTable, sqlVar } from '../sql.js';
import type { BoardOptions } from './options.js';

type Rollup = ReturnType<typeof sqlTable<typeof flows_1m>>;

/** Flows touching the selected namespace (either side), or all when none is selected. */
const namespaceFilter = (t: Rollup) =>
  `(${isAll('namespace')} OR ${t.c.src_namespace} = ${sqlVar('namespace')} OR ${t.c.dst_namespace} = ${sqlVar('namespace')})`;

const where = (t: Rollup, extra?: string) =>
  `WHERE ${t.timeFilter} AND ${namespaceFilter(t)}${extra === undefined ? '' : ` AND (${extra})`}`;

/** Top talkers by one of the API's keys, with bytes, packets, flows and their share. */
function talkersSql(t: Rollup, by: TalkerKey, limit = 20): string {
  const k = TALKER_KEYS[by];
  const c = t.c;
  return `SELECT ${k.select}, sum(${c.bytes}) AS bytes, sum(${c.packets}) AS packets, sum(${c.flows}) AS flows,
  bytes / sum(bytes) OVER () AS share
FROM ${t.ref}
${where(t, k.where)}
GROUP BY ${k.group}
ORDER BY bytes DESC
LIMIT ${limit}`;
}

function namespaceVariable(t: Rollup) {
  const q = `SELECT DISTINCT ${t.c.src_namespace} FROM ${t.ref} WHERE ${t.timeFilter} AND ${t.c.src_namespace} != '' ORDER BY 1`;
  return new QueryVariableBuilder('namespace')
    .label('Namespace')
    .datasource(dsRef('clickhouse'))
    .query({ refId: 'namespace', queryType: 'sql', editorType: 'sql', rawSql: q })
    .definition(q)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .includeAll(true)
    .allValue(ALL_VALUE)
    .current({ selected: true, text: 'All', value: '$__all' });
}

const UNITS = { bytes: 'bytes', packets: 'short', flows: 'short', share: 'percentunit' };

export function flowsBoard(o: BoardOptions) {
  const t = sqlTable(flows_1m, o.database);
  const c = t.c;
  const b = bucket(t.time, 60);
  const board = new Board({
    uid: 'podwire-flows',
    title: 'podwire / Flows and top talkers',
    description:
      'Who talks to whom, from the sampled flows in the store (bytes scaled by the sampling rate): pod pairs, namespaces, VLANs, VNIs, protocols and observation points.',
    datasources: ['clickhouse'],
    uids: o.uids,
    variables: [namespaceVariable(t)],
  });

  board.row('Traffic');
  board.panel(
    timeseriesPanel(
      {
        title: 'Traffic by source namespace',
        description:
          'Bits per second sent by each namespace (flows, per minute or more); unattributed traffic on its own line.',
      },
      [
        sql(
          `SELECT ${b.start} AS t, if(${c.src_namespace} = '', '(unattributed)', ${c.src_namespace}) AS namespace,
  ${b.bitsPerSecond(`sum(${c.bytes})`)} AS bits_per_second
FROM ${t.ref}
${where(t)}
GROUP BY t, namespace
ORDER BY t`,
          'timeseries',
        ),
      ],
      { unit: 'bps', min: 0, stack: true },
    ),
    16,
    8,
  );
  board.panel(
    piePanel(
      { title: 'Protocols', description: 'Bytes by IP protocol over the time range.' },
      [
        sql(`SELECT ${protocolName(c.protocol)} AS protocol, sum(${c.bytes}) AS bytes
FROM ${t.ref}
${where(t)}
GROUP BY protocol
ORDER BY bytes DESC`),
      ],
      'bytes',
    ),
    8,
    8,
  );

  board.row('Top talkers');
  board.panel(
    tablePanel(
      {
        title: 'Top pod pairs',
        description:
          'Source and destination pods exchanging the most bytes over the time range (empty: unattributed).',
      },
      [sql(talkersSql(t, 'pair'))],
      { units: UNITS },
    ),
    16,
    10,
  );
  board.panel(
    tablePanel(
      { title: 'Top namespaces', description: 'Source namespaces by bytes sent over the time range.' },
      [sql(talkersSql(t, 'namespace'))],
      { units: UNITS },
    ),
    8,
    10,
  );
  board.panel(
    tablePanel(
      { title: 'Top pods', description: 'Pods by bytes sent over the time range.' },
      [sql(talkersSql(t, 'pod'))],
      { units: UNITS },
    ),
    8,
    9,
  );
  board.panel(
    tablePanel(
      { title: 'Top VLANs', description: 'L2 traffic (not tunnelled) by VLAN, over the time range.' },
      [sql(talkersSql(t, 'vlan'))],
      { units: UNITS },
    ),
    8,
    9,
  );
  board.panel(
    tablePanel(
      { title: 'Top VNIs', description: 'Overlay (VXLAN) traffic by VNI, over the time range.' },
      [sql(talkersSql(t, 'vni'))],
      { units: UNITS },
    ),
    8,
    9,
  );

  board.row('Observation points');
  board.panel(
    tablePanel(
      {
        title: 'Observation points',
        description:
          'Where the traffic was seen (an ERSPAN session, an sFlow agent and ifIndex, a capture interface): bytes, packets actually sampled, flows.',
      },
      [
        sql(`SELECT ${c.observation} AS observation, sum(${c.bytes}) AS bytes, sum(${c.samples}) AS samples,
  sum(${c.flows}) AS flows, bytes / sum(bytes) OVER () AS share
FROM ${t.ref}
${where(t)}
GROUP BY observation
ORDER BY bytes DESC`),
      ],
      { units: { ...UNITS, samples: 'short' } },
    ),
    12,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Traffic by observation point',
        description: 'Bits per second seen at each observation point (flows, per minute or more).',
      },
      [
        sql(
          `SELECT ${b.start} AS t, ${c.observation} AS observation, ${b.bitsPerSecond(`sum(${c.bytes})`)} AS bits_per_second
FROM ${t.ref}
${where(t)}
GROUP BY t, observation
ORDER BY t`,
          'timeseries',
        ),
      ],
      { unit: 'bps', min: 0 },
    ),
    12,
    8,
  );
  return board.build();
}
