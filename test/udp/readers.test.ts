/**
 * Reader threads on the sFlow socket (`podwire flows --sflow --sflow-readers N`):
 * interleaved bursts of many agents from several sender sockets, with known gaps and
 * duplicates. One reader thread (the default) or three, feeding two workers, must count
 * each agent's loss and duplicates exactly. With recvmmsg each of three readers has its own
 * SO_REUSEPORT socket and the kernel keeps each sender on one. With dgram (the fall back)
 * the three share one socket: their order stamps (taken after the read) let datagrams
 * overtake each other, and the reorder stage (collector/udp/reorder.ts) puts each agent's
 * datagrams back in sequence order before loss.ts counts them (without it, one run counted
 * 86 datagrams lost of 19 true gaps).
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDatagram } from '../../collector/sflow/encode.js';
import { Prng } from '../../collector/synth/prng.js';
import { ensureBuilt, podwire, spawnPodwire } from '../cli/helpers.js';
import { waitForOutput } from '../helpers/netns.js';
import { freeUdpPort } from '../helpers/ports.js';
import { inventory } from '../sflow/helpers.js';

const AGENTS = 12;
const PER_AGENT = 200;

let dir = '';
let inv = '';
beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'podwire-udp-readers-'));
  inv = join(dir, 'inventory.json');
  await writeFile(inv, JSON.stringify(inventory()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Plan {
  /** every datagram to send, in order: [agent index, sequence] */
  sends: [number, number][];
  lost: number[];
  duplicates: number[];
}

/** Each agent numbers 1..PER_AGENT; some numbers are never sent, some sent twice; agents interleaved. */
function plan(seed: number): Plan {
  const rng = new Prng(seed);
  const perAgent: [number, number][][] = [];
  const lost = new Array(AGENTS).fill(0);
  const duplicates = new Array(AGENTS).fill(0);
  for (let a = 0; a < AGENTS; a++) {
    const list: [number, number][] = [];
    for (let s = 1; s <= PER_AGENT; s++) {
      const r = rng.next();
      // the first and last numbers are always sent: a gap is between two received numbers
      if (s > 1 && s < PER_AGENT && r < 0.08) {
        lost[a]++;
        continue;
      }
      list.push([a, s]);
      if (r > 0.95) {
        list.push([a, s]);
        duplicates[a]++;
      }
    }
    perAgent.push(list);
  }
  const sends: [number, number][] = [];
  const at = new Array(AGENTS).fill(0);
  while (sends.length < perAgent.reduce((n, l) => n + l.length, 0)) {
    // runs of up to 16 from one agent, as a busy switch sends
    const a = rng.int(0, AGENTS - 1);
    for (let n = rng.int(1, 16); n > 0 && at[a] < perAgent[a].length; n--) sends.push(perAgent[a][at[a]++]);
  }
  return { sends, lost, duplicates };
}

const agentAddress = (a: number) => `10.77.0.${a + 1}`;

