/**
 * The views that ask the REST API: top talkers over a range, the trace box, alerts and SLA
 * events, a pod's page. Each renders into `root`; its controls write the state (the URL).
 */
import { ApiError, get, lastSeconds } from './api.js';
import { bps, bytes, clear, h, link, table, time } from './dom.js';
import type { State } from './state.js';

type Go = (s: State, rerender?: boolean) => void;

export const RANGES: Record<string, number> = {
  '15m': 900,
  '1h': 3600,
  '6h': 21600,
  '24h': 86400,
  '7d': 604800,
};

function select(
  id: string,
  label: string,
  value: string,
  options: string[],
): [HTMLLabelElement, HTMLSelectElement] {
  const s = h(
    'select',
    { id, name: id },
    ...options.map((o) => h('option', { value: o, selected: o === value }, o)),
  );
  return [h('label', {}, `${label} `, s), s];
}

function failed(el: HTMLElement, err: unknown): void {
  clear(el, h('p', { class: 'error', role: 'alert' }, err instanceof ApiError ? err.message : String(err)));
}

// ── top talkers ───────────────────────────────────────────────────────────────────────
export function topView(root: HTMLElement, state: State, go: Go): void {
  const by = state.by ?? 'pod';
  const range = RANGES[state.range ?? ''] ? state.range! : '1h';
  const [byLabel, bySel] = select('by', 'By', by, ['pod', 'pair', 'namespace', 'vlan', 'vni']);
  const [rangeLabel, rangeSel] = select('range', 'Range', range, Object.keys(RANGES));
  const out = h('div', { id: 'top' }, h('p', { class: 'empty' }, 'loading…'));
  root.append(h('form', { class: 'bar' }, byLabel, rangeLabel), out);
  const change = () => go({ ...state, by: bySel.value, range: rangeSel.value });
  bySel.addEventListener('change', change);
  rangeSel.addEventListener('change', change);
  get<{ table: string; rows: Record<string, string | number>[] }>('/top-talkers', {
    by,
    limit: 25,
    ...lastSeconds(RANGES[range]!),
  }).then(
    (r) => {
      const keys = Object.keys(r.rows[0] ?? {}).filter((k) => k !== 'bytes' && k !== 'packets');
      clear(
        out,
        table(r.rows, [
          ...keys.map((k) => ({
            label: k.replace(/_/g, ' '),
            value: (row: Record<string, string | number>) => {
              const ns = row[k.replace(/pod$/, 'namespace')];
              if (k.endsWith('pod') && typeof ns === 'string' && ns && row[k])
                return link(String(row[k]), { view: 'pod', namespace: ns, pod: String(row[k]) });
              return row[k] ?? '';
            },
          })),
          { label: 'bytes', value: (row) => bytes(Number(row.bytes)), num: true },
          { label: 'packets', value: (row) => Number(row.packets).toLocaleString('en'), num: true },
        ]),
        h('p', { class: 'note' }, `from ${r.table}`),
      );
    },
    (e) => failed(out, e),
  );
}

// ── trace ─────────────────────────────────────────────────────────────────────────────
const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** What the trace box holds, as the API's parameters (null: not understood). */
export function traceQuery(text: string): Record<string, string> | null {
  const t = text.trim();
  if (MAC.test(t)) return { mac: t.toLowerCase().replace(/-/g, ':') };
  if (IPV4.test(t) || (t.includes(':') && /^[0-9a-f:.]+$/i.test(t))) return { ip: t };
  const m = /^(vlan|vni)\s*[:= ]\s*(\d+)$/i.exec(t);
  if (m) return { [m[1]!.toLowerCase()]: m[2]! };
  return null;
}

