/**
 * The exporter's metrics, defined once: name, type, help and labels. The registry renders
 * from this table, the README's metric table is generated from it (`metricsTableMarkdown`,
 * checked by test/exporter/metrics-doc.test.ts), and tests check scraped output against it.
 *
 * Names follow the Prometheus conventions: base units (bytes, seconds; rates in bytes per
 * second, so the tier limits, configured in bits per second, are divided by 8), `_total` on
 * counters only, `_info` gauges of value 1 for labels-only facts.
 */

// The sample fields behind each counter family, in the collector's order: one list each,
// owned by the collector that tracks them.
export {
  NETDEV_COUNTERS as NETDEV_COUNTER_FIELDS,
  QDISC_COUNTERS as QDISC_COUNTER_FIELDS,
  VF_COUNTERS as VF_COUNTER_FIELDS,
} from '../collector/nic/collector.js';

export type MetricType = 'counter' | 'gauge';

/** Where a family's values come from. */
export type MetricGroup =
  | 'vf'
  | 'netdev'
  | 'qdisc'
  | 'endpoint'
  | 'sflow'
  | 'netflow'
  | 'capture'
  | 'flow'
  | 'sla'
  | 'live'
  | 'api'
  | 'collector'
  | 'process';

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly group: MetricGroup;
  readonly help: string;
  readonly labels: readonly string[];
}

/** Every VF series: the VF, and the pod bound to it through the endpoint inventory. */
export const VF_LABELS = [
  'node',
  'pf',
  'vf',
  'namespace',
  'pod',
  'interface',
  'network',
  'vlan',
  'tier',
] as const;
export const VF_INFO_LABELS = [
  ...VF_LABELS,
  'mac',
  'qos',
  'pci_address',
  'spoof_check',
  'trust',
  'link_state',
] as const;
/** `device` is the host's netdev; namespace…tier are the pod behind it (empty when unknown). */
export const NETDEV_LABELS = ['node', 'device', 'namespace', 'pod', 'interface', 'network', 'tier'] as const;
export const QDISC_LABELS = ['node', 'device', 'kind', 'handle', 'parent', 'namespace', 'pod'] as const;
export const ENDPOINT_INFO_LABELS = [
  'node',
  'namespace',
  'pod',
  'interface',
  'network',
  'mode',
  'vlan',
  'vni',
  'mac',
  'tier',
  'pf',
  'vf',
  'static',
] as const;

const def = (
  name: string,
  type: MetricType,
  group: MetricGroup,
  labels: readonly string[],
  help: string,
): MetricDef => ({ name, type, group, labels, help });

/** The VF counters, in the order of VF_COUNTER_FIELDS. */
export const VF_COUNTERS: readonly MetricDef[] = [
  def('podwire_vf_receive_bytes_total', 'counter', 'vf', VF_LABELS, 'Bytes received by the VF.'),
  def('podwire_vf_receive_packets_total', 'counter', 'vf', VF_LABELS, 'Packets received by the VF.'),
  def(
    'podwire_vf_receive_dropped_packets_total',
    'counter',
    'vf',
    VF_LABELS,
    'Received packets the NIC dropped for the VF.',
  ),
  def(
    'podwire_vf_receive_broadcast_packets_total',
    'counter',
    'vf',
    VF_LABELS,
    'Broadcast packets received by the VF.',
  ),
  def(
    'podwire_vf_receive_multicast_packets_total',
    'counter',
    'vf',
    VF_LABELS,
    'Multicast packets received by the VF.',
  ),
  def('podwire_vf_transmit_bytes_total', 'counter', 'vf', VF_LABELS, 'Bytes transmitted by the VF.'),
  def('podwire_vf_transmit_packets_total', 'counter', 'vf', VF_LABELS, 'Packets transmitted by the VF.'),
  def(
    'podwire_vf_transmit_dropped_packets_total',
    'counter',
    'vf',
    VF_LABELS,
    'Transmitted packets the NIC dropped for the VF.',
  ),
  def(
    'podwire_vf_qos_dropped_packets_total',
    'counter',
    'vf',
    VF_LABELS,
    "Packets the NIC's QoS scheduler dropped for the VF (above its maximum, or beyond its share under contention).",
  ),
];

