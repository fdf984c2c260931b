/**
 * Differential test: podwire's decoders against tshark on the same pcap. Every generated
 * packet (every encapsulation kind, seeded random addresses/ports/tags) must decode to the
 * same innermost frame, VLAN stack, tunnel endpoints, VNI and ERSPAN session as tshark.
 *
 * tshark prints each field once per layer that has it (`-E occurrence=a`); the layer order
 * comes from frame.protocols, so the k-th "ip" in frame.protocols owns the k-th ip.src.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pcapFile } from '../../collector/capture/pcap-writer.js';
import { LinkType } from '../../collector/capture/types.js';
import { decodeFrame } from '../../collector/decode/frame.js';
import { DecodedPacket, decodeConfig, Layer } from '../../collector/decode/packet.js';
import { COOKED_KINDS, corpus, EXTRA_VXLAN_PORT, KINDS, type Sample } from './corpus.js';
import { layerNames, type PacketView, view } from './view.js';

/** field → the protocol (frame.protocols name) whose layers it occurs in */
const FIELDS: Record<string, string> = {
  'eth.src': 'eth',
  'eth.dst': 'eth',
  'sll.src.eth': 'sll',
  'vlan.id': 'vlan',
  'ieee8021ad.id': 'ieee8021ad',
  'ip.src': 'ip',
  'ip.dst': 'ip',
  'ip.proto': 'ip',
  'ip.ttl': 'ip',
  'ip.len': 'ip',
  'ip.frag_offset': 'ip',
  'ip.flags.mf': 'ip',
  'ipv6.src': 'ipv6',
  'ipv6.dst': 'ipv6',
  'ipv6.nxt': 'ipv6',
  'ipv6.hlim': 'ipv6',
  'ipv6.plen': 'ipv6',
  'ipv6.hopopts.nxt': 'ipv6.hopopts',
  'ipv6.routing.nxt': 'ipv6.routing',
  'ipv6.dstopts.nxt': 'ipv6.dstopts',
  'ipv6.fraghdr.nxt': 'ipv6.fraghdr',
  'ipv6.fraghdr.offset': 'ipv6.fraghdr',
  'ah.next_header': 'ah',
  'tcp.srcport': 'tcp',
  'tcp.dstport': 'tcp',
  'tcp.flags': 'tcp',
  'udp.srcport': 'udp',
  'udp.dstport': 'udp',
  'icmp.type': 'icmp',
  'icmp.code': 'icmp',
  'icmpv6.type': 'icmpv6',
  'icmpv6.code': 'icmpv6',
  'vxlan.vni': 'vxlan',
  'gre.proto': 'gre',
  'erspan.spanid': 'erspan',
  'erspan.version': 'erspan',
  'erspan.vlan': 'erspan',
};
const FIELD_NAMES = Object.keys(FIELDS);
const IPV6_EXT_LAYERS: Record<string, string> = {
  'ipv6.hopopts': 'ipv6.hopopts.nxt',
  'ipv6.routing': 'ipv6.routing.nxt',
  'ipv6.dstopts': 'ipv6.dstopts.nxt',
  'ipv6.fraghdr': 'ipv6.fraghdr.nxt',
  ah: 'ah.next_header',
};

interface Row {
  frame: number;
  protocols: string[];
  malformed: boolean;
  /** value of `field` in the layer at index `layer` of protocols */
  get(field: string, layer: number): string | undefined;
}

