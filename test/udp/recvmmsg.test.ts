/**
 * The recvmmsg socket (collector/udp/recvmmsg.ts) on loopback, against Node's own dgram
 * sockets as senders: what one call reads (payloads, sizes up to the largest datagram,
 * senders), bind errors as dgram gives them, IPv6 with IPv4 senders, the receive buffer,
 * and UdpReaders reading through it with nothing lost when they stop.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AckMessage,
  BATCH_BYTES,
  DatagramRecord,
  type InputMessage,
  readRecord,
  recordSize,
} from '../../collector/udp/batch.js';
import {
  closeUdpSocket,
  MmsgReceiver,
  openUdpSocket,
  recvmmsgUnavailable,
} from '../../collector/udp/recvmmsg.js';
import { ensureBuilt } from '../cli/helpers.js';

type ReadersModule = typeof import('../../collector/udp/readers.js');

/** The built readers: their threads run dist/'s reader-thread.js, as in service. */
async function builtReaders(): Promise<ReadersModule> {
  await ensureBuilt();
  return import(new URL('../../dist/collector/udp/readers.js', import.meta.url).href);
}

/** Resolves once `cond` holds (checked every 10 ms; fails after 5 s, naming `what`). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (const end = performance.now() + 5000; !cond(); ) {
    if (performance.now() > end) throw new Error(`not within 5 s: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves when a reader's channel says it sends no more. */
function ended(input: MessagePort): Promise<void> {
  return new Promise((resolve) =>
    input.on('message', (m: InputMessage) => {
      if (m.type === 'end') resolve();
    }),
  );
}

/** recvmmsg readers on a free loopback port, one shard. */
async function openReaders(readers: number, maxInFlight?: number) {
  const { UdpReaders } = await builtReaders();
  return UdpReaders.open({
    host: '127.0.0.1',
    port: 0,
    readers,
    shards: 1,
    recvBufferSize: 8 << 20,
    method: 'recvmmsg',
    maxInFlight,
  });
}

const opened: number[] = [];
const senders: Socket[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeUdpSocket(fd);
  for (const s of senders.splice(0)) s.close();
});

function open(host: string, v6 = false, buffer = 1 << 20) {
  const s = openUdpSocket(host, 0, v6, buffer);
  opened.push(s.fd);
  return s;
}

async function sender(type: 'udp4' | 'udp6', host: string): Promise<Socket> {
  const s = createSocket(type);
  senders.push(s);
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  return s;
}

function send(s: Socket, msg: Uint8Array, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => s.send(msg, port, host, (err) => (err ? reject(err) : resolve())));
}

/** Reads until `want` datagrams came (or 2 s passed), as [payload, family, address bytes, port]. */
async function readAll(r: MmsgReceiver, want: number) {
  const got: { payload: Buffer; family: number; address: Buffer; port: number }[] = [];
  const until = performance.now() + 2000;
  while (got.length < want && performance.now() < until) {
    const n = r.receive();
    for (let i = 0; i < n; i++) {
      const a = r.address(i);
      got.push({
        payload: Buffer.from(r.data.subarray(r.payload(i), r.payload(i) + r.length(i))),
        family: r.family(i),
        address: Buffer.from(r.names.subarray(a, a + (r.family(i) === 4 ? 4 : 16))),
        port: r.port(i),
      });
    }
    if (n === 0) await new Promise((res) => setTimeout(res, 5));
  }
  return got;
}

