/**
 * What every capture reader (classic pcap, pcapng, live tcpdump) hands downstream. One
 * CapturedPacket object is reused for every packet (the hot path allocates nothing); a
 * consumer that keeps anything must copy it before returning from the callback.
 */

/** Link-layer header types (tcpdump.org/linktypes.html) the decoders understand. */
export const LinkType = { ETHERNET: 1, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

export class CapturedPacket {
  /** buffer holding the packet bytes; valid only during the callback */
  data: Buffer = Buffer.alloc(0);
  /** offset of the first captured byte in `data` */
  offset = 0;
  /** bytes captured (<= wireLength when the snaplen cut the frame) */
  capLength = 0;
  /** bytes of the frame on the wire */
  wireLength = 0;
  /** seconds since the Unix epoch */
  tsSec = 0;
  /** nanoseconds within the second (0..999,999,999), whatever the file's resolution */
  tsNsec = 0;
  /** fraction digits the timestamp's resolution deserves: 6 (µs or coarser) or 9 (finer) */
  tsDigits: 6 | 9 = 6;
  /** link type of the interface the packet was captured on */
  linkType: number = LinkType.ETHERNET;
  /** pcapng interface ID (0 for classic pcap) */
  interfaceId = 0;
  /** 1-based frame number within the capture (what Wireshark shows) */
  frame = 0;
  /** byte offset of this record's header within the capture stream */
  fileOffset = 0;
}

export type PacketHandler = (packet: CapturedPacket) => void;

/** Which file format the capture was, and its per-file facts. */
export interface CaptureInfo {
  format: 'pcap' | 'pcapng';
  /** 'le' or 'be': byte order of the file */
  byteOrder: 'le' | 'be';
  /** timestamp resolution of the (first) interface: 'us', 'ns' or e.g. '10^-4' */
  resolution: string;
  /** classic pcap snaplen, or the first interface's snaplen in pcapng (0 = unlimited) */
  snaplen: number;
  /** link type of the (first) interface */
  linkType: number;
}

export interface CaptureStats {
  info: CaptureInfo | null;
  packets: number;
  bytes: number;
}

/**
 * A capture that cannot be read further: bad magic, truncated record, a length that lies.
 * The message names the byte offset and how many packets were read before it.
 */
export class CaptureError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
    readonly packets: number,
  ) {
    super(`${reason} at byte offset ${offset} (after ${packets} packet${packets === 1 ? '' : 's'} read)`);
    this.name = 'CaptureError';
  }
}
