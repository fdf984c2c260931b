/**
 * The `netflow` mirror in `podwire all`'s config: its defaults, and each bad field refused
 * by path with what was expected (the file is checked before anything starts).
 */
import { describe, expect, it } from 'vitest';
import { parseAllConfig } from '../../cli/all-config.js';

describe('mirror: netflow in the service config', () => {
  it('defaults: loopback port 2055, unsampled fallback, VXLAN on 4789 only', () => {
    expect(parseAllConfig({ mirror: { type: 'netflow' } }).mirror).toEqual({
      type: 'netflow',
      listen: '127.0.0.1:2055',
      samplingRate: 1,
      readers: 1,
      vxlanPorts: [],
    });
    expect(
      parseAllConfig({
        mirror: { type: 'netflow', listen: '[::1]:4739', samplingRate: 1000, vxlanPorts: [8472] },
      }).mirror,
    ).toEqual({ type: 'netflow', listen: '[::1]:4739', samplingRate: 1000, readers: 1, vxlanPorts: [8472] });
  });

  it.each([
    [
      { listen: 'localhost:2055' },
      /mirror\.listen: expected ADDR:PORT with an IP address, e\.g\. 127\.0\.0\.1:2055/,
    ],
    [{ listen: '127.0.0.1:70000' }, /mirror\.listen: expected ADDR:PORT/],
    [{ listen: '127.0.0.1' }, /mirror\.listen: expected ADDR:PORT/],
    [{ samplingRate: 0 }, /mirror\.samplingRate/],
    [{ samplingRate: 2.5 }, /mirror\.samplingRate/],
    [{ vxlanPorts: [70000] }, /mirror\.vxlanPorts\.0/],
    [{ readers: -1 }, /mirror\.readers/],
    [{ readers: 65 }, /mirror\.readers/],
    [{ readers: 1.5 }, /mirror\.readers/],
    [{ interface: 'eth0' }, /mirror: Unrecognized key: "interface"/],
  ])('refuses %j naming the field', (bad, message) => {
    expect(() => parseAllConfig({ mirror: { type: 'netflow', ...bad } })).toThrow(message);
  });
});
