/**
 * The live view: the stream's per-pod rates (/api/v1/live), a chart of one pod's sent and
 * received bandwidth against its tier's guaranteed minimum and ceiling (the band), the
 * nodes' data plane use, and every pod's current rates. Keeps at most HISTORY points per pod.
 */
import uPlot from 'uplot';
import { bps, clear, h, link, table } from './dom.js';
import type { State } from './state.js';

const HISTORY = 300;

interface PodRate {
  namespace: string;
  pod: string;
  node: string;
  tier: string;
  rxBps: number;
  txBps: number;
  minBps: number;
  maxBps: number;
}
interface NodeRate {
  node: string;
  rxBps: number;
  txBps: number;
  capacityBps: number;
}
interface Rates {
  type: 'rates';
  t: number;
  pods: PodRate[];
  nodes: NodeRate[];
  dropped: { samples: number; rates: number };
}

/** time (s), tx, rx, min, max */
type Series = [number[], number[], number[], number[], number[]];

export function liveView(
  root: HTMLElement,
  state: State,
  onState: (s: State, rerender?: boolean) => void,
): () => void {
  const history = new Map<string, Series>();
  let selected = state.pod ?? '';
  let latest: Rates | null = null;
  let plot: uPlot | null = null;

  const filter = h('input', {
    id: 'live-namespace',
    name: 'namespace',
    placeholder: 'namespace (all)',
    value: state.namespace ?? '',
    'aria-label': 'namespace filter',
  });
  const status = h('span', { class: 'status', id: 'live-status', role: 'status' }, 'connecting…');
  const title = h('h2', { id: 'chart-title' }, 'pod bandwidth');
  const chart = h('div', { id: 'chart', 'data-points': '0' });
  const nodes = h('div', { id: 'nodes' });
  const pods = h('div', { id: 'pods' });
  root.append(
    h(
      'form',
      { class: 'bar', id: 'live-form' },
      h('label', {}, 'Namespace ', filter),
      h('button', { type: 'submit' }, 'Filter'),
      status,
    ),
    h('section', {}, title, chart),
    h('section', {}, h('h2', {}, 'node data plane'), nodes),
    h('section', {}, h('h2', {}, 'pods'), pods),
  );
  root.querySelector('form')!.addEventListener('submit', (e) => {
    e.preventDefault();
    onState({ ...state, namespace: filter.value.trim() });
  });

  const makePlot = () => {
    plot?.destroy();
    const width = Math.max(600, chart.clientWidth || 1200);
    plot = new uPlot(
      {
        width,
        height: 260,
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, vals) => vals.map((v) => bps(v)), size: 90 }],
        series: [
          {},
          { label: 'sent', stroke: '#1f77b4', width: 2, value: (_u, v) => (v == null ? '' : bps(v)) },
          { label: 'received', stroke: '#2ca02c', width: 2, value: (_u, v) => (v == null ? '' : bps(v)) },
          { label: 'tier min', stroke: '#d62728', dash: [4, 4], value: (_u, v) => (v == null ? '' : bps(v)) },
          { label: 'tier max', stroke: '#ff7f0e', dash: [4, 4], value: (_u, v) => (v == null ? '' : bps(v)) },
        ],
        bands: [{ series: [4, 3], fill: 'rgba(255,127,14,0.08)' }],
      },
      [[], [], [], [], []],
      chart,
    );
  };

  const draw = () => {
    const s = history.get(selected);
    title.textContent = selected ? `${selected}: sent and received, with its tier's band` : 'pod bandwidth';
    if (plot === null) makePlot();
    const data = s ?? [[], [], [], [], []];
    plot!.setData(data as unknown as uPlot.AlignedData);
    chart.dataset.points = String(data[0].length);
  };

  const render = (r: Rates) => {
    for (const p of r.pods) {
      const key = `${p.namespace}/${p.pod}`;
      let s = history.get(key);
      if (s === undefined) {
        s = [[], [], [], [], []];
        history.set(key, s);
      }
      const row = [r.t / 1000, p.txBps, p.rxBps, p.minBps, p.maxBps];
      for (let i = 0; i < 5; i++) {
        s[i]!.push(row[i]!);
        if (s[i]!.length > HISTORY) s[i]!.shift();
      }
    }
    if (!selected || !history.has(selected)) {
      const busiest = [...r.pods].sort((a, b) => b.txBps - a.txBps)[0];
      if (busiest) selected = `${busiest.namespace}/${busiest.pod}`;
    }
    draw();
    clear(
      nodes,
      r.nodes.length === 0
        ? h('p', { class: 'empty' }, 'node totals are shown to admins only')
        : table(r.nodes, [
            { label: 'node', value: (n) => n.node },
            { label: 'sent', value: (n) => bps(n.txBps), num: true },
            { label: 'received', value: (n) => bps(n.rxBps), num: true },
            { label: 'capacity', value: (n) => bps(n.capacityBps), num: true },
            {
              label: 'use',
              value: (n) => {
                const use = Math.max(n.txBps, n.rxBps) / n.capacityBps;
                return h(
                  'span',
                  {},
                  h('meter', { min: 0, max: 1, high: 0.9, value: use.toFixed(3) }),
                  ` ${(use * 100).toFixed(0)} %`,
                );
              },
            },
          ]),
    );
    const sorted = [...r.pods].sort((a, b) => b.txBps + b.rxBps - (a.txBps + a.rxBps));
    clear(
      pods,
      table(sorted, [
        { label: 'namespace', value: (p) => p.namespace },
        {
          label: 'pod',
          value: (p) => {
            const key = `${p.namespace}/${p.pod}`;
            const a = link(p.pod, { ...state, view: 'live', pod: key });
            a.addEventListener('click', (e) => {
              e.preventDefault();
              selected = key;
              onState({ ...state, pod: key }, false);
              draw();
            });
            return a;
          },
        },
        { label: 'node', value: (p) => p.node },
        { label: 'tier', value: (p) => p.tier },
        { label: 'sent', value: (p) => bps(p.txBps), num: true },
        { label: 'received', value: (p) => bps(p.rxBps), num: true },
        { label: 'min', value: (p) => bps(p.minBps), num: true },
        { label: 'max', value: (p) => bps(p.maxBps), num: true },
        { label: '', value: (p) => link('details', { view: 'pod', namespace: p.namespace, pod: p.pod }) },
      ]),
    );
    const d = r.dropped;
    status.textContent = `live · ${r.pods.length} pods${d.rates + d.samples > 0 ? ` · behind: ${d.rates} updates skipped` : ''}`;
  };

  const q = new URLSearchParams();
  if (state.namespace) q.set('namespace', state.namespace);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/live${q.size ? `?${q}` : ''}`;
  let ws: WebSocket | null = null;
  let stopped = false;
  let retry: number | undefined;
  const open = () => {
    ws = new WebSocket(url);
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as { type: string; error?: string };
      if (m.type === 'rates') {
        latest = m as Rates;
        render(latest);
      } else if (m.type === 'error') status.textContent = `error: ${m.error}`;
    };
    ws.onclose = (e) => {
      if (stopped) return;
      status.textContent = `disconnected (${e.code}${e.reason ? `: ${e.reason}` : ''}); reconnecting…`;
      retry = window.setTimeout(open, 2000);
    };
  };
  open();
  const onResize = () => {
    if (plot) plot.setSize({ width: Math.max(600, chart.clientWidth), height: 260 });
  };
  window.addEventListener('resize', onResize);
  return () => {
    stopped = true;
    clearTimeout(retry);
    ws?.close();
    plot?.destroy();
    window.removeEventListener('resize', onResize);
  };
}
