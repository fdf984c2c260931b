/**
 * Cluster overview: how much of each node's pod data plane (its SR-IOV VFs) is used, which
 * pods use it most, where the NIC's QoS scheduler drops, and the SLA alerts firing now. The
 * rates are the SLA rules' recordings (alerts/rules.ts) and the capacity is the alerts'
 * `nodeCapacityBps`, so the panels show what the saturation alert judges.
 */
import {
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { dsRef } from '../datasources.js';
import { RuleMetrics, sel } from '../metrics.js';
import {
  Board,
  barGaugePanel,
  capacityLine,
  prom,
  statPanel,
  tablePanel,
  timeseriesPanel,
} from '../panels.js';
import { ALL_VALUE } from '../sql.js';
import type { BoardOptions, ModelOptions } from './options.js';

const NODE = { node: ['=~', '$node'] } as const;
const PODS = { pod: ['!=', ''] } as const;
const POD_LABELS = 'namespace, pod, node, tier';

export function clusterOverview(o: BoardOptions & ModelOptions) {
  const node = new QueryVariableBuilder('node')
    .label('Node')
    .datasource(dsRef('prometheus'))
    .query(`label_values(${sel('podwire_vf_info')}, node)`)
    .definition(`label_values(${sel('podwire_vf_info')}, node)`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(ALL_VALUE)
    .current({ selected: true, text: 'All', value: '$__all' });

  const a = o.model.alerts;
  const capacity = a.nodeCapacityBps;
  const rules = new RuleMetrics(o.model);
  const R = rules.R;
  const DIRECTIONS = [
    ['transmit', R.nodeTransmitRate, R.vfTransmitRate],
    ['receive', R.nodeReceiveRate, R.vfReceiveRate],
  ] as const;
  /** a node's VF traffic in one direction, bits per second */
  const nodeBits = (record: string) => `${rules.sel(record, NODE)} * 8`;
  const board = new Board({
    uid: 'podwire-cluster',
    title: 'podwire / Cluster overview',
    description:
      'Pod data plane use per node (the SR-IOV VFs of its SmartNIC), the pods that use it most, QoS drops and the SLA alerts firing now.',
    datasources: ['prometheus'],
    uids: o.uids,
    variables: [node],
  });

  board.row('Data plane');
  board.panel(
    statPanel(
      {
        title: 'Pods on VFs',
        description: 'Pods with a VF bound to them now (podwire_vf_info with a pod).',
      },
      [prom(`count(${sel('podwire_vf_info', { ...NODE, ...PODS })})`, 'pods', { instant: true })],
      { unit: 'short', base: 'blue' },
    ),
    4,
    4,
  );
  for (const [dir, node] of DIRECTIONS) {
    board.panel(
      statPanel(
        {
          title: `${dir[0]!.toUpperCase()}${dir.slice(1)}, all pods`,
          description: `What every VF of the selected nodes ${dir === 'transmit' ? 'sends' : 'receives'}, bits per second (VF counters, ${node}).`,
        },
        [prom(`sum(${nodeBits(node)})`, dir, { instant: true })],
        { unit: 'bps', base: 'blue' },
      ),
      5,
      4,
    );
  }
  board.panel(
    statPanel(
      {
        title: 'QoS drops',
        description:
          "Packets the NICs' QoS schedulers drop, per second, over the selected nodes: a pod above its maximum, or beyond its share under contention.",
      },
      [prom(`sum(${rules.sel(R.vfQosDropRate, NODE)})`, 'drops', { instant: true })],
      { unit: 'pps', thresholds: [[1, 'orange']] },
    ),
    5,
    4,
  );
  board.panel(
    statPanel(
      {
        title: 'SLA alerts firing',
        description:
          'podwire SLA and collection alerts firing now in Prometheus (ALERTS, from the rules `podwire rules` generates); 0 when none.',
      },
      [
        prom(`count(${rules.alerts({ alertstate: 'firing' })}) or vector(0)`, 'firing', {
          instant: true,
        }),
      ],
      { unit: 'short', thresholds: [[1, 'red']] },
    ),
    5,
    4,
  );

  for (const [dir, node] of DIRECTIONS) {
    const p = timeseriesPanel(
      {
        title: `Data plane use per node, ${dir}`,
        description: `Each node's VF ${dir} traffic, bits per second (${node}), against its pod data-plane capacity (${capacity / 1e9} Gb/s per direction, the dashed line).`,
      },
      [prom(nodeBits(node), '{{node}}')],
      { unit: 'bps', min: 0 },
    );
    capacityLine(p, capacity);
    board.panel(p, 12, 8);
  }
  board.panel(
    barGaugePanel(
      {
        title: 'Data plane use per node, now',
        description: `Each node's busier direction (transmit or receive) as a share of its pod data-plane capacity (${capacity / 1e9} Gb/s); red above ${Math.round(a.nodeSaturationRatio * 100)} %, where the saturation alert starts counting.`,
      },
      [
        prom(
          `max by (node) (label_replace(${nodeBits(R.nodeTransmitRate)}, "direction", "transmit", "", "") or label_replace(${nodeBits(R.nodeReceiveRate)}, "direction", "receive", "", "")) / ${capacity}`,
          '{{node}}',
          { instant: true },
        ),
      ],
      {
        unit: 'percentunit',
        min: 0,
        max: 1,
        thresholds: [
          [Math.min(0.75, a.nodeSaturationRatio), 'orange'],
          [a.nodeSaturationRatio, 'red'],
        ],
      },
    ),
    8,
    7,
  );
  board.panel(
    barGaugePanel(
      {
        title: 'VFs in use per node',
        description: 'VFs bound to a pod, per node (a SmartNIC has at most 64).',
      },
      [
        prom(`count by (node) (${sel('podwire_vf_info', { ...NODE, ...PODS })})`, '{{node}}', {
          instant: true,
        }),
      ],
      {
        unit: 'short',
        min: 0,
        max: 64,
        thresholds: [
          [56, 'orange'],
          [64, 'red'],
        ],
      },
    ),
    8,
    7,
  );
  board.panel(
    timeseriesPanel(
      {
        title: 'QoS drops per node',
        description: "Packets each node's QoS scheduler drops, per second.",
      },
      [prom(`sum by (node) (${rules.sel(R.vfQosDropRate, NODE)})`, '{{node}}')],
      { unit: 'pps', min: 0 },
    ),
    8,
    7,
  );

  board.row('Top pods');
  for (const [dir, , vf] of DIRECTIONS) {
    board.panel(
      tablePanel(
        {
          title: `Top pods by ${dir}`,
          description: `The ten pods whose VFs ${dir === 'transmit' ? 'send' : 'receive'} most now, bits per second (${vf}).`,
        },
        [
          prom(`topk(10, sum by (${POD_LABELS}) (${rules.sel(vf, { ...NODE, ...PODS })}) * 8)`, '', {
            instant: true,
            table: true,
          }),
        ],
        { units: { Value: 'bps' }, hide: ['Time'], sortBy: 'Value' },
      ),
      12,
      9,
    );
  }

  board.row('Alerts');
  board.panel(
    tablePanel(
      {
        title: 'Active alerts',
        description:
          'podwire alerts pending or firing in Prometheus now, with their labels (pod, tier, node…). The runbook of each is in alerts/README.md.',
      },
      [prom(rules.alerts(), '', { instant: true, table: true })],
      { hide: ['Time', 'Value', '__name__'] },
    ),
    24,
    8,
  );
  return board.build();
}