describe('recvmmsg socket', () => {
  it('loads here (koffi and libc): the readers do not fall back to dgram', () => {
    expect(recvmmsgUnavailable()).toBeNull();
  });

  it('reads many datagrams a call: every payload and size (0 to 65,507 bytes), the sender’s address and port', async () => {
    const sock = open('127.0.0.1');
    const r = new MmsgReceiver(sock.fd, 8);
    try {
      const tx = await sender('udp4', '127.0.0.1');
      const sizes = [0, 1, 1400, 9000, 65_507, 7, 8, 9, 10, 11, 12, 13];
      for (const [i, n] of sizes.entries()) {
        await send(tx, Buffer.alloc(n, i + 1), sock.port, '127.0.0.1');
      }
      const got = await readAll(r, sizes.length);
      expect(got.map((g) => g.payload.length)).toEqual(sizes);
      got.forEach((g, i) => {
        expect(g.payload.every((b) => b === i + 1)).toBe(true);
        expect(g.family).toBe(4);
        expect([...g.address]).toEqual([127, 0, 0, 1]);
        expect(g.port).toBe(tx.address().port);
      });
      // nothing more queued: a call returns 0, not an error
      expect(r.receive()).toBe(0);
    } finally {
      r.free();
    }
  });

  it('a bound port answers EADDRINUSE as dgram does; the receive buffer is what the kernel granted', () => {
    const sock = open('127.0.0.1', false, 1 << 20);
    expect(() => openUdpSocket('127.0.0.1', sock.port, false, 1 << 20)).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE', message: `bind EADDRINUSE 127.0.0.1:${sock.port}` }),
    );
    // Linux doubles the ask, capped by net.core.rmem_max
    const max = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    expect(sock.recvBufferSize).toBe(2 * Math.min(1 << 20, max));
    expect(() => openUdpSocket('192.0.2.1', 0, false, 1 << 20)).toThrow(
      expect.objectContaining({ code: 'EADDRNOTAVAIL' }),
    );
  });

  it('an IPv6 socket on :: takes IPv6 senders and IPv4 ones (v4-mapped, family 6, as dgram names them)', async () => {
    const sock = open('::', true);
    const r = new MmsgReceiver(sock.fd, 4);
    try {
      await send(await sender('udp6', '::1'), Buffer.from('six'), sock.port, '::1');
      await send(await sender('udp4', '127.0.0.1'), Buffer.from('four'), sock.port, '127.0.0.1');
      const got = await readAll(r, 2);
      expect(got.map((g) => g.payload.toString())).toEqual(['six', 'four']);
      expect(got.map((g) => g.family)).toEqual([6, 6]);
      expect(got[0].address.toString('hex')).toBe('00000000000000000000000000000001');
      expect(got[1].address.toString('hex')).toBe('00000000000000000000ffff7f000001');
    } finally {
      r.free();
    }
  });
});

describe('UdpReaders through recvmmsg', () => {
  it('bursts beyond one call’s 64 datagrams: every datagram reaches the consumer once, in order, also what was queued at close', async () => {
    const readers = await openReaders(1);
    expect(readers.method).toBe('recvmmsg');
    const [input] = readers.inputsOf(0);
    const seen: number[] = [];
    const senders4: [string, number][] = [];
    const rec = new DatagramRecord();
    input.on('message', (m: InputMessage) => {
      if (m.type !== 'batch') return;
      const dv = new DataView(m.buf);
      const u8 = new Uint8Array(m.buf);
      for (let o = 0; o < m.used; ) {
        o = readRecord(dv, o, rec);
        seen.push(dv.getUint32(rec.payloadOffset));
        const a = rec.addressOffset;
        senders4.push([`${u8[a]}.${u8[a + 1]}.${u8[a + 2]}.${u8[a + 3]}`, rec.port]);
      }
      input.postMessage({ type: 'ack', buf: m.buf } satisfies AckMessage, [m.buf]);
    });
    const tx = await sender('udp4', '127.0.0.1');
    const N = 2000;
    const sent: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const b = Buffer.alloc(200);
      b.writeUInt32BE(i);
      sent.push(send(tx, b, readers.port, '127.0.0.1'));
    }
    // all in the socket's queue or read; the last ones still queued when close() begins
    await Promise.all(sent);
    const end = ended(input);
    await readers.close();
    await end;
    input.close();
    const t = readers.totals;
    // whatever the readers did not read before they stopped was counted at close
    expect(seen.length + t.stopDrops).toBe(N);
    expect(t.datagrams).toBe(N);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
    expect(new Set(senders4.map(([a, p]) => `${a}:${p}`))).toEqual(
      new Set([`127.0.0.1:${tx.address().port}`]),
    );
  });
});

