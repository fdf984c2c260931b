/**
 * A UDP socket read with recvmmsg(2): many datagrams per system call, straight into one
 * buffer, no JavaScript object per datagram. Hand-written because measured speed demands
 * it: Node 20's dgram makes an ArrayBuffer, an address string, an rinfo object and an
 * event per datagram, and a reader thread spent a whole core in it at ~100,000 datagrams/s
 * (bench:udp: 110k/s received of 120k/s sent, 67k dropped by the kernel). Read this way,
 * one thread took 300,000 datagrams/s of 1.1 KB at half a core.
 *
 * The libc calls go through koffi (a maintained FFI with prebuilt binaries: nothing to
 * compile at install). Linux only, like /proc/net/udp's drop count beside it; where koffi
 * or libc cannot be loaded, `recvmmsgUnavailable()` says why and the readers use dgram.
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { parseIpv4, parseIpv6 } from '../decode/addr.js';

type Koffi = typeof import('koffi');
type Fn = (...args: unknown[]) => number;

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_REUSEPORT = 15;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EINTR = 4;
/** struct mmsghdr on 64-bit Linux: msghdr (56) + msg_len (4) + padding */
const MMSGHDR = 64;
const IOVEC = 16;
/** room for a sockaddr_in6 (28), rounded */
const NAME = 32;
/** a slot per datagram holds the largest UDP payload (65,527 bytes), so none is cut short */
export const SLOT_BYTES = 65536;

interface Libc {
  koffi: Koffi;
  socket: Fn;
  setsockopt: Fn;
  getsockopt: Fn;
  bind: Fn;
  getsockname: Fn;
  recvmmsg: Fn;
  close: Fn;
  ifNameToIndex: Fn;
}

let libc: Libc | null = null;
let unavailable: string | null = null;

function load(): Libc | null {
  if (libc !== null || unavailable !== null) return libc;
  try {
    if (process.platform !== 'linux') throw new Error(`recvmmsg is Linux's (this is ${process.platform})`);
    if (endianness() !== 'LE' || process.arch.endsWith('32') || process.arch === 'ia32') {
      throw new Error(`the struct layouts here are 64-bit little-endian (this is ${process.arch})`);
    }
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const c = koffi.load('libc.so.6');
    libc = {
      koffi,
      socket: c.func('int socket(int, int, int)') as Fn,
      setsockopt: c.func('int setsockopt(int, int, int, void *, uint32_t)') as Fn,
      getsockopt: c.func('int getsockopt(int, int, int, _Inout_ void *, _Inout_ uint32_t *)') as Fn,
      bind: c.func('int bind(int, void *, uint32_t)') as Fn,
      getsockname: c.func('int getsockname(int, _Inout_ void *, _Inout_ uint32_t *)') as Fn,
      recvmmsg: c.func('int recvmmsg(int, void *, unsigned int, int, void *)') as Fn,
      close: c.func('int close(int)') as Fn,
      ifNameToIndex: c.func('unsigned int if_nametoindex(const char *)') as Fn,
    };
  } catch (err) {
    unavailable = (err as Error).message;
  }
  return libc;
}

/** Why recvmmsg cannot be used here (the readers then use dgram), or null when it can. */
export function recvmmsgUnavailable(): string | null {
  load();
  return unavailable;
}

function lib(): Libc {
  const l = load();
  if (l === null) throw new Error(`recvmmsg unavailable: ${unavailable}`);
  return l;
}

/** An Error like Node's socket errors: `bind EADDRINUSE 127.0.0.1:6343`, with `code`. */
function sysError(call: string, errno: number, where = ''): Error {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`${call} ${code}${where ? ` ${where}` : ''}`), {
    code,
    errno: -errno,
    syscall: call,
  });
}

/** A sockaddr for host:port (an IPv6 host may name its zone, fe80::1%eth0). */
function sockaddr(host: string, port: number, v6: boolean): Uint8Array {
  const b = new Uint8Array(v6 ? 28 : 16);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, v6 ? AF_INET6 : AF_INET, true);
  dv.setUint16(2, port);
  if (!v6) {
    dv.setUint32(4, parseIpv4(host));
    return b;
  }
  const [addr, zone] = host.split('%');
  b.set(parseIpv6(addr), 8);
  if (zone !== undefined) {
    const index = /^\d+$/.test(zone) ? Number(zone) : lib().ifNameToIndex(zone);
    if (index === 0) throw Object.assign(new Error(`bind: no interface ${zone}`), { code: 'EADDRNOTAVAIL' });
    dv.setUint32(24, index, true);
  }
  return b;
}

export interface OpenedSocket {
  fd: number;
  port: number;
  /** what the kernel granted for SO_RCVBUF (twice the capped ask) */
  recvBufferSize: number;
}

/**
 * A non-blocking UDP socket bound to host:port (port 0: any), its receive buffer asked for
 * as dgram's `recvBufferSize` does (capped by net.core.rmem_max); an IPv6 one takes IPv4
 * too, as dgram's `ipv6Only: false`. `reusePort`: SO_REUSEPORT, so that further sockets of
 * this user can bind the same address, the kernel spreading senders over them. Throws
 * Node-style errors (`code` EADDRINUSE, …).
 */