async function run(readers: number, method: 'recvmmsg' | 'dgram' = 'recvmmsg'): Promise<string> {
  const port = await freeUdpPort('udp4');
  const { child, out, exited } = spawnPodwire(
    [
      'flows',
      '--sflow',
      `127.0.0.1:${port}`,
      '--inventory',
      inv,
      '--sflow-readers',
      String(readers),
      '--sflow-workers',
      '2',
      '--duration',
      '4s',
    ],
    method === 'dgram' ? { PODWIRE_UDP_RECEIVE: 'dgram' } : {},
  );
  // recvmmsg must really be in use (koffi loaded), not a silent fall back to dgram
  const how = method === 'dgram' ? 'dgram: PODWIRE_UDP_RECEIVE=dgram' : 'recvmmsg';
  await waitForOutput(
    child,
    'stderr',
    new RegExp(String.raw`listening for sFlow .*; ${readers} reader threads \(${how}\), 2 intake workers`),
  );
  const p = plan(13 + readers);
  // a socket per agent: an agent always sends from one socket (a socket's sends leave in
  // order, several sockets' queued sends do not keep their order between them), and with
  // recvmmsg's SO_REUSEPORT sockets the kernel spreads the twelve over the readers
  const sockets: Socket[] = Array.from({ length: AGENTS }, () => createSocket('udp4'));
  let i = 0;
  for (const [a, seq] of p.sends) {
    const d = encodeDatagram({ agent: agentAddress(a), sequence: seq, uptimeMs: 1000 + seq, samples: [] });
    // bursts of 400 without waiting, so several readers have datagrams to race for and
    // their batches hold more of one agent's datagrams than the sequence window (32)
    sockets[a].send(d, port, '127.0.0.1');
    if (++i % 400 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 100));
  for (const s of sockets) s.close();
  const [code] = (await exited) as [number | null];
  expect(code, out.stderr).toBe(0);
  expect(out.stderr).toMatch(/ kernel_drops=0 overload_drops=0 /);
  const perReader = /reader_datagrams=([\d/]+)/.exec(out.stderr)![1].split('/').map(Number);
  expect(perReader).toHaveLength(readers);
  expect(perReader.reduce((n, x) => n + x, 0)).toBe(p.sends.length);
  // the race this test is about took place: more than one thread read the agents' datagrams
  if (readers > 1) expect(perReader.filter((x) => x > 0).length).toBeGreaterThan(1);
  for (let a = 0; a < AGENTS; a++) {
    const sent = p.sends.filter(([x]) => x === a).length;
    const line = new RegExp(`agent ${agentAddress(a).replaceAll('.', '\\.')}: (.*)`).exec(out.stderr)?.[1];
    expect(line, `agent ${a}`).toBeDefined();
    const field = (name: string) => Number(new RegExp(`\\b${name}=(\\d+)`).exec(line!)?.[1]);
    expect(field('datagrams'), `${agentAddress(a)}: ${line}`).toBe(sent);
    expect(field('lost_datagrams'), `${agentAddress(a)}: ${line}`).toBe(p.lost[a]);
    expect(field('duplicate_datagrams'), `${agentAddress(a)}: ${line}`).toBe(p.duplicates[a]);
    expect(field('sequence_resets'), `${agentAddress(a)}: ${line}`).toBe(0);
  }
  return out.stderr;
}

describe('several reader threads on one socket', () => {
  it('--sflow-readers takes a whole number 0..64', async () => {
    for (const bad of ['-1', '65', '1.5', 'many']) {
      const r = await podwire([
        'flows',
        '--sflow',
        '127.0.0.1:6343',
        '--sflow-readers',
        bad,
        '--inventory',
        inv,
      ]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--sflow-readers: a whole number 0\.\.64/);
    }
  });

  it('0 readers: the main thread reads, as before', async () => {
    const port = await freeUdpPort('udp4');
    const { child, out, exited } = spawnPodwire([
      'flows',
      '--sflow',
      `127.0.0.1:${port}`,
      '--inventory',
      inv,
      '--sflow-readers',
      '0',
      '--duration',
      '1s',
    ]);
    await waitForOutput(child, 'stderr', /listening for sFlow on .*\(receive buffer \d+ bytes[^)]*\)\n/);
    const [code] = (await exited) as [number | null];
    expect(code, out.stderr).toBe(0);
    expect(out.stderr).not.toMatch(/reader threads|reader_datagrams/);
  });

  it('one reader thread, two workers: each agent’s loss and duplicates exact', async () => {
    await run(1);
  });

  it('three readers, two workers: read by several threads, each agent’s loss and duplicates exact', async () => {
    await run(3);
  });

  it('the same through dgram (PODWIRE_UDP_RECEIVE=dgram, the fall back where recvmmsg cannot load)', async () => {
    await run(1, 'dgram');
    await run(3, 'dgram');
  });
});
