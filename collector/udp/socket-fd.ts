/**
 * The file descriptor of a bound UDP socket of this process, found through /proc: the
 * socket inodes of /proc/net/udp{,6} lines with its local port, matched against the
 * `socket:[inode]` links in /proc/self/fd. Node 20's dgram does not expose a socket's fd,
 * but it opens one (`bind({ fd })`), which is how further reader threads read the socket
 * the first one bound. Linux only, like the kernel drop count read from the same file.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * The /proc/net/udp{,6} lines whose local port is `port`, split into their columns: `sl
 * local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
 * ref pointer drops`, addresses as HEX:PORT.
 */
export function udpPortLines(text: string, port: number): string[][] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 13 && f[1].split(':')[1] === hexPort);
}

/** The inode column of the /proc/net/udp{,6} lines whose local port is `port`. */
export function inodesForPort(text: string, port: number): Set<string> {
  return new Set(udpPortLines(text, port).map((f) => f[9]));
}

/** The socket inode of this process's descriptor `fd` (null: not a socket). */
async function socketInode(fd: number): Promise<string | null> {
  return /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/self/fd/${fd}`))?.[1] ?? null;
}

/** This process's fd of the socket bound to `port` (udp6 when `v6`); throws when not exactly one. */
export async function socketFd(port: number, v6: boolean): Promise<number> {
  const inodes = inodesForPort(await readFile(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8'), port);
  const found: number[] = [];
  for (const entry of await readdir('/proc/self/fd')) {
    let inode: string | null;
    try {
      inode = await socketInode(Number(entry));
    } catch {
      continue; // closed since the listing
    }
    if (inode !== null && inodes.has(inode)) found.push(Number(entry));
  }
  if (found.length !== 1) {
    throw new Error(`cannot tell the fd of the UDP socket on port ${port} (${found.length} candidates)`);
  }
  return found[0];
}

/**
 * Sockets bound to the same local address and port as this process's `fds` that are not
 * among them: another process that joined their SO_REUSEPORT group, and so takes part of
 * the datagrams (the kernel lets sockets of the same user join). The lines' local address
 * column is compared as /proc prints it.
 */
export async function foreignSharers(port: number, v6: boolean, fds: number[]): Promise<number> {
  const ours = new Set(await Promise.all(fds.map(socketInode)));
  const lines = udpPortLines(await readFile(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8'), port);
  const addresses = new Set(lines.filter((f) => ours.has(f[9])).map((f) => f[1]));
  return lines.filter((f) => addresses.has(f[1]) && !ours.has(f[9])).length;
}
