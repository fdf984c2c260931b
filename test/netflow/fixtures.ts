/**
 * The kept exports (test/fixtures/netflow/): real exporter output captured with tcpdump,
 * one pcap per ExportSpec, and fixtures.json saying for each the UDP port it was sent to,
 * its datagrams and what the exporter printed. Also the psamp reader (tshark) the psamp
 * checks share.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tsharkSlow as tshark } from './tshark.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/netflow/', import.meta.url));

export type FixtureIndex = Record<string, { port: number; datagrams: number; exporterLog: string[] }>;

export async function readFixtureIndex(): Promise<FixtureIndex> {
  return JSON.parse(await readFile(`${FIXTURES}fixtures.json`, 'utf8')) as FixtureIndex;
}

/** The psamp records of an export: selectionSequenceId and the exported frame bytes (hex). */
export async function psampSections(
  capture: string,
  port: number,
): Promise<{ sequence: number; frame: string }[]> {
  const out = await tshark([
    '-r',
    capture,
    '-d',
    `udp.port==${port},cflow`,
    '-Y',
    'cflow.data_link_frame_section',
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-e',
    'cflow.selection_sequence_id',
    '-e',
    'cflow.section_exported_octets',
    '-e',
    'cflow.data_link_frame_section',
  ]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [seq, octets, hex] = l.split('|');
      return { sequence: Number(seq), frame: hex.replace(/:/g, '').slice(0, Number(octets) * 2) };
    });
}
