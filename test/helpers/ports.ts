/** Ports for tests that start listeners: a UDP port free on loopback right now. */
import { createSocket } from 'node:dgram';

export async function freeUdpPort(type: 'udp4' | 'udp6' = 'udp4'): Promise<number> {
  const s = createSocket(type);
  await new Promise<void>((r) => s.bind(0, type === 'udp6' ? '::1' : '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
