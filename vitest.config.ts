import { defineConfig } from 'vitest/config';

/**
 * The `unit` project: suites that need no external tool or process and no build (no
 * tshark, tcpdump, promtool, network namespaces, ClickHouse, spawned CLI) — what
 * `npm run test:unit` runs, in seconds, on a fresh clone. Each file was checked by running
 * it with PATH holding only `node`. Everything else is the `integration` project; a new
 * file lands there unless it is listed here.
 */
const UNIT = [
  'test/alerts/{evaluator,demo-story}.test.ts',
  'test/api/{access,app,pods,trace,v1-validation}.test.ts',
  'test/attribution/**/*.test.ts',
  'test/capture/{fuzz,malformed,pcap,pcapng}.test.ts',
  'test/cli/window-limits.test.ts',
  'test/dashboards/{lint,query-languages}.test.ts',
  'test/decode/{addr,alloc,ethernet,frames,fuzz,ipv4,ipv6,l4,truncation,tunnels}.test.ts',
  'test/endpoints/**/*.test.ts',
  'test/exporter/{demo,metrics-doc}.test.ts',
  'test/flows/**/*.test.ts',
  'test/ingest/{flow-sink,horizon-parts,sample-rows}.test.ts',
  'test/nic/{collector,counters,parsers,sysfs}.test.ts',
  'test/sflow/{counters,decode,fuzz,malformed-metrics,sampling}.test.ts',
  'test/synth/**/*.test.ts',
  'test/live-stream/**/*.test.ts',
  'test/ui/bundle.test.ts',
  'test/udp/merge.test.ts',
];

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // forks, not threads: suites spawn tools and the live tests create network namespaces
    // (each under a unique name prefix, so files can still run in parallel)
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: UNIT },
      },
    ],
  },
});
