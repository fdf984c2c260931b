/**
 * The real NetFlow/IPFIX exporters of the suites and the exports they make from the
 * generated pcaps (exporter-traffic.ts): softflowd 1.1.0 (`-r PCAP -n 127.0.0.1:PORT`; it
 * plays the file, flushes every flow at its end and exits) and pmacct's pmacctd with the
 * nfprobe plugin (`pcap_savefile`; it also exits at the end of the file, flushing). Each
 * export is captured with tcpdump on lo; the captures are the fixtures in
 * test/fixtures/netflow/ (regenerate: UPDATE_NETFLOW_FIXTURES=1, see exporters.test.ts).
 * A missing tool fails the suite (setup-tools.sh installs them); nothing is skipped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PMACCTD } from '../sflow/tools.js';
import type { CaptureName } from './exporter-traffic.js';

export const SOFTFLOWD = '/usr/sbin/softflowd';

export interface ExportSpec {
  /** the fixture's name: what produced it (test/fixtures/netflow/NAME.pcap) */
  name: string;
  capture: CaptureName;
  exporter: 'softflowd' | 'pmacct';
  /** softflowd's flags after -r/-n; pmacctd's config lines after the savefile and receiver */
  args: string[];
  /** NetFlow/IPFIX version in the export's headers (psamp is IPFIX) */
  version: 9 | 10;
  /** the export carries MACs and VLANs (the comparison keys on them) */
  l2: boolean;
  /** which of the truth's byte counts the exporter reports (truth.ts) */
  bytes: 'l2Bytes' | 'ipBytes';
  /** 1 in N packets sampled (1: all) */
  samplingRate: number;
  /** psamp: one record per sampled packet (dataLinkFrameSection), no flows */
  psamp?: boolean;
  /**
   * softflowd 1.1.0's v9 header count holds the data records only, not the templates and
   * options it sends with them; tshark stops a datagram at that count, so in datagrams
   * carrying templates it misses the data after them (nfdump walks the flowsets by length,
   * as podwire must). tshark's records are then a subset of nfdump's.
   */
  v9CountShort?: boolean;
  /** the exporter samples at random: each run exports other counts (no run equals the fixture) */
  random?: boolean;
}

const PMACCT_AGGREGATE =
  'aggregate: src_host, dst_host, src_port, dst_port, proto, tos, src_mac, dst_mac, vlan';

export const EXPORTS: ExportSpec[] = [
  {
    name: 'softflowd-v9',
    capture: 'demo',
    exporter: 'softflowd',
    args: ['-v', '9'],
    version: 9,
    v9CountShort: true,
    l2: false,
    bytes: 'l2Bytes',
    samplingRate: 1,
  },
  {
    name: 'softflowd-ipfix-ether',
    capture: 'demo',
    exporter: 'softflowd',
    args: ['-v', '10', '-A', 'milli', '-T', 'ether'],
    version: 10,
    l2: true,
    bytes: 'l2Bytes',
    samplingRate: 1,
  },
  {
    name: 'softflowd-psamp',
    capture: 'demo-head',
    exporter: 'softflowd',
    args: ['-v', 'psamp'],
    version: 10,
    l2: true,
    bytes: 'l2Bytes',
    samplingRate: 1,
    psamp: true,
  },
  {
    name: 'softflowd-v9-s10',
    capture: 'bulk',
    exporter: 'softflowd',
    args: ['-v', '9', '-s', '10'],
    version: 9,
    v9CountShort: true,
    l2: false,
    bytes: 'l2Bytes',
    samplingRate: 10,
  },
  {
    name: 'softflowd-ipfix-ether-s10',
    capture: 'bulk',
    exporter: 'softflowd',
    args: ['-v', '10', '-A', 'milli', '-T', 'ether', '-s', '10'],
    version: 10,
    l2: true,
    bytes: 'l2Bytes',
    samplingRate: 10,
  },
  {
    name: 'pmacct-nfprobe-v9',
    capture: 'demo',
    exporter: 'pmacct',
    args: ['nfprobe_version: 9', PMACCT_AGGREGATE],
    version: 9,
    l2: true,
    bytes: 'ipBytes',
    samplingRate: 1,
  },
  {
    name: 'pmacct-nfprobe-ipfix',
    capture: 'demo',
    exporter: 'pmacct',
    args: ['nfprobe_version: 10', PMACCT_AGGREGATE],
    version: 10,
    l2: true,
    bytes: 'ipBytes',
    samplingRate: 1,
  },
  {
    // pmacctd samples 1 in 10 at random; nfprobe sends samplerId 48 in each record and
    // samplerRandomInterval 50 in options data
    name: 'pmacct-nfprobe-ipfix-s10',
    capture: 'bulk',
    exporter: 'pmacct',
    args: ['nfprobe_version: 10', PMACCT_AGGREGATE],
    version: 10,
    l2: true,
    bytes: 'ipBytes',
    samplingRate: 10,
    random: true,
  },
];

/** Runs the spec's exporter over `pcap` towards 127.0.0.1:port until it exits; resolves with its output. */
export async function runExporter(
  spec: ExportSpec,
  pcap: string,
  port: number,
  dir: string,
): Promise<string> {
  if (spec.exporter === 'softflowd') {
    // -d: stay in the foreground; -r must come before any -c (it turns the control socket
    // off, and a control socket makes 1.1.0 block in accept() when reading a file)
    return runToExit(SOFTFLOWD, [
      '-d',
      '-p',
      join(dir, `${spec.name}.pid`),
      '-r',
      pcap,
      '-n',
      `127.0.0.1:${port}`,
      ...spec.args,
    ]);
  }
  const conf = join(dir, `${spec.name}.conf`);
  await writeFile(
    conf,
    [
      `pcap_savefile: ${pcap}`,
      'plugins: nfprobe',
      `nfprobe_receiver: 127.0.0.1:${port}`,
      ...(spec.samplingRate > 1 ? [`sampling_rate: ${spec.samplingRate}`] : []),
      ...spec.args,
      '',
    ].join('\n'),
  );
  const log = await runToExit(PMACCTD, ['-f', conf]);
  if (/ERROR/.test(log)) throw new Error(`pmacctd reported an error: ${log}`);
  return log;
}

async function runToExit(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (b: Buffer) => (log += b));
  child.stderr.on('data', (b: Buffer) => (log += b));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, sig] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code ?? sig}: ${log}`);
  return log;
}