function runTshark(file: string): Row[] {
  const args = [
    '-r',
    file,
    '-n',
    '-o',
    'ip.defragment:FALSE',
    '-o',
    'ipv6.defragment:FALSE',
    '-d',
    `udp.port==${EXTRA_VXLAN_PORT},vxlan`,
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=,',
    '-e',
    'frame.number',
    '-e',
    'frame.protocols',
    '-e',
    '_ws.malformed',
    ...FIELD_NAMES.flatMap((f) => ['-e', f]),
  ];
  const text = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const cols = line.split('\t');
      const protocols = cols[1].split(':');
      // index of each layer among the layers of its protocol
      const seen = new Map<string, number>();
      const ordinal = protocols.map((p) => {
        const k = seen.get(p) ?? 0;
        seen.set(p, k + 1);
        return k;
      });
      const values = new Map<string, string[]>();
      FIELD_NAMES.forEach((f, i) => {
        values.set(f, cols[3 + i] ? cols[3 + i].split(',') : []);
      });
      return {
        frame: Number(cols[0]),
        protocols,
        malformed: cols[2] !== '',
        get(field: string, layer: number): string | undefined {
          const proto = FIELDS[field];
          if (protocols[layer] !== proto) throw new Error(`${field} asked of layer ${protocols[layer]}`);
          const vals = values.get(field)!;
          const n = seen.get(proto) ?? 0;
          // a field absent from some layers of its protocol cannot be placed: only trust full lists
          if (vals.length !== n) return n === 1 ? vals[0] : undefined;
          return vals[ordinal[layer]];
        },
      };
    });
}

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

/** What tshark says the podwire view of this packet should be. */
function expectedView(row: Row, sample: Sample): PacketView {
  const P = row.protocols;
  const v: PacketView = { status: 'ok', layers: [], vlan: 0, outerVlan: 0, ipVersion: 0, tunnelDepth: 0 };
  let bits = 0;
  const l2Index = (p: string) => p === 'eth' || p === 'sll';
  const firstL2 = P.findIndex(l2Index);
  const lastL2 = P.findLastIndex(l2Index);
  v.tunnelDepth = P.filter((p) => p === 'eth').length - (P[firstL2] === 'eth' ? 1 : 0);

  // VLAN stack after an L2 header: [ids, tpids] (0x9100 tags show as "vlan" too)
  const tagsAfter = (i: number): { ids: number[]; ad: boolean[]; next: number } => {
    const ids: number[] = [];
    const ad: boolean[] = [];
    let j = i + 1;
    for (; j < P.length; j++) {
      if (P[j] === 'ethertype') continue;
      if (P[j] === 'vlan' || P[j] === 'ieee8021ad') {
        ids.push(num(row.get(`${P[j]}.id`, j))!);
        ad.push(P[j] === 'ieee8021ad');
        continue;
      }
      break;
    }
    return { ids, ad, next: j };
  };
  const outer = tagsAfter(firstL2);
  v.outerVlan = outer.ids.at(-1) ?? 0;

  // tunnels
  const lastVx = P.lastIndexOf('vxlan');
  if (lastVx >= 0) {
    bits |= Layer.VXLAN;
    v.vni = num(row.get('vxlan.vni', lastVx));
    let j = lastVx - 1;
    while (j >= 0 && P[j] !== 'ip' && P[j] !== 'ipv6') j--;
    v.tunnelIpVersion = P[j] === 'ip' ? 4 : 6;
    v.tunnelSrc = row.get(`${P[j]}.src`, j);
    v.tunnelDst = row.get(`${P[j]}.dst`, j);
  }
  const firstGre = P.indexOf('gre');
  if (firstGre >= 0) {
    bits |= Layer.GRE;
    v.greProtocol = Number.parseInt(row.get('gre.proto', firstGre)!, 16);
  }
  const lastErspan = P.lastIndexOf('erspan');
  if (lastErspan >= 0) {
    bits |= Layer.ERSPAN;
    const ver = num(row.get('erspan.version', lastErspan));
    v.erspanType = ver === undefined ? 1 : ver + 1;
    v.erspanSession = num(row.get('erspan.spanid', lastErspan)) ?? 0;
    v.erspanVlan = num(row.get('erspan.vlan', lastErspan)) ?? -1;
  }

  // the innermost frame
  if (P[lastL2] === 'eth') {
    v.srcMac = row.get('eth.src', lastL2);
    v.dstMac = row.get('eth.dst', lastL2);
    bits |= Layer.ETHERNET;
  } else {
    v.srcMac = row.get('sll.src.eth', lastL2);
    v.dstMac = '00:00:00:00:00:00';
    bits |= Layer.ETHERNET;
  }
  v.l2Offset = sample.frame.length - sample.innerLength;
  if (P[lastL2] === 'sll') v.l2Offset = 0;
  v.innerLength = sample.innerLength;
  const inner = tagsAfter(lastL2);
  if (inner.ids.length > 0) {
    bits |= Layer.VLAN;
    v.vlans = inner.ids;
    v.vlan = inner.ids.at(-1)!;
  }
  let i = inner.next;
  if (P[i] === 'ip') {
    bits |= Layer.IPV4;
    v.ipVersion = 4;
    v.etherType = 0x0800;
    v.src = row.get('ip.src', i);
    v.dst = row.get('ip.dst', i);
    v.protocol = num(row.get('ip.proto', i));
    v.ttl = num(row.get('ip.ttl', i));
    v.ipLength = num(row.get('ip.len', i));
    const off = num(row.get('ip.frag_offset', i))! * 8;
    if (off !== 0 || row.get('ip.flags.mf', i) === '1') {
      bits |= Layer.FRAGMENT;
      v.fragOffset = off;
    }
    i++;
  } else if (P[i] === 'ipv6') {
    bits |= Layer.IPV6;
    v.ipVersion = 6;
    v.etherType = 0x86dd;
    v.src = row.get('ipv6.src', i);
    v.dst = row.get('ipv6.dst', i);
    v.protocol = num(row.get('ipv6.nxt', i));
    v.ttl = num(row.get('ipv6.hlim', i));
    v.ipLength = num(row.get('ipv6.plen', i))! + 40;
    i++;
    while (P[i] in IPV6_EXT_LAYERS) {
      v.protocol = num(row.get(IPV6_EXT_LAYERS[P[i]], i));
      if (P[i] === 'ipv6.fraghdr') {
        bits |= Layer.FRAGMENT;
        v.fragOffset = num(row.get('ipv6.fraghdr.offset', i))! * 8;
      }
      i++;
    }
  }
  if (P[i] === 'tcp') {
    bits |= Layer.TCP;
    v.srcPort = num(row.get('tcp.srcport', i));
    v.dstPort = num(row.get('tcp.dstport', i));
    v.tcpFlags = Number.parseInt(row.get('tcp.flags', i)!, 16) & 0xff;
  } else if (P[i] === 'udp') {
    bits |= Layer.UDP;
    v.srcPort = num(row.get('udp.srcport', i));
    v.dstPort = num(row.get('udp.dstport', i));
  } else if (P[i] === 'icmp' || P[i] === 'icmpv6') {
    bits |= P[i] === 'icmp' ? Layer.ICMP : Layer.ICMPV6;
    v.icmpType = num(row.get(`${P[i]}.type`, i));
    v.icmpCode = num(row.get(`${P[i]}.code`, i));
  }
  v.layers = layerNames(bits);
  return v;
}

