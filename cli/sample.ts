/** `podwire sample`: writes the demo capture and its inventory (seeded: same bytes each time). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pcapFile } from '../collector/capture/pcap-writer.js';
import { demoScenario } from '../collector/synth/scenario.js';

export async function writeSample(dir: string): Promise<void> {
  const { inventory, packets } = demoScenario();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mirror.pcap'), pcapFile(packets));
  await writeFile(join(dir, 'inventory.json'), `${JSON.stringify(inventory, null, 2)}\n`);
  process.stderr.write(
    `podwire: wrote ${packets.length} packets to ${join(dir, 'mirror.pcap')} and ${join(dir, 'inventory.json')}\n`,
  );
}
