/** Small DOM helpers: elements from data only through textContent (never HTML), tables, formats. */

type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

export interface Column<T> {
  label: string;
  value: (row: T) => string | number | Node | null;
  /** right-aligned numbers */
  num?: boolean;
}

export function table<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  empty = 'nothing yet',
): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  const head = h(
    'tr',
    {},
    ...columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)),
  );
  const body = h('tbody');
  for (const r of rows) {
    const tr = h('tr');
    for (const c of columns) {
      const v = c.value(r);
      tr.append(
        h('td', { class: c.num ? 'num' : undefined }, v === null ? '' : v instanceof Node ? v : String(v)),
      );
    }
    body.append(tr);
  }
  return h('table', {}, h('thead', {}, head), body);
}

const UNITS = ['', 'k', 'M', 'G', 'T'];

function scaled(n: number, base: number): [number, string] {
  let i = 0;
  while (Math.abs(n) >= base && i < UNITS.length - 1) {
    n /= base;
    i++;
  }
  return [n, UNITS[i]!];
}

export function bps(n: number): string {
  const [v, u] = scaled(n, 1000);
  return `${v.toFixed(v < 10 && u !== '' ? 2 : 1)} ${u}b/s`;
}

export function bytes(n: number): string {
  const [v, u] = scaled(n, 1000);
  return `${v.toFixed(v < 10 && u !== '' ? 2 : 1)} ${u}B`;
}

export function time(t: string | number | null): string {
  if (t === null) return '';
  const d = new Date(
    typeof t === 'number' ? t : t.includes('T') || t.includes('Z') ? t : `${t.replace(' ', 'T')}Z`,
  );
  return Number.isNaN(d.getTime())
    ? String(t)
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

/** A link to a view of the page with this state (a shareable URL). */
export function link(text: string, state: Record<string, string>): HTMLAnchorElement {
  return h('a', { href: `?${new URLSearchParams(state)}` }, text);
}

export function clear(el: Element, ...children: (Node | string)[]): void {
  el.replaceChildren(...children);
}
