/**
 * The text form of a batch record's sender (batch.ts), for consumers that name an
 * exporter by it (NetFlow): the last few exporters' names are kept, so that a stream of
 * datagrams from the same few addresses does not build a string each.
 */
import { type DatagramRecord, senderAddress } from './batch.js';

const KEEP = 64;

export class SenderNames {
  private readonly byKey = new Map<number, string>();

  of(u8: Uint8Array, r: DatagramRecord): string {
    if (r.family !== 4) return senderAddress(u8, r);
    const a = r.addressOffset;
    const key = ((u8[a] << 24) | (u8[a + 1] << 16) | (u8[a + 2] << 8) | u8[a + 3]) >>> 0;
    let name = this.byKey.get(key);
    if (name === undefined) {
      name = senderAddress(u8, r);
      // bounded against spoofed sources: forgetting costs only the string
      if (this.byKey.size >= KEEP) this.byKey.clear();
      this.byKey.set(key, name);
    }
    return name;
  }
}