export function traceView(root: HTMLElement, state: State, go: Go): void {
  const input = h('input', {
    id: 'trace-q',
    name: 'q',
    size: 32,
    placeholder: 'MAC, IP, vlan:100 or vni:5001',
    value: state.q ?? '',
    'aria-label': 'MAC, IP, VLAN or VNI',
  });
  const at = h('input', {
    id: 'trace-at',
    name: 'at',
    type: 'datetime-local',
    step: 1,
    value: state.at ?? '',
    'aria-label': 'time (UTC, optional)',
  });
  const out = h('div', { id: 'trace' });
  const form = h(
    'form',
    { class: 'bar', id: 'trace-form' },
    h('label', {}, 'Which pod had ', input),
    h('label', {}, ' at (UTC, optional) ', at),
    h('button', { type: 'submit' }, 'Trace'),
  );
  root.append(form, out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go({ view: 'trace', q: input.value.trim(), at: at.value }, true);
  });
  if (!state.q) {
    clear(
      out,
      h(
        'p',
        { class: 'empty' },
        'paste a MAC, an IP, vlan:N or vni:N; give a time to ask about the past (±5 minutes around it), else the last hour',
      ),
    );
    return;
  }
  const q = traceQuery(state.q);
  if (q === null) {
    clear(out, h('p', { class: 'error', role: 'alert' }, `not a MAC, an IP, vlan:N or vni:N: ${state.q}`));
    return;
  }
  let range = lastSeconds(3600);
  if (state.at) {
    const t = Date.parse(`${state.at}Z`) / 1000;
    if (Number.isFinite(t)) range = { from: Math.floor(t - 300), to: Math.ceil(t + 300) };
  }
  clear(out, h('p', { class: 'empty' }, 'tracing…'));
  type Holding = {
    namespace: string;
    pod: string;
    node: string;
    interface: string;
    tier: string;
    mac: string;
    ips: string[];
    vlan: number | null;
    vni: number | null;
    vf: { pf: string; index: number } | null;
    from: string | null;
    to: string | null;
  };
  type Sample = Record<string, string | number>;
  get<{ pods: Holding[]; samples: { rows?: Sample[] } | Sample[] }>('/trace', {
    ...q,
    ...range,
    limit: 50,
  }).then(
    (r) => {
      const samples = Array.isArray(r.samples) ? r.samples : (r.samples.rows ?? []);
      clear(
        out,
        h('h2', {}, `pods that held it (${time(range.from * 1000)} – ${time(range.to * 1000)})`),
        table(
          r.pods,
          [
            { label: 'namespace', value: (p) => p.namespace },
            { label: 'pod', value: (p) => link(p.pod, { view: 'pod', namespace: p.namespace, pod: p.pod }) },
            { label: 'node', value: (p) => p.node },
            { label: 'VF', value: (p) => (p.vf ? `${p.vf.pf} vf ${p.vf.index}` : '—') },
            { label: 'tier', value: (p) => p.tier },
            { label: 'interface', value: (p) => p.interface },
            { label: 'MAC', value: (p) => p.mac },
            { label: 'IPs', value: (p) => p.ips.join(', ') },
            { label: 'VLAN / VNI', value: (p) => (p.vlan !== null ? `vlan ${p.vlan}` : `vni ${p.vni}`) },
            { label: 'from', value: (p) => time(p.from) },
            { label: 'to', value: (p) => (p.to === null ? 'now' : time(p.to)) },
          ],
          'no pod held it then (or it is outside your scope)',
        ),
        h('h2', {}, 'matching packet samples'),
        table(
          samples,
          [
            { label: 'time', value: (s) => time(String(s.time ?? '')) },
            {
              label: 'from',
              value: (s) => `${s.src_namespace || 'external'}${s.src_pod ? `/${s.src_pod}` : ''}`,
            },
            {
              label: 'to',
              value: (s) => `${s.dst_namespace || 'external'}${s.dst_pod ? `/${s.dst_pod}` : ''}`,
            },
            { label: 'src', value: (s) => `${s.src_mac ?? ''} ${s.src_ip ?? ''}` },
            { label: 'dst', value: (s) => `${s.dst_mac ?? ''} ${s.dst_ip ?? ''}` },
            // the store writes -1 for "no tag" / "not VXLAN": shown as nothing
            { label: 'vlan', value: (s) => tag(s.vlan) },
            { label: 'vni', value: (s) => tag(s.vni) },
            { label: 'proto', value: (s) => s.protocol ?? '' },
            { label: 'ports', value: (s) => `${s.src_port ?? ''} → ${s.dst_port ?? ''}` },
            { label: 'bytes', value: (s) => s.frame_length ?? '', num: true },
          ],
          'no packet samples in that range',
        ),
      );
    },
    (e) => failed(out, e),
  );
}

// ── alerts and SLA events ─────────────────────────────────────────────────────────────
interface AlertJson {
  name: string;
  state: string;
  severity: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  since?: string;
  activeAt?: string;
  value?: number;
}

