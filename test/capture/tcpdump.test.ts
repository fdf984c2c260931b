/**
 * Live capture through the real tcpdump: clear errors (no such interface, no binary, a bad
 * filter) and a capture on the loopback interface with a BPF filter, stopped by an
 * AbortSignal. The only traffic sent is a few UDP datagrams to 127.0.0.1.
 */
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { captureLive, TcpdumpError, tcpdumpArgs } from '../../collector/capture/tcpdump.js';
import { LinkType } from '../../collector/capture/types.js';

describe('captureLive (tcpdump)', () => {
  it('builds the tcpdump command line', () => {
    expect(tcpdumpArgs('eth0')).toEqual(['-i', 'eth0', '-U', '-s', '0', '-w', '-']);
    expect(tcpdumpArgs('lo', { filter: ' udp port 9 ', snaplen: 128, immediate: true })).toEqual([
      '-i',
      'lo',
      '-U',
      '-s',
      '128',
      '-w',
      '-',
      '--immediate-mode',
      '--',
      'udp port 9',
    ]);
    expect(() => tcpdumpArgs('')).toThrow(RangeError);
    expect(() => tcpdumpArgs('-w')).toThrow(RangeError);
    expect(() => tcpdumpArgs('lo', { snaplen: -1 })).toThrow(RangeError);
  });

  it("rejects with tcpdump's own message for an interface that does not exist", async () => {
    const p = captureLive('pwnosuch9', () => expect.unreachable());
    await expect(p).rejects.toBeInstanceOf(TcpdumpError);
    await expect(p).rejects.toThrow(
      /^tcpdump on pwnosuch9 exited with code 1: tcpdump: pwnosuch9: No such device exists/,
    );
    await expect(p).rejects.toMatchObject({ exitCode: 1, stderr: expect.stringContaining('No such device') });
  });

  it('rejects with a bad filter', async () => {
    await expect(captureLive('lo', () => {}, { filter: 'udp and and' })).rejects.toThrow(/syntax error/);
  });

  it('says how to install tcpdump when the binary is missing', async () => {
    await expect(captureLive('lo', () => {}, { tcpdumpPath: '/nonexistent/tcpdump' })).rejects.toThrow(
      'tcpdump not found at /nonexistent/tcpdump: install the Debian package tcpdump',
    );
  });

  it('resolves at once for an already aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    const stats = await captureLive('pwnosuch9', () => {}, { signal: ac.signal });
    expect(stats.packets).toBe(0);
  });

  it('captures UDP datagrams to 127.0.0.1 on lo with a BPF filter and stops on abort', async () => {
    const receiver = createSocket('udp4');
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const port = receiver.address().port;
    const sender = createSocket('udp4');
    const payloads = Array.from({ length: 5 }, (_, i) => Buffer.from(`podwire-capture-test ${port} #${i}`));
    const ac = new AbortController();
    const seen: {
      payload: string;
      linkType: number;
      capLength: number;
      wireLength: number;
      tsSec: number;
    }[] = [];
    const start = Date.now() / 1000;
    let listening!: () => void;
    const isListening = new Promise<void>((resolve) => {
      listening = resolve;
    });
    try {
      const capture = captureLive(
        'lo',
        (p) => {
          const frame = p.data.subarray(p.offset, p.offset + p.capLength);
          seen.push({
            payload: frame.subarray(frame.length - payloads[0].length).toString(),
            linkType: p.linkType,
            capLength: p.capLength,
            wireLength: p.wireLength,
            tsSec: p.tsSec + p.tsNsec / 1e9,
          });
          if (seen.length === payloads.length) ac.abort();
        },
        { filter: `udp port ${port}`, signal: ac.signal, immediate: true, onListening: listening },
      );
      await isListening;
      for (const payload of payloads) {
        await new Promise<void>((resolve, reject) =>
          sender.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
        );
      }
      const timeout = setTimeout(() => ac.abort(), 20_000);
      const stats = await capture;
      clearTimeout(timeout);
      expect(seen.map((s) => s.payload)).toEqual(payloads.map(String));
      for (const s of seen) {
        expect(s.linkType).toBe(LinkType.ETHERNET);
        expect(s.capLength).toBe(14 + 20 + 8 + payloads[0].length);
        expect(s.wireLength).toBe(s.capLength);
        expect(s.tsSec).toBeGreaterThanOrEqual(start - 1);
        expect(s.tsSec).toBeLessThan(Date.now() / 1000 + 1);
      }
      expect(stats.packets).toBe(payloads.length);
      expect(stats.info).toMatchObject({ format: 'pcap', linkType: LinkType.ETHERNET, resolution: 'us' });
      expect(stats.receivedByFilter).toBeGreaterThanOrEqual(payloads.length);
      expect(stats.droppedByKernel).toBe(0);
    } finally {
      sender.close();
      receiver.close();
    }
  });

  it("stops tcpdump and passes the handler's exception through", async () => {
    const receiver = createSocket('udp4');
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const port = receiver.address().port;
    const boom = new Error('handler failed');
    let ready!: () => void;
    const isListening = new Promise<void>((resolve) => {
      ready = resolve;
    });
    try {
      const capture = captureLive(
        'lo',
        () => {
          throw boom;
        },
        { filter: `udp dst port ${port}`, immediate: true, onListening: ready },
      );
      await isListening;
      const again = setInterval(() => receiver.send('x', port, '127.0.0.1'), 200);
      receiver.send('x', port, '127.0.0.1');
      await expect(capture)
        .rejects.toBe(boom)
        .finally(() => clearInterval(again));
    } finally {
      receiver.close();
    }
  });
});
