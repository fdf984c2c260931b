/**
 * promtool for the alert suites: `promtool check rules` and `promtool test rules` on files
 * written to a temporary folder. Input series are written sample by sample (numbers, `_`
 * for a missed scrape, `stale` for a series that disappeared), so a test reads as a table.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMTOOL = '/usr/bin/promtool';

export type Sample = number | '_' | 'stale';

export interface InputSeries {
  metric: string;
  labels: Record<string, string>;
  values: readonly Sample[];
}

export interface ExpectedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface AlertCheck {
  /** seconds after the start of the input */
  at: number;
  alertname: string;
  /** firing alerts of that name at that time (none: expect none) */
  alerts: readonly ExpectedAlert[];
}

const q = JSON.stringify;

export function seriesName(metric: string, labels: Record<string, string>): string {
  return `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(', ')}}`;
}

const dur = (s: number) => `${s}s`;

export interface TestGroup {
  /** what it shows (a YAML comment) */
  name: string;
  scrapeSeconds: number;
  input: readonly InputSeries[];
  checks: readonly AlertCheck[];
}

/** A promtool unit-test file for one rule file: one test group per scenario. */
export function unitTestYaml(o: {
  ruleFile: string;
  evaluationSeconds: number;
  groups: readonly TestGroup[];
}): string {
  const lines = [
    `rule_files: [${q(o.ruleFile)}]`,
    `evaluation_interval: ${dur(o.evaluationSeconds)}`,
    'tests:',
  ];
  for (const g of o.groups) {
    lines.push(`  # ${g.name}`, `  - interval: ${dur(g.scrapeSeconds)}`, '    input_series:');
    for (const s of g.input) {
      lines.push(
        `      - series: ${q(seriesName(s.metric, s.labels))}`,
        `        values: ${q(s.values.join(' '))}`,
      );
    }
    lines.push('    alert_rule_test:');
    for (const c of g.checks) {
      lines.push(`      - eval_time: ${dur(c.at)}`, `        alertname: ${c.alertname}`);
      if (c.alerts.length === 0) {
        lines.push('        exp_alerts: []');
        continue;
      }
      lines.push('        exp_alerts:');
      for (const a of c.alerts) {
        lines.push('          - exp_labels:');
        for (const [k, v] of Object.entries(a.labels)) lines.push(`              ${k}: ${q(v)}`);
        lines.push('            exp_annotations:');
        for (const [k, v] of Object.entries(a.annotations)) lines.push(`              ${k}: ${q(v)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface PromtoolRun {
  code: number | null;
  output: string;
}

function promtool(args: string[], cwd: string): PromtoolRun {
  if (!existsSync(PROMTOOL)) {
    throw new Error(`${PROMTOOL} is missing: run scripts/setup-tools.sh as root (Debian package prometheus)`);
  }
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Writes the files into a fresh folder and runs `promtool <args…>` there. */
export function withFiles(files: Record<string, string>, args: string[]): PromtoolRun {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-promtool-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return promtool(args, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
