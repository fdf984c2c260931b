/**
 * VethPeers over a recorded `ip` (hand-written fixtures of iproute2 6.1's JSON, the fields
 * it prints for veths): which commands it runs, what it caches, what it reports. The real
 * kernel path is in host-side.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { setPeerMacs, VethPeers } from '../../collector/nic/veth-peers.js';

/** `ip` answering from a table of argument lists, recording each call. */
function fakeIp(answers: Record<string, string | Error>) {
  const calls: string[] = [];
  const exec = async (_file: string, args: readonly string[]) => {
    const key = args.join(' ');
    calls.push(key);
    const a = answers[key];
    if (a === undefined) throw new Error(`unexpected ip ${key}`);
    if (a instanceof Error) throw a;
    return a;
  };
  return { calls, exec };
}

const hostLinks = (vpaIndex = 7) =>
  JSON.stringify([
    { ifindex: 1, ifname: 'lo', address: '00:00:00:00:00:00' },
    { ifindex: vpaIndex, link_index: 2, ifname: 'vpa', address: '2e:00:00:00:00:01', link_netnsid: 0 },
    { ifindex: 8, link_index: 2, ifname: 'vpb', address: '2e:00:00:00:00:02', link_netnsid: 1 },
    { ifindex: 9, link_index: 10, ifname: 'vpc', address: '2e:00:00:00:00:03', link_netnsid: 2 },
    { ifindex: 11, ifname: 'eth0', address: '52:54:00:00:00:01' },
  ]);
const ids = JSON.stringify([
  { nsid: 0, name: 'cni-aaaa' },
  { nsid: 1, name: 'cni-bbbb' },
]);
const podLinks = (mac: string) =>
  JSON.stringify([
    { ifindex: 1, ifname: 'lo', address: '00:00:00:00:00:00' },
    { ifindex: 2, link_index: 7, ifname: 'eth0', address: mac, link_netnsid: 0 },
  ]);

describe('VethPeers (recorded ip output: hand-written fixture)', () => {
  it("resolves host veths to their peer's MAC through the namespace id, caches it, and forgets a re-created device", async () => {
    const table: Record<string, string> = {
      '-j link show': hostLinks(),
      '-j netns list-id': ids,
      '-n cni-aaaa -j link show': podLinks('0A:58:00:00:00:0A'),
      '-n cni-bbbb -j link show': podLinks('0a:58:00:00:00:0b'),
    };
    const ip = fakeIp(table);
    const peers = new VethPeers({ exec: ip.exec });
    const first = await peers.resolve(['vpa', 'vpb', 'vpc', 'eth0', 'gone0']);
    // vpc's namespace (nsid 2) has no name: not resolvable, not an error; eth0 is no veth
    expect(first).toEqual({
      macs: new Map([
        ['vpa', '0a:58:00:00:00:0a'],
        ['vpb', '0a:58:00:00:00:0b'],
      ]),
      errors: [],
    });
    ip.calls.length = 0;
    expect((await peers.resolve(['vpa', 'vpb'])).macs.size).toBe(2);
    expect(ip.calls).toEqual(['-j link show']);

    // vpa re-created for a new pod (a new ifindex, another MAC behind it) is looked up again
    table['-j link show'] = hostLinks(12);
    table['-n cni-aaaa -j link show'] = JSON.stringify([
      { ifindex: 2, ifname: 'eth0', address: '0a:58:00:00:00:99' },
    ]);
    ip.calls.length = 0;
    expect((await peers.resolve(['vpa'])).macs.get('vpa')).toBe('0a:58:00:00:00:99');
    expect(ip.calls).toEqual(['-j link show', '-j netns list-id', '-n cni-aaaa -j link show']);
  });

  it("reports a peer namespace it cannot read with the reading's errors, keeps the others, and sets endpointMac", async () => {
    const ip = fakeIp({
      '-j link show': hostLinks(),
      '-j netns list-id': ids,
      '-n cni-aaaa -j link show': new Error(
        'ip -n cni-aaaa -j link show: exited with code 1: Cannot open network namespace',
      ),
      '-n cni-bbbb -j link show': podLinks('0a:58:00:00:00:0b'),
    });
    const samples: { interface: string; endpointMac?: string | null }[] = [
      { interface: 'vpa' },
      { interface: 'vpb' },
      { interface: 'eth0', endpointMac: '02:00:00:00:00:ee' },
    ];
    const errors: string[] = [];
    await setPeerMacs(new VethPeers({ exec: ip.exec }), samples, errors);
    expect(samples).toEqual([
      { interface: 'vpa', endpointMac: null },
      { interface: 'vpb', endpointMac: '0a:58:00:00:00:0b' },
      { interface: 'eth0', endpointMac: '02:00:00:00:00:ee' },
    ]);
    expect(errors).toEqual([
      'veth peers of vpa: ip -n cni-aaaa -j link show: exited with code 1: Cannot open network namespace',
    ]);

    const broken: string[] = [];
    await setPeerMacs(new VethPeers({ exec: fakeIp({ '-j link show': 'nonsense' }).exec }), samples, broken);
    expect(broken[0]).toMatch(/^veth peers: ip -j link show: not valid JSON/);
  });
});
