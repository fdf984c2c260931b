/**
 * Collector health: is podwire seeing everything? NIC source errors and staleness, endpoint
 * sources, sFlow loss, the flow tables, the store's writers and spool, the share of traffic
 * no pod could be found for, and the event loop every part shares.
 */
import { flows_1m } from '../../ingest/schema.js';
import { rate, sel } from '../metrics.js';
import { Board, capacityLine, prom, sql, statPanel, timeseriesPanel } from '../panels.js';
import { bucket, sqlTable } from '../sql.js';
import type { BoardOptions, ModelOptions } from './options.js';

/** Share of flow bytes per bucket with neither side attributed, and with one side only. */
function unattributedSql(database: string): string {
  const t = sqlTable(flows_1m, database);
  const { c } = t;
  const b = bucket(t.time, 60);
  return `SELECT ${b.start} AS t,
  sumIf(${c.bytes}, ${c.src_pod} = '' AND ${c.dst_pod} = '') / sum(${c.bytes}) AS \`neither side\`,
  sumIf(${c.bytes}, (${c.src_pod} = '') != (${c.dst_pod} = '')) / sum(${c.bytes}) AS \`one side only\`
FROM ${t.ref}
WHERE ${t.timeFilter}
GROUP BY t
ORDER BY t`;
}

