/**
 * `podwire tour`: the packet path over the shipped demo capture (flows, then the first
 * packets traced through every encapsulation), and where to look next. A quick look at
 * what attribution does, without starting the service (`podwire all`, what npm start runs).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flows } from './flows.js';
import { trace } from './trace.js';

const samples = fileURLToPath(new URL('../../samples/', import.meta.url));

export async function tour(): Promise<void> {
  const pcap = `${samples}mirror.pcap`;
  const inventory = `${samples}inventory.json`;
  if (!existsSync(pcap) || !existsSync(inventory)) {
    const { writeSample } = await import('./sample.js');
    await writeSample(samples);
  }
  const signal = new AbortController().signal;
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`podwire ${'─'.repeat(60)}`);
  say(`demo capture: ${pcap}`);
  say(`inventory:    ${inventory}\n`);
  say('Flows (10 s windows), each attributed to the pods at both ends:\n');
  // no store: nothing to track for a third signal
  await flows(
    { pcap, inventory, format: 'table', windowSeconds: 10, maxFlows: 500_000 },
    { signal, track: () => () => {} },
  );
  say('\nFirst packets, traced through every encapsulation:\n');
  await trace({ pcap, inventory, format: 'table', limit: 25 }, signal);
  say(`
Where to look next:
  npx podwire trace --pcap ${pcap} --inventory ${inventory} | head     one JSON record per packet
  npx podwire flows --pcap ${pcap} --inventory ${inventory} --format table
  sudo npx podwire trace --capture eth0 --inventory YOUR-INVENTORY.json                  live, via tcpdump
  npx podwire --help`);
}
