/**
 * The listener's edges and the CLI's --sflow option: bind errors, the /proc/net/udp drop
 * count, usage errors, and a hand-built sampled export through `podwire flows --sflow`.
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDatagram } from '../../collector/sflow/encode.js';
import {
  DEFAULT_RECV_BUFFER,
  dropsForPort,
  receiveBufferText,
  SflowListener,
} from '../../collector/sflow/listener.js';
import { readSflowCapture } from '../../collector/sflow/replay.js';
import { agentShard } from '../../collector/sflow/workers.js';
import { podFrame } from '../../collector/synth/scenario.js';
import { ensureBuilt, type FlowRec, parseJsonl, podwire, spawnPodwire } from '../cli/helpers.js';
import { waitForOutput } from '../helpers/netns.js';
import { freeUdpPort } from '../helpers/ports.js';
import { inventory, PODS, type SflowFixture } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sflow/', import.meta.url));

let dir = '';
let inv = '';
beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'podwire-sflow-cli-'));
  inv = join(dir, 'inventory.json');
  await writeFile(inv, JSON.stringify(inventory()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('receive buffer', () => {
  it('a real socket gets what net.core.rmem_max allows, and the startup text says how to raise a cap', async () => {
    const max = Number(await readFile('/proc/sys/net/core/rmem_max', 'utf8'));
    const l = await SflowListener.open({ host: '127.0.0.1', port: 0, onDatagram: () => {} });
    try {
      // Linux grants twice the asked size, capped at rmem_max first
      expect(l.recvBufferSize).toBe(2 * Math.min(DEFAULT_RECV_BUFFER, max));
      const text = receiveBufferText(l.recvBufferSize);
      if (max < DEFAULT_RECV_BUFFER)
        expect(text).toBe(
          `receive buffer ${l.recvBufferSize} bytes, capped by net.core.rmem_max ${max}: for bursts, sysctl -w net.core.rmem_max=${DEFAULT_RECV_BUFFER}`,
        );
      else expect(text).toBe(`receive buffer ${l.recvBufferSize} bytes`);
    } finally {
      await l.close();
    }
    expect(receiveBufferText(2 * DEFAULT_RECV_BUFFER)).toBe(
      `receive buffer ${2 * DEFAULT_RECV_BUFFER} bytes`,
    );
  });
});

describe('listener', () => {
  it('a port already taken is an error naming it', async () => {
    const a = await SflowListener.open({ host: '127.0.0.1', port: 0, onDatagram: () => {} });
    try {
      await expect(
        SflowListener.open({ host: '127.0.0.1', port: a.port, onDatagram: () => {} }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await a.close();
    }
  });

  it('reads the drops column of its port from /proc/net/udp', () => {
    const text = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  112: 0100007F:18BB 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123 2 0000000000000000 17',
      '  113: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 124 2 0000000000000000 5',
    ].join('\n');
    expect(dropsForPort(text, 6331)).toBe(17);
    expect(dropsForPort(text, 53)).toBe(5);
    expect(dropsForPort(text, 6343)).toBeNull();
  });
});

describe('podwire flows --sflow', () => {
  it('usage errors exit 2 with a message', async () => {
    const cases: [string[], RegExp][] = [
      [['--sflow', '127.0.0.1:6343', '--pcap', 'x.pcap'], /exactly one input/],
      // without a value it is the default address, still an input of its own
      [['--pcap', 'x.pcap', '--sflow'], /exactly one input/],
      [[], /give exactly one input: .*--sflow ADDR:PORT/],
      [['--sflow', 'localhost:6343'], /not an IPv4 or IPv6 address/],
      [['--sflow', '::1:6343'], /not ADDR:PORT|\[ADDR\]:PORT/],
      [['--sflow', '127.0.0.1:70000'], /not a port/],
      [['--sflow', '127.0.0.1'], /not ADDR:PORT/],
      [['--pcap', 'x.pcap', '--duration', '1s'], /--duration applies to --sflow and --netflow only/],
      [['--sflow', '127.0.0.1:6343', '--duration', 'soon'], /not a duration/],
    ];
    for (const [args, msg] of cases) {
      const r = await podwire(['flows', ...args, '--inventory', inv]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  });

  it('a port it cannot bind exits 1 naming the address', async () => {
    const taken = await SflowListener.open({ host: '127.0.0.1', port: 0, onDatagram: () => {} });
    try {
      const r = await podwire([
        'flows',
        '--sflow',
        `127.0.0.1:${taken.port}`,
        '--inventory',
        inv,
        '--duration',
        '1s',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127.0.0.1:${taken.port}: .*EADDRINUSE`));
    } finally {
      await taken.close();
    }
  });

  it('over IPv6 with --duration: sampled flows scaled by the rate, named by agent and ifIndex, loss on the summary', async () => {
    const port = await freeUdpPort('udp6');
    const {
      child: cli,
      out,
      exited,
    } = spawnPodwire(['flows', '--sflow', `[::1]:${port}`, '--inventory', inv, '--duration', '2s']);
    await waitForOutput(
      cli,
      'stderr',
      /listening for sFlow on \[::1\]:\d+ \(receive buffer \d+ bytes[^)]*\)/,
    );
    const [web1, web2] = [PODS[0].leg, PODS[1].leg];
    const frame = podFrame(web1, web2, { proto: 'tcp', sport: 41000, dport: 8080, size: 500 }, [
      { vid: 100 },
    ]);
    const sender = createSocket('udp6');
    // datagrams 1, 2 and 4 (3 is lost), samples 1..2, 3..4, 7..8 (5, 6 lost) at 1 in 512
    for (const [seq, first] of [
      [1, 1],
      [2, 3],
      [4, 7],
    ]) {
      const d = encodeDatagram({
        agent: '2001:db8::10',
        sequence: seq,
        samples: [first, first + 1].map((s) => ({
          kind: 'flow' as const,
          sequence: s,
          sourceIndex: 12,
          samplingRate: 512,
          samplePool: s * 512,
          records: [{ type: 'header' as const, frame }],
        })),
      });
      await new Promise<void>((r, j) => sender.send(d, port, '::1', (e) => (e ? j(e) : r())));
    }
    sender.close();
    const [code] = (await exited) as [number | null];
    expect(code, out.stderr).toBe(0);
    const flows = parseJsonl<FlowRec & { observation_point: string }>(out.stdout);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({
      observation_point: 'sflow:[2001:db8::10]:12',
      vlan: 100,
      packets: 6 * 512,
      bytes: 6 * 512 * frame.length,
      samples: 6,
      sampling_rate: 512,
      src: { namespace: 'shop', pod: 'web-1' },
      dst: { namespace: 'shop', pod: 'web-2' },
    });
    expect(out.stderr).toMatch(
      / datagrams=3 flow_samples=6 .* lost_datagrams=1 lost_samples=2 kernel_drops=0 /,
    );
    expect(out.stderr).toMatch(/agent \[2001:db8::10\]: .*lost_packets_estimate=1024 sample_loss=25\.00%/);
  });
});

describe('podwire flows --sflow --sflow-workers', () => {
  it('datagrams are sharded by agent address', () => {
    const dgram = (agent: string) => encodeDatagram({ agent, sequence: 1, samples: [] });
    const a = agentShard(dgram('10.0.0.1'), 2);
    expect(agentShard(dgram('10.0.0.1'), 2)).toBe(a);
    // the two agents of the test below go to different workers
    expect(agentShard(dgram('10.0.0.2'), 2)).toBe(1 - a);
    const v6 = new Set(
      ['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4'].map((x) => agentShard(dgram(x), 2)),
    );
    expect(v6).toEqual(new Set([0, 1]));
    expect(agentShard(Buffer.alloc(3), 4)).toBe(0);
    for (let n = 1; n <= 8; n++) expect(agentShard(dgram('192.0.2.9'), n)).toBeLessThan(n);
  });

  it('two agents sharded over two worker threads: each agent’s flows whole, named, no loss', async () => {
    const fx = JSON.parse(await readFile(`${FIXTURES}fixture.json`, 'utf8')) as SflowFixture;
    const datagrams = await readSflowCapture(`${FIXTURES}pmacct-export.pcap`, fx.port);
    await writeFile(inv, await readFile(`${FIXTURES}inventory.json`));
    const port = await freeUdpPort('udp4');
    const {
      child: cli,
      out,
      exited,
    } = spawnPodwire([
      'flows',
      '--sflow',
      `127.0.0.1:${port}`,
      '--inventory',
      inv,
      '--sflow-workers',
      '2',
      '--duration',
      '3s',
    ]);
    await waitForOutput(cli, 'stderr', /listening for sFlow on .*2 intake workers/);
    const sender = createSocket('udp4');
    // the fixture as agent 10.0.0.1 and again as 10.0.0.2 (the agent address rewritten)
    for (const agent of [0x0a000001, 0x0a000002]) {
      for (const d of datagrams) {
        const m = Buffer.from(d.data);
        m.writeUInt32BE(agent, 8);
        await new Promise<void>((r, j) => sender.send(m, port, '127.0.0.1', (e) => (e ? j(e) : r())));
      }
    }
    sender.close();
    const [code] = (await exited) as [number | null];
    expect(code, out.stderr).toBe(0);
    const flows = parseJsonl<FlowRec & { observation_point: string }>(out.stdout);
    for (const agent of ['10.0.0.1', '10.0.0.2']) {
      const got: Record<string, { packets: number; bytes: number }> = {};
      for (const f of flows.filter(
        (x) => x.observation_point === `sflow:${agent}:1` && x.vlan !== fx.fillerVlan,
      )) {
        const k = `${f.vlan} ${f.src_ip}:${f.src_port} > ${f.dst_ip}:${f.dst_port}`;
        got[k] ??= { packets: 0, bytes: 0 };
        got[k].packets += f.packets;
        got[k].bytes += f.bytes;
      }
      expect(got, agent).toEqual(fx.truth);
    }
    expect(new Set(flows.map((f) => f.observation_point))).toEqual(
      new Set(['sflow:10.0.0.1:1', 'sflow:10.0.0.2:1']),
    );
    expect(out.stderr).toMatch(new RegExp(` datagrams=${2 * datagrams.length} `));
    expect(out.stderr).toMatch(/lost_datagrams=0 lost_samples=0 kernel_drops=0 overload_drops=0 /);
    expect(out.stderr).toMatch(/agent 10\.0\.0\.1: /);
    expect(out.stderr).toMatch(/agent 10\.0\.0\.2: /);
  });
});