/** podwire's view, with the tpids folded into what tshark can tell apart (88a8 or not). */
function actualView(p: DecodedPacket): PacketView & { ad?: boolean[] } {
  const v = view(p);
  const { tpids, ...rest } = v;
  return tpids ? { ...rest, ad: tpids.map((t) => t === 0x88a8) } : rest;
}

const dir = mkdtempSync(join(tmpdir(), 'podwire-tshark-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function differential(samples: Sample[], linkType: number, name: string) {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(
    file,
    pcapFile(
      samples.map((s, i) => ({ tsSec: 1_700_000_000 + i, tsNsec: 0, data: s.frame })),
      { linkType },
    ),
  );
  const rows = runTshark(file);
  expect(rows.length).toBe(samples.length);
  const cfg = decodeConfig([EXTRA_VXLAN_PORT]);
  const out = new DecodedPacket();
  const mismatches: string[] = [];
  const kinds = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const row = rows[i];
    decodeFrame(s.frame, 0, s.frame.length, s.frame.length, s.linkType, out, cfg);
    const want: PacketView & { ad?: boolean[] } = expectedView(row, s);
    const inner = row.protocols.lastIndexOf('eth');
    if (want.vlans) {
      // tshark names 0x88a8 tags ieee8021ad: carry that into the comparison
      want.ad = row.protocols
        .slice(Math.max(inner, 0))
        .filter((p) => p === 'vlan' || p === 'ieee8021ad')
        .map((p) => p === 'ieee8021ad');
    }
    const got = actualView(out);
    try {
      // random payload bytes can make an application-layer heuristic (RTCP, ...) complain:
      // only a malformed flag within the layers podwire decodes counts
      const last = row.protocols.at(-1)!;
      const appLayer = !['data', 'tcp', 'udp', 'icmp', 'icmpv6', 'ip', 'ipv6', 'ipv6.fraghdr'].includes(last);
      if (!appLayer) expect(row.malformed, 'tshark flags the generated frame as malformed').toBe(false);
      expect(got).toEqual(want);
    } catch (e) {
      const g = got as unknown as Record<string, unknown>;
      const w = want as unknown as Record<string, unknown>;
      const diff = [...new Set([...Object.keys(g), ...Object.keys(w)])]
        .filter((k) => JSON.stringify(g[k]) !== JSON.stringify(w[k]))
        .map((k) => `${k}: podwire ${JSON.stringify(g[k])}, tshark ${JSON.stringify(w[k])}`);
      const why = diff.length > 0 ? diff.join('; ') : (e as Error).message;
      if (mismatches.length < 5)
        mismatches.push(`frame ${i + 1} (${s.kind}, ${row.protocols.join(':')}): ${why}`);
      else mismatches.push('');
    }
    kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
  }
  expect(
    mismatches.filter(Boolean).join('\n\n') +
      (mismatches.length > 5 ? `\n… ${mismatches.length} in all` : ''),
  ).toBe('');
  return kinds;
}

