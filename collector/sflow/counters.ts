/**
 * sFlow v5 counter records (enterprise 0): generic interface (1), Ethernet (2) and VLAN
 * (5) counters, each into a typed object of the sample's InterfaceCounters. Counter
 * samples are rare (one per interface per polling interval), so these allocate; the flow
 * path does not come through here.
 */
import {
  type EthernetCounters,
  type GenericInterfaceCounters,
  type InterfaceCounters,
  Malformed,
  type VlanCounters,
} from './types.js';
import { u32, u64 } from './xdr.js';

export const CounterRecordFormat = { GENERIC: 1, ETHERNET: 2, VLAN: 5 } as const;

const GENERIC_SIZE = 88;
const ETHERNET_SIZE = 52;
const VLAN_SIZE = 28;

function generic(b: Uint8Array, o: number): GenericInterfaceCounters {
  return {
    ifIndex: u32(b, o),
    ifType: u32(b, o + 4),
    ifSpeed: u64(b, o + 8),
    ifDirection: u32(b, o + 16),
    ifStatus: u32(b, o + 20),
    ifInOctets: u64(b, o + 24),
    ifInUcastPkts: u32(b, o + 32),
    ifInMulticastPkts: u32(b, o + 36),
    ifInBroadcastPkts: u32(b, o + 40),
    ifInDiscards: u32(b, o + 44),
    ifInErrors: u32(b, o + 48),
    ifInUnknownProtos: u32(b, o + 52),
    ifOutOctets: u64(b, o + 56),
    ifOutUcastPkts: u32(b, o + 64),
    ifOutMulticastPkts: u32(b, o + 68),
    ifOutBroadcastPkts: u32(b, o + 72),
    ifOutDiscards: u32(b, o + 76),
    ifOutErrors: u32(b, o + 80),
    ifPromiscuousMode: u32(b, o + 84),
  };
}

function ethernet(b: Uint8Array, o: number): EthernetCounters {
  return {
    alignmentErrors: u32(b, o),
    fcsErrors: u32(b, o + 4),
    singleCollisionFrames: u32(b, o + 8),
    multipleCollisionFrames: u32(b, o + 12),
    sqeTestErrors: u32(b, o + 16),
    deferredTransmissions: u32(b, o + 20),
    lateCollisions: u32(b, o + 24),
    excessiveCollisions: u32(b, o + 28),
    internalMacTransmitErrors: u32(b, o + 32),
    carrierSenseErrors: u32(b, o + 36),
    frameTooLongs: u32(b, o + 40),
    internalMacReceiveErrors: u32(b, o + 44),
    symbolErrors: u32(b, o + 48),
  };
}

function vlan(b: Uint8Array, o: number): VlanCounters {
  return {
    vlanId: u32(b, o),
    octets: u64(b, o + 4),
    ucastPkts: u32(b, o + 12),
    multicastPkts: u32(b, o + 16),
    broadcastPkts: u32(b, o + 20),
    discards: u32(b, o + 24),
  };
}

/**
 * Decodes the counter record of `format` at [o, end) into `out`. Returns -1 for an
 * unknown format (skipped by the caller), else a Malformed code.
 */
export function decodeCounterRecord(
  format: number,
  b: Uint8Array,
  o: number,
  end: number,
  out: InterfaceCounters,
): number {
  const len = end - o;
  switch (format) {
    case CounterRecordFormat.GENERIC:
      if (len < GENERIC_SIZE) return Malformed.RECORD_TOO_SHORT;
      out.generic = generic(b, o);
      out.ifIndex = out.generic.ifIndex;
      return Malformed.OK;
    case CounterRecordFormat.ETHERNET:
      if (len < ETHERNET_SIZE) return Malformed.RECORD_TOO_SHORT;
      out.ethernet = ethernet(b, o);
      return Malformed.OK;
    case CounterRecordFormat.VLAN:
      if (len < VLAN_SIZE) return Malformed.RECORD_TOO_SHORT;
      out.vlan = vlan(b, o);
      return Malformed.OK;
    default:
      return -1;
  }
}
