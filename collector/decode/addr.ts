/**
 * Address formatting and parsing for decoded records: MACs as 48-bit numbers, IPv4 as
 * unsigned 32-bit numbers, IPv6 as 16 bytes. None of this is on the per-packet hot path
 * (decoders copy raw values; strings are made only for output and tests), so validation
 * leans on node:net and clarity wins over speed.
 */
import { isIPv4, isIPv6 } from 'node:net';

const TWO32 = 4294967296;

/** 48-bit MAC number → "02:00:00:00:01:01" (lowercase, zero-padded). */
export function macToString(n: number): string {
  const hi = Math.floor(n / TWO32);
  const lo = n >>> 0;
  // by table: `podwire flows` prints two MACs a flow, tens of thousands of flows a second
  return (
    `${HEX2[(hi >>> 8) & 0xff]}:${HEX2[hi & 0xff]}:${HEX2[lo >>> 24]}:` +
    `${HEX2[(lo >>> 16) & 0xff]}:${HEX2[(lo >>> 8) & 0xff]}:${HEX2[lo & 0xff]}`
  );
}

const HEX2 = Array.from({ length: 256 }, (_, x) => x.toString(16).padStart(2, '0'));

/** Six bytes of `buf` at `offset` → 48-bit MAC number. */
export function macFromBytes(buf: Uint8Array, offset = 0): number {
  return (
    ((buf[offset] << 8) | buf[offset + 1]) * TWO32 +
    (((buf[offset + 2] << 24) | (buf[offset + 3] << 16) | (buf[offset + 4] << 8) | buf[offset + 5]) >>> 0)
  );
}

/** "02:00:00:00:01:01" or "02-00-00-00-01-01" → 48-bit MAC number. */
export function parseMac(s: string): number {
  const m =
    /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(
      s.trim(),
    );
  if (!m) throw new Error(`invalid MAC address '${s}' (expected six hex bytes like 02:00:00:00:01:01)`);
  let n = 0;
  for (const i of [1, 3, 4, 5, 6, 7]) n = n * 256 + Number.parseInt(m[i], 16);
  return n;
}

/** Unsigned 32-bit IPv4 number → dotted quad. */
export function ipv4ToString(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** Dotted quad → unsigned 32-bit number. */
export function parseIpv4(s: string): number {
  const t = s.trim();
  if (!isIPv4(t)) throw new Error(`invalid IPv4 address '${s}'`);
  const p = t.split('.');
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}

/**
 * 16 bytes → RFC 5952 text: lowercase hex, no leading zeros, the longest run (first on a
 * tie) of two or more zero groups as "::". Like tshark (glibc inet_ntop), IPv4-mapped
 * (::ffff:0:0/96) and IPv4-compatible (::/96 with a nonzero 7th group) addresses are in
 * mixed notation: "::ffff:192.0.2.1", "::192.0.2.1" (but "::1" stays "::1").
 */
export function ipv6ToString(bytes: Uint8Array, offset = 0): string {
  // no arrays or closures: `podwire flows` prints two addresses a flow, and the index
  // spells every inventory address once, mostly on a cold JIT
  const g = groups;
  for (let i = 0; i < 8; i++) g[i] = (bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1];
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0) {
    const v4 = `${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
    if (g[5] === 0xffff) return `::ffff:${v4}`;
    if (g[5] === 0 && g[6] !== 0) return `::${v4}`;
  }
  let bestStart = 8;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) {
    bestStart = 8;
    bestLen = 0;
  }
  let s = '';
  for (let i = 0; i < bestStart; i++) s += i === 0 ? g[i].toString(16) : `:${g[i].toString(16)}`;
  if (bestStart === 8) return s;
  s += '::';
  const after = bestStart + bestLen;
  for (let i = after; i < 8; i++) s += i === after ? g[i].toString(16) : `:${g[i].toString(16)}`;
  return s;
}

const groups = new Uint16Array(8);

/** IPv6 text (any valid form, including embedded IPv4; no zone ID) → 16 bytes. */
export function parseIpv6(s: string): Uint8Array {
  const t = s.trim();
  if (t.includes('%') || !isIPv6(t)) throw new Error(`invalid IPv6 address '${s}'`);
  const out = new Uint8Array(16);
  let head = t;
  let tail = '';
  const dc = t.indexOf('::');
  if (dc >= 0) {
    head = t.slice(0, dc);
    tail = t.slice(dc + 2);
  }
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const r: number[] = [];
    for (const p of part.split(':')) {
      if (p.includes('.')) {
        const v = parseIpv4(p);
        r.push(v >>> 16, v & 0xffff);
      } else {
        r.push(Number.parseInt(p, 16));
      }
    }
    return r;
  };
  const h = groups(head);
  const tl = groups(tail);
  const all = dc >= 0 ? [...h, ...new Array<number>(8 - h.length - tl.length).fill(0), ...tl] : h;
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >>> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}