describe('decoders agree with tshark', () => {
  it('on every Ethernet encapsulation (seeded random corpus)', () => {
    const samples = corpus(0x5eed, 20, KINDS);
    expect(samples.length).toBeGreaterThanOrEqual(300);
    const kinds = differential(samples, LinkType.ETHERNET, 'ethernet');
    expect([...kinds.keys()].sort()).toEqual(Object.keys(KINDS).sort());
  });

  it('and tshark finds every checksum the frame builder wrote correct', () => {
    const samples = corpus(0x5eed, 10, KINDS);
    const file = join(dir, 'checksums.pcap');
    writeFileSync(
      file,
      pcapFile(samples.map((s, i) => ({ tsSec: 1_700_000_000 + i, tsNsec: 0, data: s.frame }))),
    );
    const fields = ['ip', 'tcp', 'udp', 'icmp', 'icmpv6', 'gre'].map((p) => `${p}.checksum.status`);
    const text = execFileSync(
      'tshark',
      [
        '-r',
        file,
        '-n',
        ...['ip', 'tcp', 'udp'].flatMap((p) => ['-o', `${p}.check_checksum:TRUE`]),
        ...[
          '-o',
          'ip.defragment:FALSE',
          '-o',
          'ipv6.defragment:FALSE',
          '-d',
          `udp.port==${EXTRA_VXLAN_PORT},vxlan`,
        ],
        ...['-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'frame.number'],
        ...fields.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // checksum status: 0 bad, 1 good, 2 unverified
    const statuses = text
      .split('\n')
      .flatMap((l) => l.split('\t').slice(1).join(',').split(','))
      .filter(Boolean);
    const bad = text.split('\n').filter((l) => l.split('\t').slice(1).join(',').split(',').includes('0'));
    expect(bad).toEqual([]);
    expect(statuses.filter((x) => x === '1').length).toBeGreaterThan(samples.length);
  });

  it('on Linux cooked captures (SLL and SLL2)', () => {
    differential(corpus(0xc00c, 25, { sll: COOKED_KINDS.sll }), LinkType.LINUX_SLL, 'sll');
    differential(corpus(0xc00d, 25, { sll2: COOKED_KINDS.sll2 }), LinkType.LINUX_SLL2, 'sll2');
  });
});
