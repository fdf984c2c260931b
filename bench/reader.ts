/**
 * bench:reader — the capture reader alone (no decoding), podwire's hand-written reader
 * against pcap-parser (the design card's package, kept as the differential-test oracle) on
 * the same 1M-packet classic pcap, one core. Last line: `reader ratio: N` (podwire packets/s
 * over pcap-parser packets/s, medians of 5 runs). Run `npm run bench:packets` first or let
 * this script generate the file the same way.
 */

import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readCaptureFile } from '../collector/capture/reader.js';

const PACKETS = Number(process.env.BENCH_PACKETS ?? 1_000_000);
const file = new URL(`../../.bench/mixed-v3-${PACKETS}.pcap`, import.meta.url).pathname;
if (!existsSync(file)) {
  console.error(`${file} is missing: run npm run bench:packets once to generate it`);
  process.exit(1);
}

const pcapParser = createRequire(import.meta.url)('pcap-parser') as {
  parse(path: string): NodeJS.EventEmitter;
};

async function podwire(): Promise<number> {
  let n = 0;
  const t = performance.now();
  await readCaptureFile(file, () => {
    n++;
  });
  if (n !== PACKETS) throw new Error(`podwire read ${n} packets`);
  return PACKETS / ((performance.now() - t) / 1000);
}

async function oracle(): Promise<number> {
  let n = 0;
  const t = performance.now();
  const p = pcapParser.parse(file);
  p.on('packet', () => {
    n++;
  });
  await once(p, 'end');
  if (n !== PACKETS) throw new Error(`pcap-parser read ${n} packets`);
  return PACKETS / ((performance.now() - t) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (r: number) => `${Math.round(r).toLocaleString('en')} packets/s`;
const ours: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < 5; i++) {
  ours.push(await podwire());
  theirs.push(await oracle());
  console.log(`run ${i + 1}: podwire ${fmt(ours[i])}, pcap-parser ${fmt(theirs[i])}`);
}
console.log(`podwire reader: ${fmt(median(ours))}`);
console.log(`pcap-parser:    ${fmt(median(theirs))}`);
console.log(`reader ratio: ${(median(ours) / median(theirs)).toFixed(1)}`);