export function collectorHealth(o: BoardOptions & ModelOptions) {
  const board = new Board({
    uid: 'podwire-health',
    title: 'podwire / Collector health',
    description:
      'Is podwire seeing everything? NIC and endpoint source errors, sFlow loss, the flow tables, the store and its spool, unattributed traffic and event-loop lag.',
    datasources: ['prometheus', 'clickhouse'],
    uids: o.uids,
  });

  board.row('Now');
  board.panel(
    statPanel(
      {
        title: 'NIC sources failing',
        description:
          'NIC sources whose last read failed or reported errors (podwire_collector_scrape_success 0).',
      },
      [
        prom(`count(${sel('podwire_collector_scrape_success')} == 0) or vector(0)`, 'failing', {
          instant: true,
        }),
      ],
      { unit: 'short', thresholds: [[1, 'red']] },
    ),
    6,
    4,
  );
  board.panel(
    statPanel(
      {
        title: 'Store spooling',
        description: 'Tables whose writer is spooling to disk now because the store is down or failing.',
      },
      [prom(`sum(${sel('podwire_ingest_spooling')})`, 'spooling', { instant: true })],
      { unit: 'short', thresholds: [[1, 'red']] },
    ),
    6,
    4,
  );
  board.panel(
    statPanel(
      {
        title: 'Rows lost',
        description:
          'Rows the writers could not store nor spool over the time range (spool errors, bad data set aside, times a column cannot hold), all tables.',
      },
      [
        prom(`sum(increase(${sel('podwire_ingest_rows_dropped_total')}[$__range]))`, 'lost', {
          instant: true,
        }),
      ],
      { unit: 'short', thresholds: [[1, 'red']] },
    ),
    6,
    4,
  );
  board.panel(
    statPanel(
      {
        title: 'Event-loop lag p99',
        description:
          "99th percentile of the event loop's delay over the last 10 s: /metrics, the API and the packet path all wait this long.",
      },
      [prom(`max(${sel('podwire_event_loop_lag_p99_seconds')})`, 'p99', { instant: true })],
      {
        unit: 's',
        thresholds: [
          [0.05, 'orange'],
          [0.2, 'red'],
        ],
      },
    ),
    6,
    4,
  );

  board.row('NIC and endpoint sources');
  board.panel(
    timeseriesPanel(
      {
        title: 'NIC source errors',
        description:
          'Failed or erroring reads per second, by NIC source (iproute2, sysfs, netdev, tc, demo).',
      },
      [prom(`sum by (source) (${rate('podwire_collector_scrape_errors_total')})`, '{{source}}')],
      { unit: 'ops', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Since the last good read',
        description:
          'Seconds since each NIC source last read without errors: VF counters go stale when this grows.',
      },
      [
        prom(
          `time() - ${sel('podwire_collector_last_success_timestamp_seconds')} and ${sel('podwire_collector_last_success_timestamp_seconds')} > 0`,
          '{{source}}',
        ),
      ],
      { unit: 's', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Endpoint source errors and conflicts',
        description:
          'Per second: errors of the endpoint sources (bad input dropped, API or file errors), and live bindings that claimed an address another held.',
      },
      [
        prom(`sum by (source) (${rate('podwire_endpoint_source_errors_total')})`, 'errors {{source}}'),
        prom(`sum by (kind) (${rate('podwire_endpoint_conflicts_total')})`, 'conflicts ({{kind}})'),
      ],
      { unit: 'ops', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Counter corrections',
        description:
          'Device counter readings the counter math corrected, per second: resets, 32-bit wraps, absurd jumps, invalid values.',
      },
      [prom(`sum by (event) (${rate('podwire_collector_device_anomalies_total')})`, '{{event}}')],
      { unit: 'ops', min: 0 },
    ),
    8,
    7,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Devices without a pod',
        description: 'VFs and netdevs in the last collection that no endpoint of the inventory is bound to.',
      },
      [prom(sel('podwire_collector_unattributed_devices'), '{{kind}}')],
      { unit: 'short', min: 0 },
    ),
    8,
    7,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Collection time',
        description:
          'How long the last NIC collection took (reading every source, counter math, rendering /metrics).',
      },
      [prom(sel('podwire_collector_collection_duration_seconds'), 'collection')],
      { unit: 's', min: 0 },
    ),
    8,
    7,
  );

  board.row('sFlow');
  board.panel(
    timeseriesPanel(
      {
        title: 'sFlow sample loss',
        description:
          'Share of flow samples lost per agent (sequence gaps) since it was first heard; traffic missing from the flows.',
      },
      [prom(sel('podwire_sflow_sample_loss_ratio'), '{{agent}}')],
      { unit: 'percentunit', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'sFlow samples lost and dropped',
        description:
          'Per second: flow samples lost on the way, samples the agents dropped themselves, datagrams the kernel dropped for podwire.',
      },
      [
        prom(`sum by (agent) (${rate('podwire_sflow_lost_samples_total')})`, 'lost {{agent}}'),
        prom(
          `sum by (agent) (${rate('podwire_sflow_agent_dropped_samples_total')})`,
          'agent dropped {{agent}}',
        ),
        prom(`sum(${rate('podwire_sflow_kernel_drops_total')})`, 'kernel drops'),
      ],
      { unit: 'ops', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'sFlow received',
        description: 'Flow samples and datagrams received per second, and malformed ones by reason.',
      },
      [
        prom(`sum by (agent) (${rate('podwire_sflow_flow_samples_total')})`, 'samples {{agent}}'),
        prom(`sum(${rate('podwire_sflow_malformed_total')})`, 'malformed'),
      ],
      { unit: 'ops', min: 0 },
    ),
    8,
    8,
  );

  board.row('Flows and store');
  board.panel(
    timeseriesPanel(
      {
        title: 'Flow table events',
        description:
          'Per second: packets for windows already closed, times the flow table was full and emitted early, packets stamped far from the input’s time.',
      },
      [
        prom(rate('podwire_flow_late_packets_total'), 'late packets'),
        prom(rate('podwire_flow_table_overflows_total'), 'table full'),
        prom(rate('podwire_flow_time_outliers_total'), 'time outliers'),
      ],
      { unit: 'ops', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Rows stored and spooled',
        description:
          'Rows per second each table’s writer stored, spooled to disk and replayed from the spool.',
      },
      [
        prom(`sum by (table) (${rate('podwire_ingest_rows_written_total')})`, 'stored {{table}}'),
        prom(`sum by (table) (${rate('podwire_ingest_rows_spooled_total')})`, 'spooled {{table}}'),
        prom(`sum by (table) (${rate('podwire_ingest_rows_replayed_total')})`, 'replayed {{table}}'),
      ],
      { unit: 'rps', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Rows lost and insert errors',
        description:
          'Rows per second lost by reason and table, and failed inserts per second (their rows spool).',
      },
      [
        prom(
          `sum by (table, reason) (${rate('podwire_ingest_rows_dropped_total')})`,
          'lost {{table}} {{reason}}',
        ),
        prom(`sum by (table) (${rate('podwire_ingest_insert_errors_total')})`, 'insert errors {{table}}'),
      ],
      { unit: 'ops', min: 0 },
    ),
    8,
    8,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Spool on disk',
        description: 'Bytes waiting in each table’s disk spool to be replayed into the store.',
      },
      [prom(`sum by (table) (${sel('podwire_ingest_spool_bytes')})`, '{{table}}')],
      { unit: 'bytes', min: 0 },
    ),
    6,
    7,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'Insert time p99',
        description: 'How long storing one batch took, 99th percentile, per table.',
      },
      [
        prom(
          `histogram_quantile(0.99, sum by (le, table) (${rate('podwire_ingest_batch_duration_seconds_bucket')}))`,
          '{{table}}',
        ),
      ],
      { unit: 's', min: 0 },
    ),
    6,
    7,
  );
  const unattributed = o.model.alerts.unattributedRatio;
  const share = timeseriesPanel(
    {
      title: 'Unattributed packets',
      description: `Share of the packets (or sFlow samples) handed to attribution of which neither side belongs to a known endpoint, per podwire instance; above ${Math.round(unattributed * 1000) / 10} % (the dashed line) for long, the collection-broken alert fires (unattributed_traffic): the inventory misses endpoints.`,
    },
    [
      prom(
        `sum by (instance) (${rate('podwire_flow_unattributed_packets_total')}) / sum by (instance) (${rate('podwire_flow_packets_total')})`,
        '{{instance}}',
      ),
    ],
    { unit: 'percentunit', min: 0 },
  );
  capacityLine(share, unattributed);
  board.panel(share, 6, 7);
  board.panel(
    timeseriesPanel(
      {
        title: 'Unattributed flow bytes',
        description:
          'Share of flow bytes (from the store, per minute or more) whose sender and receiver were both unknown, and whose one side only was: a stale inventory, or traffic of no pod.',
      },
      [sql(unattributedSql(o.database), 'timeseries')],
      { unit: 'percentunit', min: 0 },
    ),
    6,
    7,
  );

  board.row('Process');
  board.panel(
    timeseriesPanel(
      {
        title: 'Event-loop lag',
        description:
          'Delay of the event loop over each 10 s window, 99th percentile and maximum: how long scrapes, API calls and packets waited.',
      },
      [
        prom(sel('podwire_event_loop_lag_p99_seconds'), 'p99'),
        prom(sel('podwire_event_loop_lag_max_seconds'), 'max'),
      ],
      { unit: 's', min: 0 },
    ),
    8,
    7,
  );
  board.panel(
    timeseriesPanel(
      { title: 'CPU', description: 'CPU time podwire uses, cores (user and system).' },
      [prom(rate('process_cpu_seconds_total'), 'cpu')],
      { unit: 'short', min: 0 },
    ),
    8,
    7,
  );
  board.panel(
    timeseriesPanel(
      { title: 'Memory', description: 'Resident memory of the podwire process.' },
      [prom(sel('process_resident_memory_bytes'), 'rss')],
      { unit: 'bytes', min: 0 },
    ),
    8,
    7,
  );
  return board.build();
}
