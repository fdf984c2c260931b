/**
 * The exporter of an sFlow datagram, for sharding (collector/udp/readers.ts): a hash of
 * the agent address in its header, so an agent's sequence numbers and observation points
 * stay with one intake whatever address or port it sends from. 0 when the datagram is too
 * short to name its agent (it goes to shard 0, to be counted malformed there).
 */
export function sflowAgentKey(msg: Uint8Array, _sender?: string): number {
  if (msg.length < 12) return 0;
  const type = (msg[4] << 24) | (msg[5] << 16) | (msg[6] << 8) | msg[7];
  const len = type === 1 ? 4 : type === 2 ? 16 : 0;
  if (msg.length < 8 + len) return 0;
  let h = 0x811c9dc5;
  for (let i = 8; i < 8 + len; i++) h = Math.imul(h ^ msg[i], 0x01000193);
  return h >>> 0;
}