export function alertsView(root: HTMLElement): void {
  const active = h('div', { id: 'alerts' }, h('p', { class: 'empty' }, 'loading…'));
  const events = h('div', { id: 'sla-events' }, h('p', { class: 'empty' }, 'loading…'));
  root.append(h('h2', {}, 'active alerts'), active, h('h2', {}, 'SLA events, last 24 hours'), events);
  get<{ evaluatedAt: string | null; alerts: AlertJson[] }>('/alerts').then(
    (r) =>
      clear(
        active,
        table(
          r.alerts,
          [
            { label: 'alert', value: (a) => a.name },
            { label: 'state', value: (a) => a.state },
            { label: 'severity', value: (a) => a.severity },
            {
              label: 'pod',
              value: (a) =>
                a.labels.pod
                  ? link(`${a.labels.namespace}/${a.labels.pod}`, {
                      view: 'pod',
                      namespace: a.labels.namespace ?? '',
                      pod: a.labels.pod,
                    })
                  : (a.labels.node ?? ''),
            },
            { label: 'tier', value: (a) => a.labels.tier ?? '' },
            { label: 'summary', value: (a) => a.annotations?.summary ?? '' },
            { label: 'since', value: (a) => time(a.since ?? a.activeAt ?? null) },
          ],
          `no alert pending or firing${r.evaluatedAt ? ` (evaluated ${time(r.evaluatedAt)})` : ''}`,
        ),
      ),
    (e) => failed(active, e),
  );
  get<Record<string, string | number>[]>('/sla-events', lastSeconds(86400)).then(
    (rows) =>
      clear(
        events,
        table(
          rows.slice(0, 200),
          [
            { label: 'time', value: (e) => time(String(e.time)) },
            { label: 'rule', value: (e) => e.rule ?? '' },
            { label: 'state', value: (e) => e.state ?? '' },
            { label: 'pod', value: (e) => (e.pod ? `${e.namespace}/${e.pod}` : '') },
            { label: 'node', value: (e) => e.node ?? '' },
            { label: 'tier', value: (e) => e.tier ?? '' },
            {
              label: 'delivered',
              value: (e) => (e.delivered_rate === undefined ? '' : bps(Number(e.delivered_rate) * 8)),
              num: true,
            },
          ],
          'no SLA event in the last 24 hours',
        ),
      ),
    (e) => failed(events, e),
  );
}

// ── a pod ─────────────────────────────────────────────────────────────────────────────
interface PodPage {
  namespace: string;
  pod: string;
  current: {
    node: string;
    tier: string;
    interfaces: {
      interface: string;
      network: string;
      mode: string;
      mac: string;
      ips: string[];
      vlan: number | null;
      vni: number | null;
      vf: { pf: string; index: number } | null;
      since: string | null;
    }[];
    rates: { rxBps: number; txBps: number; minBps: number; maxBps: number } | null;
  } | null;
  peers: { namespace: string; pod: string; txBytes: number; rxBytes: number }[];
}

export function podView(root: HTMLElement, state: State): void {
  const out = h('div', { id: 'pod' }, h('p', { class: 'empty' }, 'loading…'));
  root.append(out);
  const ns = state.namespace ?? '';
  const pod = state.pod ?? '';
  get<PodPage>(`/pods/${encodeURIComponent(ns)}/${encodeURIComponent(pod)}`, lastSeconds(3600)).then(
    (p) => {
      const c = p.current;
      clear(
        out,
        h('h2', {}, `${p.namespace}/${p.pod}`),
        c === null
          ? h('p', { class: 'empty' }, 'not running now (known from its past bindings)')
          : h(
              'p',
              {},
              `node ${c.node} · tier ${c.tier}`,
              c.rates
                ? ` · sending ${bps(c.rates.txBps)}, receiving ${bps(c.rates.rxBps)} (band ${bps(c.rates.minBps)} – ${bps(c.rates.maxBps)})`
                : '',
              ' · ',
              link('live chart', { view: 'live', pod: `${p.namespace}/${p.pod}` }),
            ),
        h('h2', {}, 'endpoints'),
        table(c?.interfaces ?? [], [
          { label: 'interface', value: (i) => i.interface },
          { label: 'network', value: (i) => i.network },
          { label: 'mode', value: (i) => i.mode },
          { label: 'MAC', value: (i) => i.mac },
          { label: 'IPs', value: (i) => i.ips.join(', ') },
          { label: 'VLAN / VNI', value: (i) => (i.vlan !== null ? `vlan ${i.vlan}` : `vni ${i.vni}`) },
          { label: 'VF', value: (i) => (i.vf ? `${i.vf.pf} vf ${i.vf.index}` : '—') },
          { label: 'since', value: (i) => time(i.since) },
        ]),
        h('h2', {}, 'peers, last hour'),
        table(
          p.peers,
          [
            {
              label: 'peer',
              value: (x) =>
                x.pod
                  ? link(`${x.namespace}/${x.pod}`, { view: 'pod', namespace: x.namespace, pod: x.pod })
                  : 'external',
            },
            { label: 'sent to', value: (x) => bytes(x.txBytes), num: true },
            { label: 'received from', value: (x) => bytes(x.rxBytes), num: true },
          ],
          'no flows in the last hour',
        ),
      );
    },
    (e) => failed(out, e),
  );
}

/** A VLAN or VNI column: the store's -1 (none) and null show as nothing. */
function tag(v: unknown): string {
  return v === null || v === undefined || v === '' || !(Number(v) >= 0) ? '' : String(v);
}