describe('several recvmmsg readers: an SO_REUSEPORT socket each', () => {
  it('a socket of someone else in the group is refused like a port in use; one reader binds a plain socket', async () => {
    const { UdpReaders } = await builtReaders();
    // "someone else": a socket these readers did not open, in the same SO_REUSEPORT group
    const other = openUdpSocket('127.0.0.1', 0, false, 1 << 20, true);
    opened.push(other.fd);
    const o = {
      host: '127.0.0.1',
      port: other.port,
      shards: 1,
      recvBufferSize: 1 << 20,
      method: 'recvmmsg' as const,
    };
    await expect(UdpReaders.open({ ...o, readers: 2 })).rejects.toMatchObject({
      code: 'EADDRINUSE',
      message: expect.stringMatching(/1 other SO_REUSEPORT socket/),
    });
    await expect(UdpReaders.open({ ...o, readers: 1 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // the refused opens closed what they had bound: the port is the other socket's alone
    closeUdpSocket(opened.pop()!);
    const r = await UdpReaders.open({ ...o, readers: 2 });
    await r.close();
  });

  it('twelve senders over three readers: each sender read by one reader, in order; more than one reader used', async () => {
    const readers = await openReaders(3);
    const rec = new DatagramRecord();
    /** per sender port: [reader index, number] in delivery order */
    const got = new Map<number, [number, number][]>();
    readers.inputsOf(0).forEach((input, k) => {
      input.on('message', (m: InputMessage) => {
        if (m.type !== 'batch') return;
        const dv = new DataView(m.buf);
        for (let o = 0; o < m.used; ) {
          o = readRecord(dv, o, rec);
          const list = got.get(rec.port) ?? [];
          list.push([k, dv.getUint32(rec.payloadOffset)]);
          got.set(rec.port, list);
        }
        input.postMessage({ type: 'ack', buf: m.buf } satisfies AckMessage, [m.buf]);
      });
    });
    const txs = await Promise.all(Array.from({ length: 12 }, () => sender('udp4', '127.0.0.1')));
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      for (const tx of txs) {
        const b = Buffer.alloc(64);
        b.writeUInt32BE(i);
        sent.push(send(tx, b, readers.port, '127.0.0.1'));
      }
    }
    await Promise.all(sent);
    await until(() => readers.totals.datagrams === 1200, 'all 1200 read');
    const end = Promise.all(readers.inputsOf(0).map(ended));
    await readers.close();
    await end;
    for (const input of readers.inputsOf(0)) input.close();
    expect(readers.totals.datagrams).toBe(1200);
    for (const tx of txs) {
      const list = got.get(tx.address().port) ?? [];
      expect(list.map(([, n]) => n)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(new Set(list.map(([k]) => k)).size).toBe(1);
    }
    expect(readers.perReader().filter((n) => n > 0).length).toBeGreaterThan(1);
  });
});

describe('a consumer that does not keep up', () => {
  it('batches beyond maxInFlight are dropped and counted (overloadDrops), a partial one waits; nothing vanishes', async () => {
    const readers = await openReaders(1, 2);
    const [input] = readers.inputsOf(0);
    let delivered = 0;
    const held: ArrayBuffer[] = [];
    input.on('message', (m: InputMessage) => {
      if (m.type !== 'batch') return;
      delivered += m.count;
      // acknowledged only at the end: the reader has 2 batches out and no more room
      held.push(m.buf);
    });
    const tx = await sender('udp4', '127.0.0.1');
    const N = 1500;
    const sent: Promise<void>[] = [];
    for (let i = 0; i < N; i++) sent.push(send(tx, Buffer.alloc(1200, 1), readers.port, '127.0.0.1'));
    await Promise.all(sent);
    await until(() => readers.totals.datagrams === N && held.length === 2, 'all read, two batches out');
    const t = readers.totals;
    // a batch holds `per` of these: two were sent (the first may have gone out part full),
    // the rest dropped a full batch at a time, and the last, part full, waits for an
    // acknowledgement
    const per = Math.floor(BATCH_BYTES / recordSize(1200));
    expect(delivered).toBeLessThanOrEqual(2 * per);
    expect(t.overloadDrops % per).toBe(0);
    expect(t.overloadDrops).toBeGreaterThan(0);
    expect(N - delivered - t.overloadDrops).toBeLessThan(per);
    // an acknowledgement sends the waiting batch
    for (const buf of held.splice(0)) input.postMessage({ type: 'ack', buf } satisfies AckMessage, [buf]);
    await until(() => delivered + readers.totals.overloadDrops === N, 'delivered + dropped = sent');
    await readers.close();
    input.close();
    expect(readers.totals.datagrams).toBe(N);
  });
});

describe('PODWIRE_UDP_RECEIVE', () => {
  const saved = process.env.PODWIRE_UDP_RECEIVE;
  afterEach(() => {
    if (saved === undefined) delete process.env.PODWIRE_UDP_RECEIVE;
    else process.env.PODWIRE_UDP_RECEIVE = saved;
  });

  it('chooses the method, names it on the start line, and refuses anything else', async () => {
    const { defaultReceiveMethod, readerThreadsText } = await import('../../collector/udp/readers.js');
    delete process.env.PODWIRE_UDP_RECEIVE;
    expect(defaultReceiveMethod()).toBe('recvmmsg');
    expect(readerThreadsText(2)).toBe('2 reader threads (recvmmsg)');
    process.env.PODWIRE_UDP_RECEIVE = 'dgram';
    expect(defaultReceiveMethod()).toBe('dgram');
    expect(readerThreadsText(1)).toBe('1 reader threads (dgram: PODWIRE_UDP_RECEIVE=dgram)');
    process.env.PODWIRE_UDP_RECEIVE = 'recvmmsg';
    expect(defaultReceiveMethod()).toBe('recvmmsg');
    process.env.PODWIRE_UDP_RECEIVE = 'epoll';
    expect(() => defaultReceiveMethod()).toThrow('PODWIRE_UDP_RECEIVE is recvmmsg or dgram, not epoll');
  });
});