export const VF_TIER_MIN = def(
  'podwire_vf_tier_min_bytes_per_second',
  'gauge',
  'vf',
  VF_LABELS,
  "The VF's guaranteed minimum transmit rate (its tier's minimum), bytes per second; 0 when none.",
);
export const VF_TIER_MAX = def(
  'podwire_vf_tier_max_bytes_per_second',
  'gauge',
  'vf',
  VF_LABELS,
  "The VF's maximum transmit rate (its tier's maximum), bytes per second; absent when unlimited.",
);
export const VF_INFO = def(
  'podwire_vf_info',
  'gauge',
  'vf',
  VF_INFO_LABELS,
  "A VF's configuration as the NIC reports it, and its pod; always 1.",
);

/** The netdev counters, in the order of NETDEV_COUNTER_FIELDS. */
export const NETDEV_COUNTERS: readonly MetricDef[] = [
  def(
    'podwire_netdev_receive_bytes_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    "Bytes received by the host's device (for a pod's host-side veth: what the pod sent).",
  ),
  def(
    'podwire_netdev_receive_packets_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    'Packets received by the device.',
  ),
  def(
    'podwire_netdev_receive_dropped_packets_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    'Received packets the device dropped.',
  ),
  def(
    'podwire_netdev_receive_errors_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    'Receive errors of the device.',
  ),
  def(
    'podwire_netdev_transmit_bytes_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    "Bytes transmitted by the host's device (for a pod's host-side veth: what the pod received).",
  ),
  def(
    'podwire_netdev_transmit_packets_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    'Packets transmitted by the device.',
  ),
  def(
    'podwire_netdev_transmit_dropped_packets_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    'Transmitted packets the device dropped.',
  ),
  def(
    'podwire_netdev_transmit_errors_total',
    'counter',
    'netdev',
    NETDEV_LABELS,
    'Transmit errors of the device.',
  ),
];

/** The qdisc counters, in the order of QDISC_COUNTER_FIELDS. */
export const QDISC_COUNTERS: readonly MetricDef[] = [
  def('podwire_qdisc_sent_bytes_total', 'counter', 'qdisc', QDISC_LABELS, 'Bytes the qdisc or class sent.'),
  def(
    'podwire_qdisc_sent_packets_total',
    'counter',
    'qdisc',
    QDISC_LABELS,
    'Packets the qdisc or class sent.',
  ),
  def(
    'podwire_qdisc_dropped_packets_total',
    'counter',
    'qdisc',
    QDISC_LABELS,
    'Packets the qdisc or class dropped.',
  ),
  def(
    'podwire_qdisc_overlimits_total',
    'counter',
    'qdisc',
    QDISC_LABELS,
    'Times the qdisc or class was over its limit (throttled).',
  ),
  def(
    'podwire_qdisc_requeues_total',
    'counter',
    'qdisc',
    QDISC_LABELS,
    'Packets the qdisc or class requeued.',
  ),
];

export const QDISC_GAUGES: readonly MetricDef[] = [
  def(
    'podwire_qdisc_backlog_bytes',
    'gauge',
    'qdisc',
    QDISC_LABELS,
    'Bytes queued in the qdisc or class now.',
  ),
  def(
    'podwire_qdisc_backlog_packets',
    'gauge',
    'qdisc',
    QDISC_LABELS,
    'Packets queued in the qdisc or class now.',
  ),
];

export const QDISC_GAUGE_FIELDS = ['backlogBytes', 'backlogPackets'] as const;

export const ENDPOINT_INFO = def(
  'podwire_endpoint_info',
  'gauge',
  'endpoint',
  ENDPOINT_INFO_LABELS,
  "An endpoint of the inventory bound now on this exporter's nodes; always 1.",
);

/** Families rendered from the NIC collector state (podwire's own fast renderer), in output order. */
export const NIC_METRICS: readonly MetricDef[] = [
  ...VF_COUNTERS,
  VF_TIER_MIN,
  VF_TIER_MAX,
  VF_INFO,
  ...NETDEV_COUNTERS,
  ...QDISC_COUNTERS,
  ...QDISC_GAUGES,
  ENDPOINT_INFO,
];

/** Self-metrics, kept with prom-client's own Gauge and Counter. */
export const COLLECTOR_METRICS = {
  scrapeDuration: def(
    'podwire_collector_scrape_duration_seconds',
    'gauge',
    'collector',
    ['source'],
    "How long the source's last read took.",
  ),
  scrapeSuccess: def(
    'podwire_collector_scrape_success',
    'gauge',
    'collector',
    ['source'],
    "1 when the source's last read succeeded without errors, else 0.",
  ),
  scrapeErrors: def(
    'podwire_collector_scrape_errors_total',
    'counter',
    'collector',
    ['source'],
    'Reads of the source that failed or reported errors.',
  ),
  lastSuccess: def(
    'podwire_collector_last_success_timestamp_seconds',
    'gauge',
    'collector',
    ['source'],
    'When the source last read successfully, seconds since the epoch; 0 before its first success.',
  ),
  anomalies: def(
    'podwire_collector_device_anomalies_total',
    'counter',
    'collector',
    ['event'],
    'Device counter readings the counter math corrected: reset, wrap (32-bit), jump (absurd, ignored), invalid (ignored).',
  ),
  unattributed: def(
    'podwire_collector_unattributed_devices',
    'gauge',
    'collector',
    ['kind'],
    'Devices (kind vf or netdev) in the last collection that no endpoint of the inventory is bound to.',
  ),
  collectionDuration: def(
    'podwire_collector_collection_duration_seconds',
    'gauge',
    'collector',
    [],
    'How long the last collection took: reading every source, counter math and rendering /metrics.',
  ),
  collections: def('podwire_collector_collections_total', 'counter', 'collector', [], 'Collections done.'),
  overruns: def(
    'podwire_collector_overruns_total',
    'counter',
    'collector',
    [],
    'Collections skipped because the previous one was still running.',
  ),
  series: def(
    'podwire_collector_series',
    'gauge',
    'collector',
    [],
    'Series rendered from the NIC state in the last collection.',
  ),
} as const;

/**
 * The endpoint lifecycle's metrics (collector/endpoints/live-inventory.ts registers them
 * where it runs; the NIC exporter's own registry does not serve them).
 */
export const ENDPOINT_METRICS = {
  live: def(
    'podwire_endpoints_live',
    'gauge',
    'endpoint',
    ['source'],
    'Endpoint bindings live now (bound, not yet unbound), by the source that reported them.',
  ),
  history: def(
    'podwire_endpoints_history',
    'gauge',
    'endpoint',
    [],
    'Ended endpoint bindings kept for attributing older packets (until their retention passes).',
  ),
  events: def(
    'podwire_endpoint_events_total',
    'counter',
    'endpoint',
    ['source', 'kind'],
    'Endpoint events (kind bind or unbind) received from each source, re-emitted unchanged ones included.',
  ),
  conflicts: def(
    'podwire_endpoint_conflicts_total',
    'counter',
    'endpoint',
    ['kind'],
    'Live endpoint bindings that claimed a (scope, MAC) (kind mac) or (scope, IP) (kind ip) another live binding held; the newest wins.',
  ),
  vfsInUse: def(
    'podwire_node_vfs_in_use',
    'gauge',
    'endpoint',
    ['node'],
    "VFs of the node's SmartNIC bound to live L2 endpoints (at most 64).",
  ),
  sourceErrors: def(
    'podwire_endpoint_source_errors_total',
    'counter',
    'endpoint',
    ['source'],
    'Errors of an endpoint source (bad input dropped, API or file errors); the source keeps going.',
  ),
} as const;

/**
 * NetFlow v5/v9/IPFIX intake metrics (collector/netflow/metrics.ts registers them where a
 * NetFlow listener runs). Per exporter (the datagram's source address): what arrived, the
 * templates, the data held for a template and lost waiting, and the sequence loss per
 * observation domain.
 */
export const NETFLOW_METRICS = {
  datagrams: def(
    'podwire_netflow_datagrams_total',
    'counter',
    'netflow',
    ['exporter'],
    'NetFlow/IPFIX datagrams received from an exporter, malformed ones included.',
  ),
  records: def(
    'podwire_netflow_records_total',
    'counter',
    'netflow',
    ['exporter'],
    'Flow records (and packet reports) decoded; each stands for sampling-rate times its packets.',
  ),
  optionsRecords: def(
    'podwire_netflow_options_records_total',
    'counter',
    'netflow',
    ['exporter'],
    'Options data records decoded (sampling configuration, system init time).',
  ),
  templates: def(
    'podwire_netflow_templates',
    'gauge',
    'netflow',
    ['exporter'],
    'Templates and options templates known for an exporter now.',
  ),
  templateUpdates: def(
    'podwire_netflow_template_updates_total',
    'counter',
    'netflow',
    ['exporter'],
    'Template ids re-sent with another layout (the new one replaces the old).',
  ),
  templateMissing: def(
    'podwire_netflow_template_missing_total',
    'counter',
    'netflow',
    ['exporter'],
    'Data sets that arrived before their template; held until it comes.',
  ),
  heldExpired: def(
    'podwire_netflow_held_expired_total',
    'counter',
    'netflow',
    ['exporter'],
    'Held data sets whose template did not come in time (or that did not fit the hold): their records are lost.',
  ),
  lostDatagrams: def(
    'podwire_netflow_lost_datagrams_total',
    'counter',
    'netflow',
    ['exporter', 'domain'],
    'NetFlow v9 export packets missing from the sequence numbers of a source id.',
  ),
  lostRecords: def(
    'podwire_netflow_lost_records_total',
    'counter',
    'netflow',
    ['exporter', 'domain'],
    'IPFIX (and v5) data records missing from the sequence numbers of an observation domain.',
  ),
  samplingRate: def(
    'podwire_netflow_sampling_rate',
    'gauge',
    'netflow',
    ['exporter', 'domain'],
    'Sampling rate applied to the last flow record of an observation domain (1: unsampled).',
  ),
  malformed: def(
    'podwire_netflow_malformed_total',
    'counter',
    'netflow',
    ['reason'],
    'Problems in NetFlow/IPFIX datagrams by reason (the bad part is dropped and counted, never trusted).',
  ),
  exporters: def('podwire_netflow_exporters', 'gauge', 'netflow', [], 'NetFlow/IPFIX exporters tracked now.'),
  exporterOverflow: def(
    'podwire_netflow_exporter_overflow_datagrams_total',
    'counter',
    'netflow',
    [],
    'Datagrams of new exporter addresses while the exporter table was full: dropped.',
  ),
  kernelDrops: def(
    'podwire_netflow_kernel_drops_total',
    'counter',
    'netflow',
    [],
    "Datagrams the kernel dropped for the NetFlow listener's socket (its receive buffer was full).",
  ),
  overloadDrops: def(
    'podwire_netflow_overload_drops_total',
    'counter',
    'netflow',
    [],
    'Datagrams the reader threads read and dropped: the intake had too many batches queued, or they came while stopping.',
  ),
  reordered: def(
    'podwire_netflow_reordered_datagrams_total',
    'counter',
    'netflow',
    [],
    'Datagrams that came after their sequence number had been passed over by the reorder stage (late or duplicate): passed on, not loss.',
  ),
} as const;

/**
 * sFlow intake metrics (collector/sflow/metrics.ts registers them where an sFlow listener
 * runs: `podwire all` with an sflow mirror). Per agent: what arrived and what the sequence
 * numbers say was lost; per interface: the switches' own counter samples as series.
 */
export const SFLOW_METRICS = {
  datagrams: def(
    'podwire_sflow_datagrams_total',
    'counter',
    'sflow',
    ['agent'],
    'sFlow datagrams received from an agent (a switch), malformed ones included.',
  ),
  flowSamples: def(
    'podwire_sflow_flow_samples_total',
    'counter',
    'sflow',
    ['agent'],
    'Flow samples received (each stands for sampling-rate packets).',
  ),
  counterSamples: def(
    'podwire_sflow_counter_samples_total',
    'counter',
    'sflow',
    ['agent'],
    'Counter samples received (interface counters of the switch).',
  ),
  lostDatagrams: def(
    'podwire_sflow_lost_datagrams_total',
    'counter',
    'sflow',
    ['agent'],
    'Datagrams missing from the agent datagram sequence numbers (lost on the way or dropped by the kernel).',
  ),
  lostSamples: def(
    'podwire_sflow_lost_samples_total',
    'counter',
    'sflow',
    ['agent'],
    'Flow samples missing from the per-source sample sequence numbers.',
  ),
  lostPackets: def(
    'podwire_sflow_lost_packets_estimate_total',
    'counter',
    'sflow',
    ['agent'],
    'Packets the lost flow samples stood for (lost samples times their sampling rate): traffic missing from the flows.',
  ),
  lossRatio: def(
    'podwire_sflow_sample_loss_ratio',
    'gauge',
    'sflow',
    ['agent'],
    'Lost flow samples over lost plus received, since the agent was first heard.',
  ),
  lateDatagrams: def(
    'podwire_sflow_late_datagrams_total',
    'counter',
    'sflow',
    ['agent'],
    'Datagrams that arrived after a later-numbered one and filled its gap (reordered on the way): not loss.',
  ),
  duplicateDatagrams: def(
    'podwire_sflow_duplicate_datagrams_total',
    'counter',
    'sflow',
    ['agent'],
    'Datagrams received twice (same number, same agent uptime): counted here, their samples not aggregated again.',
  ),
  agents: def(
    'podwire_sflow_agents',
    'gauge',
    'sflow',
    [],
    'Agents whose state is kept (at most 1024; one not heard for 10 minutes is forgotten, its counts kept in the totals).',
  ),
  agentOverflow: def(
    'podwire_sflow_agent_overflow_datagrams_total',
    'counter',
    'sflow',
    [],
    'Datagrams of new agent addresses while the agent table was full: aggregated as agent "other", no loss tracking.',
  ),
  interfaces: def(
    'podwire_sflow_interfaces',
    'gauge',
    'sflow',
    [],
    'Switch interfaces and VLANs with counter series (bounded; one without counter samples for 10 minutes is forgotten).',
  ),
  interfaceOverflow: def(
    'podwire_sflow_interface_overflow_samples_total',
    'counter',
    'sflow',
    [],
    'Counter samples of new interfaces or VLANs while their table was full: counted, not kept as series.',
  ),
  agentDrops: def(
    'podwire_sflow_agent_dropped_samples_total',
    'counter',
    'sflow',
    ['agent'],
    'Samples the agent itself reports it dropped (its drops field: it could not keep up).',
  ),
  malformed: def(
    'podwire_sflow_malformed_total',
    'counter',
    'sflow',
    ['reason'],
    'Malformed datagrams, samples and records by reason (a length that lies, a truncated record): counted, skipped.',
  ),
  kernelDrops: def(
    'podwire_sflow_kernel_drops_total',
    'counter',
    'sflow',
    [],
    "Datagrams the kernel dropped for the listener's socket (its receive buffer was full): podwire did not keep up.",
  ),
  overloadDrops: def(
    'podwire_sflow_overload_drops_total',
    'counter',
    'sflow',
    [],
    'Datagrams the reader threads read and dropped: the intake had too many batches queued, or they came while stopping.',
  ),
  reordered: def(
    'podwire_sflow_reordered_datagrams_total',
    'counter',
    'sflow',
    [],
    'Datagrams that came after their sequence number had been passed over by the reorder stage (late or duplicate): passed on, not loss.',
  ),
  ifReceiveBytes: def(
    'podwire_sflow_interface_receive_bytes_total',
    'counter',
    'sflow',
    ['agent', 'if_index'],
    'Bytes the switch interface received (ifInOctets of its counter samples, 64-bit: a decrease is a reset).',
  ),
  ifTransmitBytes: def(
    'podwire_sflow_interface_transmit_bytes_total',
    'counter',
    'sflow',
    ['agent', 'if_index'],
    'Bytes the switch interface sent (ifOutOctets).',
  ),
  ifReceiveDiscards: def(
    'podwire_sflow_interface_receive_discards_total',
    'counter',
    'sflow',
    ['agent', 'if_index'],
    'Packets the switch interface discarded on receive (ifInDiscards).',
  ),
  ifTransmitDiscards: def(
    'podwire_sflow_interface_transmit_discards_total',
    'counter',
    'sflow',
    ['agent', 'if_index'],
    'Packets the switch interface discarded on send (ifOutDiscards): congestion towards the pods.',
  ),
  ifReceiveErrors: def(
    'podwire_sflow_interface_receive_errors_total',
    'counter',
    'sflow',
    ['agent', 'if_index'],
    'Receive errors of the switch interface (ifInErrors).',
  ),
  ifSpeed: def(
    'podwire_sflow_interface_speed_bytes_per_second',
    'gauge',
    'sflow',
    ['agent', 'if_index'],
    'Speed of the switch interface (ifSpeed / 8).',
  ),
  ifUp: def(
    'podwire_sflow_interface_up',
    'gauge',
    'sflow',
    ['agent', 'if_index'],
    'Whether the switch interface is operationally up (1) or not (0), per its last counter sample.',
  ),
} as const;

/**
 * The flow tables' metrics (collector/flows/metrics.ts registers them where flows are
 * aggregated: `podwire all`), summed over its flow tables.
 */
export const FLOW_METRICS = {
  latePackets: def(
    'podwire_flow_late_packets_total',
    'counter',
    'flow',
    [],
    'Packets for flow windows already closed (more than the grace period late); still counted, in flows of their own.',
  ),
  overflows: def(
    'podwire_flow_table_overflows_total',
    'counter',
    'flow',
    [],
    'Times the flow table was full (flows.maxFlows) and emitted every open flow early; no packet is dropped.',
  ),
  timeOutliers: def(
    'podwire_flow_time_outliers_total',
    'counter',
    'flow',
    [],
    "Packets stamped over an hour from the input's time that it did not follow (kept in flows of their own time).",
  ),
  timeOutOfRange: def(
    'podwire_flow_time_out_of_range_total',
    'counter',
    'flow',
    [],
    "Packets stamped past 2106-02-07T06:28:15Z, which no flow window (nor the store's DateTime) holds: counted, in no flow.",
  ),
  clockJumps: def(
    'podwire_flow_clock_jumps_total',
    'counter',
    'flow',
    [],
    "Times the input's time moved by more than an hour at once and was followed (three packets in a row there).",
  ),
  attributionPackets: def(
    'podwire_flow_packets_total',
    'counter',
    'flow',
    [],
    'Packets (or sFlow samples) the input in use handed to attribution.',
  ),
  unattributedPackets: def(
    'podwire_flow_unattributed_packets_total',
    'counter',
    'flow',
    [],
    'Of those, packets neither side of which belongs to a known endpoint (the inventory misses it).',
  ),
} as const;

/**
 * The in-process SLA evaluator's metrics (alerts/metrics.ts registers them where it runs:
 * `podwire all`). The alerts themselves follow Prometheus's ALERTS series in spirit.
 */
export const SLA_METRICS = {
  alerts: def(
    'podwire_sla_alerts',
    'gauge',
    'sla',
    ['alertname', 'severity', 'state'],
    'Alerts the in-process evaluator holds, by state (pending, firing).',
  ),
  evaluations: def(
    'podwire_sla_evaluations_total',
    'counter',
    'sla',
    [],
    'Rounds of the in-process evaluator.',
  ),
  failures: def(
    'podwire_sla_rule_evaluation_failures_total',
    'counter',
    'sla',
    ['rule'],
    'Rule evaluations that failed (logged); the rule gives no result that round.',
  ),
  duration: def(
    'podwire_sla_evaluation_duration_seconds',
    'gauge',
    'sla',
    [],
    'How long the last round took: feeding the series and evaluating every rule.',
  ),
  series: def('podwire_sla_series', 'gauge', 'sla', [], 'Series the in-process evaluator holds.'),
  events: def(
    'podwire_sla_events_total',
    'counter',
    'sla',
    ['alertname', 'state'],
    'Alert state changes (firing, resolved) written to the sla_events table.',
  ),
  notifications: def(
    'podwire_sla_notifications_total',
    'counter',
    'sla',
    ['result'],
    'Alerts sent to Alertmanager (result sent), lost in a failed request (failed) or dropped from a full queue (dropped).',
  ),
  tierBreached: def(
    'podwire_sla_tier_breached_vfs',
    'gauge',
    'sla',
    ['tier'],
    'VFs of the tier whose guarantee is breached now (of those counted for a full rate window).',
  ),
  tierBudget: def(
    'podwire_sla_tier_error_budget_remaining_ratio',
    'gauge',
    'sla',
    ['tier'],
    "Share of the tier's error budget left over the SLO period (1: untouched; below 0: overspent).",
  ),
} as const;

/**
 * A live capture's metrics (collector/capture/metrics.ts registers them where `podwire all`
 * runs a `capture` mirror): what it read and what it lost, and where.
 */
export const CAPTURE_METRICS = {
  packets: def(
    'podwire_capture_packets_total',
    'counter',
    'capture',
    ['interface'],
    'Packets podwire read from the live capture (tcpdump) on the interface.',
  ),
  received: def(
    'podwire_capture_received_packets_total',
    'counter',
    'capture',
    ['interface'],
    "Packets the capture's filter accepted, dropped ones included (tcpdump's received by filter, asked every 5 s).",
  ),
  dropped: def(
    'podwire_capture_dropped_packets_total',
    'counter',
    'capture',
    ['interface', 'reason'],
    'Packets a live capture lost: kernel (its buffer was full: raise mirror.bufferMiB), interface (dropped before any capture).',
  ),
} as const;

export const PROCESS_METRICS = {
  cpu: def('process_cpu_seconds_total', 'counter', 'process', [], 'User and system CPU time spent, seconds.'),
  rss: def('process_resident_memory_bytes', 'gauge', 'process', [], 'Resident memory size, bytes.'),
  start: def(
    'process_start_time_seconds',
    'gauge',
    'process',
    [],
    'Start time of the process, seconds since the epoch.',
  ),
  eventLoopLagP99: def(
    'podwire_event_loop_lag_p99_seconds',
    'gauge',
    'process',
    [],
    'Event-loop delay, 99th percentile over the last 10 s window: how long ready work (scrapes, API, packets) waited.',
  ),
  eventLoopLagMax: def(
    'podwire_event_loop_lag_max_seconds',
    'gauge',
    'process',
    [],
    'Event-loop delay, maximum over the last 10 s window.',
  ),
} as const;

/** The live stream's (api/live/hub.ts), in the all-in-one's registry. */
export const LIVE_METRICS = {
  clients: def(
    'podwire_live_clients',
    'gauge',
    'live',
    [],
    'Clients connected to the live stream (/api/v1/live).',
  ),
  dropped: def(
    'podwire_live_dropped_total',
    'counter',
    'live',
    ['what'],
    'Live stream messages not sent to a client that was behind: samples dropped (what samples), rate updates replaced by a later one (what rates).',
  ),
  closed: def(
    'podwire_live_closed_total',
    'counter',
    'live',
    ['reason'],
    'Live stream clients the server closed: too_slow (behind too long), dead (no pong), too_big (a message above maxPayload), too_many_messages (more than 20 in a second).',
  ),
} as const;

/** Token checks of the API (api/auth-limit.ts), in the all-in-one's registry. */
export const API_AUTH_METRICS = {
  failures: def(
    'podwire_api_auth_failures_total',
    'counter',
    'api',
    [],
    'Wrong tokens presented to the API (bearer or login).',
  ),
  blocked: def(
    'podwire_api_auth_blocked_total',
    'counter',
    'api',
    [],
    'API requests refused with 429 because their address sent too many wrong tokens within a minute.',
  ),
} as const;

/** Every family the exporter serves, in output order. */
export const ALL_METRICS: readonly MetricDef[] = [
  ...NIC_METRICS,
  ...Object.values(COLLECTOR_METRICS),
  ...Object.values(PROCESS_METRICS),
];

/** Every family podwire defines: the exporter's, then the endpoint lifecycle's. */
export const DOCUMENTED_METRICS: readonly MetricDef[] = [
  ...ALL_METRICS,
  ...Object.values(ENDPOINT_METRICS),
  ...Object.values(SFLOW_METRICS),
  ...Object.values(NETFLOW_METRICS),
  ...Object.values(FLOW_METRICS),
  ...Object.values(CAPTURE_METRICS),
  ...Object.values(SLA_METRICS),
  ...Object.values(LIVE_METRICS),
  ...Object.values(API_AUTH_METRICS),
];

/** The README's metric table (node-exporter/README.md, between the metrics markers). */
export function metricsTableMarkdown(): string {
  const rows = DOCUMENTED_METRICS.map(
    (m) => `| \`${m.name}\` | ${m.type} | ${m.labels.length ? m.labels.join(', ') : '—'} | ${m.help} |`,
  );
  return ['| name | type | labels | help |', '|---|---|---|---|', ...rows].join('\n');
}
