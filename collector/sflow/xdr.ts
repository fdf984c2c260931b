/**
 * Big-endian XDR reads over a byte array by index, for the counter records (rare, see
 * counters.ts); the flow path reads words through one DataView per datagram
 * (datagram.ts). The caller has checked the bounds.
 */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** An unsigned 64-bit hyper as a double (exact up to 2^53, which counters stay below). */
export function u64(b: Uint8Array, o: number): number {
  return u32(b, o) * 4294967296 + u32(b, o + 4);
}

/** XDR opaque data is padded to a multiple of 4 bytes. */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}
