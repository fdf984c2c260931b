/**
 * Fast replay of the export pmacctd made (test/fixtures/sflow/, see pmacct.test.ts):
 * tshark must decode it sample by sample as podwire does; podwire's flows must equal
 * tshark's counts of the original pcap; dropping datagrams must show up as loss; and the
 * same datagrams sent to the UDP listener over loopback (IPv4 and IPv6) give the same flows.
 */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RECV_BUFFER, SflowListener } from '../../collector/sflow/listener.js';
import { type CapturedDatagram, readSflowCapture } from '../../collector/sflow/replay.js';
import { collectingIntake, podOfIp, podwireSamples, type SflowFixture, totals } from './helpers.js';
import { tsharkSamples } from './tools.js';

const DIR = fileURLToPath(new URL('../fixtures/sflow/', import.meta.url));
const CAPTURE = `${DIR}pmacct-export.pcap`;

let fx: SflowFixture;
let datagrams: CapturedDatagram[];

beforeAll(async () => {
  fx = JSON.parse(await readFile(`${DIR}fixture.json`, 'utf8')) as SflowFixture;
  datagrams = await readSflowCapture(CAPTURE, fx.port);
});

const podTotals = (flows: ReturnType<typeof collectingIntake>['flows']) =>
  Object.fromEntries(
    [...totals(flows)]
      .filter(([k]) => !k.startsWith(`${fx.fillerVlan} `))
      .map(([k, v]) => [k, { packets: v.packets, bytes: v.bytes }]),
  );

describe('the pmacct export fixture', () => {
  it('tshark decodes every sample as podwire does (sequences, rates, pools, ifIndexes, VLANs, header bytes)', async () => {
    const ours = podwireSamples(datagrams);
    const theirs = await tsharkSamples(CAPTURE, fx.port);
    expect(theirs.length).toBeGreaterThanOrEqual(fx.podPackets);
    expect(ours.samples).toEqual(theirs);
    expect(ours.intake.summary()).toMatchObject({
      datagrams: datagrams.length,
      lost_datagrams: 0,
      lost_samples: 0,
    });
  });

  it('flows: packets and bytes per flow equal tshark’s count of the pcap, VLANs and pods match', () => {
    const c = collectingIntake();
    for (const d of datagrams) c.intake.receive(d.data, 0, d.data.length, d.tUs);
    c.table.flush();
    expect(podTotals(c.flows)).toEqual(fx.truth);
    for (const f of c.flows.filter((x) => x.vlan !== fx.fillerVlan)) {
      expect(f.src?.pod).toBe(podOfIp(f.srcIp));
      expect(f.dst?.pod).toBe(podOfIp(f.dstIp));
      expect(f.src?.vlan).toBe(f.vlan);
      expect(c.intake.observations.name(f.observation)).toBe(`sflow:${fx.agent}:1`);
    }
  });

  it('datagrams lost on the way show up as lost datagrams and samples, with the packets they hid', () => {
    const c = collectingIntake();
    let lostSamples = 0;
    let lostDatagrams = 0;
    // drop every 7th datagram, but never the last (a loss at the very end is invisible)
    datagrams.forEach((d, i) => {
      if (i % 7 === 3 && i < datagrams.length - 1) {
        lostDatagrams++;
        lostSamples += d.data.readUInt32BE(24); // the datagram's sample count (IPv4 agent)
        return;
      }
      c.intake.receive(d.data, 0, d.data.length, d.tUs);
    });
    expect(lostDatagrams).toBeGreaterThan(5);
    c.intake.finish();
    expect(c.intake.agentSummaries()[0]).toMatchObject({
      lost_datagrams: lostDatagrams,
      lost_samples: lostSamples,
      lost_packets_estimate: lostSamples,
      sequence_resets: 0,
    });
    expect(c.intake.agentSummaries()[0].sample_loss_ratio).toBeCloseTo(
      lostSamples / (lostSamples + c.intake.decodeStats.flowSamples),
      10,
    );
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`sent to the UDP listener on ${host}: the same flows; granted buffer and kernel drops reported`, async () => {
      const c = collectingIntake();
      const listener = await SflowListener.open({
        host,
        port: 0,
        onDatagram: (m, tUs) => c.intake.receive(m, 0, m.length, tUs),
      });
      // Linux grants min(asked, net.core.rmem_max), doubled for its bookkeeping
      const rmemMax = Number(await readFile('/proc/sys/net/core/rmem_max', 'utf8'));
      expect(listener.recvBufferSize).toBe(2 * Math.min(DEFAULT_RECV_BUFFER, rmemMax));
      const sender = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      try {
        for (const d of datagrams) {
          await new Promise<void>((resolve, reject) =>
            sender.send(d.data, listener.port, host, (err) => (err ? reject(err) : resolve())),
          );
        }
        const end = Date.now() + 5000;
        while (listener.stats.datagrams < datagrams.length && Date.now() < end)
          await new Promise((r) => setTimeout(r, 10));
        expect(listener.stats.datagrams).toBe(datagrams.length);
        expect(await listener.kernelDrops()).toBe(0);
      } finally {
        sender.close();
        await listener.close();
      }
      c.table.flush();
      expect(podTotals(c.flows)).toEqual(fx.truth);
    });
  }
});
