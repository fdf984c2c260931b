/**
 * Live capture through the real tcpdump: clear errors (no such interface, no binary, a bad
 * filter) and a capture on the loopback interface with a BPF filter, stopped by an
 * AbortSignal. The only traffic sent is a few UDP datagrams to 127.0.0.1.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InterfaceDropCounter, readInterfaceDrops } from '../../collector/capture/interface-drops.js';
import {
  type CaptureDrops,
  captureLive,
  TcpdumpError,
  TcpdumpStderr,
  tcpdumpArgs,
} from '../../collector/capture/tcpdump.js';
import { LinkType } from '../../collector/capture/types.js';

describe('captureLive (tcpdump)', () => {
  it('builds the tcpdump command line: 256-byte snaplen, a 32 MiB buffer, immediate mode by default', () => {
    expect(tcpdumpArgs('eth0')).toEqual([
      '-i',
      'eth0',
      '-U',
      '-s',
      '256',
      '-B',
      '32768',
      '-w',
      '-',
      '--immediate-mode',
    ]);
    expect(
      tcpdumpArgs('lo', { filter: ' udp port 9 ', snaplen: 128, bufferMiB: 64, immediate: false }),
    ).toEqual(['-i', 'lo', '-U', '-s', '128', '-B', '65536', '-w', '-', '--', 'udp port 9']);
    expect(() => tcpdumpArgs('')).toThrow(RangeError);
    expect(() => tcpdumpArgs('-w')).toThrow(RangeError);
    expect(() => tcpdumpArgs('lo', { snaplen: -1 })).toThrow(RangeError);
    expect(() => tcpdumpArgs('lo', { bufferMiB: 0 })).toThrow(/capture buffer 0 MiB/);
    expect(() => tcpdumpArgs('lo', { bufferMiB: 1.5 })).toThrow(RangeError);
  });

  it("parses tcpdump's statistics reports out of its stderr (hand-written fixture of tcpdump 4.99's SIGUSR1 and exit formats)", () => {
    const e = new TcpdumpStderr();
    // split mid-line, as a pipe may deliver it
    expect(e.push('tcpdump: listening on cap1, link-type EN10MB (Ethernet), snapshot len')).toEqual([]);
    expect(e.listening).toBe(false);
    expect(
      e.push(
        'gth 256 bytes\ntcpdump: 1 packet captured, 1 packet received by filter, 0 packets dropped by kernel\n',
      ),
    ).toEqual([{ receivedByFilter: 1, droppedByKernel: 0 }]);
    expect(e.listening).toBe(true);
    expect(
      e.push(
        'tcpdump: 90 packets captured, 130 packets received by filter, 40 packets dropped by kernel, 3 packets dropped by interface\n',
      ),
    ).toEqual([{ receivedByFilter: 130, droppedByKernel: 40 }]);
    expect(
      e.push('150 packets captured\n200 packets received by filter\n50 packets dropped by kernel\n'),
    ).toEqual([{ receivedByFilter: 200, droppedByKernel: 50 }]);
    expect(e.end()).toEqual([]);
    // statistics are not part of what tcpdump "said"
    expect(e.text).toBe(
      'tcpdump: listening on cap1, link-type EN10MB (Ethernet), snapshot length 256 bytes\n',
    );
    expect(e.message()).toBe('');
  });

  it('counts interface drops from sysfs since it started, monotonic across a re-created device (stand-in sysfs tree)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'podwire-sysfs-'));
    const stats = join(root, 'class', 'net', 'cap9', 'statistics');
    const put = (f: string, v: number) => writeFileSync(join(stats, f), `${v}\n`);
    try {
      expect(readInterfaceDrops('cap9', root)).toBeNull();
      mkdirSync(stats, { recursive: true });
      put('rx_dropped', 10);
      put('rx_missed_errors', 2);
      // no rx_fifo_errors file: a driver without it counts 0
      expect(readInterfaceDrops('cap9', root)).toBe(12);
      const c = new InterfaceDropCounter('cap9', root);
      expect(c.read()).toBe(0);
      put('rx_dropped', 15);
      put('rx_fifo_errors', 1);
      expect(c.read()).toBe(6);
      put('rx_dropped', 4); // the device was re-created: its counters start again
      put('rx_missed_errors', 0);
      put('rx_fifo_errors', 0);
      expect(c.read()).toBe(10);
      expect(new InterfaceDropCounter('nosuch', root).read()).toBeNull();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
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
    const reports: CaptureDrops[] = [];
    let reported!: () => void;
    const firstReport = new Promise<void>((resolve) => {
      reported = resolve;
    });
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
        {
          filter: `udp port ${port}`,
          signal: ac.signal,
          onListening: listening,
          statsIntervalMs: 100,
          onDrops: (d) => {
            reports.push(d);
            reported();
          },
        },
      );
      await isListening;
      // a report while running: SIGUSR1 (every 100 ms) asks, and does not kill tcpdump
      await firstReport;
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
      // lo's own drops, whatever other work on this machine does to them, are a number
      expect(stats.droppedByInterface).toBeTypeOf('number');
      // the reports while running, and the one at exit
      expect(reports.length).toBeGreaterThanOrEqual(2);
      expect(reports.at(-1)).toEqual({
        receivedByFilter: stats.receivedByFilter,
        droppedByKernel: 0,
        droppedByInterface: stats.droppedByInterface,
      });
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