export function openUdpSocket(
  host: string,
  port: number,
  v6: boolean,
  recvBufferSize: number,
  reusePort = false,
): OpenedSocket {
  const c = lib();
  const where = `${v6 ? `[${host}]` : host}:${port}`;
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket', c.koffi.errno());
  try {
    const int = new Int32Array(1);
    if (v6 && c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, int, 4) < 0)
      throw sysError('setsockopt', c.koffi.errno());
    int[0] = 1;
    if (reusePort && c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, int, 4) < 0) {
      throw sysError('setsockopt', c.koffi.errno());
    }
    int[0] = recvBufferSize;
    if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int, 4) < 0) throw sysError('setsockopt', c.koffi.errno());
    const sa = sockaddr(host, port, v6);
    if (c.bind(fd, sa, sa.length) < 0) throw sysError('bind', c.koffi.errno(), where);
    const len = new Uint32Array([sa.length]);
    if (c.getsockname(fd, sa, len) < 0) throw sysError('getsockname', c.koffi.errno());
    const size = new Uint32Array([4]);
    if (c.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, int, size) < 0) throw sysError('getsockopt', c.koffi.errno());
    return { fd, port: new DataView(sa.buffer).getUint16(2), recvBufferSize: int[0] };
  } catch (err) {
    c.close(fd);
    throw err;
  }
}

export function closeUdpSocket(fd: number): void {
  lib().close(fd);
}

/**
 * Reads a socket VLEN datagrams per call into fixed slots. After `receive()` returns n,
 * datagram i (< n) is `data[payload(i), + length(i))`, its sender's `family(i)`,
 * `port(i)` and address bytes at `names[address(i)]`. Everything is valid until the next
 * `receive()`.
 */
export class MmsgReceiver {
  readonly data: Uint8Array;
  readonly names: Uint8Array;
  private readonly hdr: DataView;
  private readonly hdrPtr: unknown;
  private readonly owned: unknown[];

  constructor(
    private readonly fd: number,
    readonly vlen = 64,
  ) {
    const { koffi } = lib();
    const hdrs = koffi.alloc('uint8_t', vlen * MMSGHDR);
    const iovs = koffi.alloc('uint8_t', vlen * IOVEC);
    const names = koffi.alloc('uint8_t', vlen * NAME);
    const data = koffi.alloc('uint8_t', vlen * SLOT_BYTES);
    this.owned = [hdrs, iovs, names, data];
    this.hdrPtr = hdrs;
    this.hdr = new DataView(koffi.view(hdrs, vlen * MMSGHDR));
    this.names = new Uint8Array(koffi.view(names, vlen * NAME));
    this.data = new Uint8Array(koffi.view(data, vlen * SLOT_BYTES));
    const iov = new DataView(koffi.view(iovs, vlen * IOVEC));
    for (let i = 0; i < vlen; i++) {
      iov.setBigUint64(i * IOVEC, koffi.address(data) + BigInt(i * SLOT_BYTES), true);
      iov.setBigUint64(i * IOVEC + 8, BigInt(SLOT_BYTES), true);
      this.hdr.setBigUint64(i * MMSGHDR, koffi.address(names) + BigInt(i * NAME), true);
      this.hdr.setBigUint64(i * MMSGHDR + 16, koffi.address(iovs) + BigInt(i * IOVEC), true);
      this.hdr.setBigUint64(i * MMSGHDR + 24, 1n, true);
    }
  }

  /** Datagrams read without waiting (0: none queued); throws on a socket error. */
  receive(): number {
    const c = lib();
    for (let i = 0; i < this.vlen; i++) this.hdr.setUint32(i * MMSGHDR + 8, NAME, true);
    const n = c.recvmmsg(this.fd, this.hdrPtr, this.vlen, MSG_DONTWAIT, null);
    if (n < 0) {
      const errno = c.koffi.errno();
      if (errno === EAGAIN || errno === EINTR) return 0;
      throw sysError('recvmmsg', errno);
    }
    return n;
  }

  length(i: number): number {
    return this.hdr.getUint32(i * MMSGHDR + 56, true);
  }

  payload(i: number): number {
    return i * SLOT_BYTES;
  }

  /** the sender's family, 4 or 6 (a v4-mapped sender of an IPv6 socket is 6, as in dgram) */
  family(i: number): number {
    return this.names[i * NAME] === AF_INET ? 4 : 6;
  }

  port(i: number): number {
    const o = i * NAME;
    return (this.names[o + 2] << 8) | this.names[o + 3];
  }

  /** where the sender's address bytes start in `names` (4 or 16 of them) */
  address(i: number): number {
    return i * NAME + (this.names[i * NAME] === AF_INET ? 4 : 8);
  }

  /** Frees the buffers (the socket is the caller's). */
  free(): void {
    const { koffi } = lib();
    for (const p of this.owned.splice(0)) koffi.free(p);
  }

  /** Makes a readiness watch on the socket (libuv's poll, through koffi). */
  watch(onReadable: () => void): { close(): void } {
    const h = lib().koffi.node.poll(this.fd, { readable: true }, () => onReadable());
    return { close: () => h.close() };
  }
}
