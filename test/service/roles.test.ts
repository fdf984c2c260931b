/** Which config each role takes and refuses (service/roles.ts), and the refusal as a user sees it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROLE_PARTS, ROLES, roleConfigProblems, withRoleDefaults } from '../../service/roles.js';
import { podwire } from '../cli/helpers.js';

describe('role configs', () => {
  it('all takes every section; the others name what they would ignore and who reads it', () => {
    const full = {
      dataDir: 'd',
      store: {},
      endpoints: {},
      nic: {},
      mirror: { type: 'sflow' },
      flows: {},
      samples: {},
      http: {},
      api: {},
      tiers: {},
      alerts: {},
      alertmanager: {},
    };
    expect(roleConfigProblems('all', full)).toEqual([]);
    expect(roleConfigProblems('node', full)).toEqual([
      'mirror.type: podwire node takes capture, none, not sflow',
    ]);
    expect(roleConfigProblems('collect', full)).toEqual([
      'nic: not used by podwire collect (read by podwire node)',
      'tiers: not used by podwire collect (read by podwire node)',
      'alerts: not used by podwire collect (read by podwire node)',
      'alertmanager: not used by podwire collect (read by podwire node)',
    ]);
    expect(roleConfigProblems('serve', full)).toEqual([
      'nic: not used by podwire serve (read by podwire node)',
      'mirror: not used by podwire serve (read by podwire node, podwire collect)',
      'flows: not used by podwire serve (read by podwire node, podwire collect)',
      'samples: not used by podwire serve (read by podwire node, podwire collect)',
      'tiers: not used by podwire serve (read by podwire node)',
      'alerts: not used by podwire serve (read by podwire node)',
      'alertmanager: not used by podwire serve (read by podwire node)',
    ]);
    expect(roleConfigProblems('collect', { mirror: { type: 'netflow' }, store: {} })).toEqual([]);
    expect(roleConfigProblems('serve', { unknownKey: 1 })).toEqual([
      'unknownKey: not used by podwire serve (podwire all only)',
    ]);
  });

  it('the environment sets the store URL for every role, and a node its name (nic.node, kubernetes sources)', () => {
    const raw = {
      nic: { sources: ['demo'] },
      endpoints: {
        sources: [{ type: 'kubernetes' }, { type: 'kubernetes', node: 'pinned' }, { type: 'demo' }],
      },
    };
    const env = { PODWIRE_CLICKHOUSE_URL: 'http://ch:8123/podwire', PODWIRE_NODE_NAME: 'worker-7' };
    expect(withRoleDefaults('node', raw, env)).toEqual({
      nic: { sources: ['demo'], node: 'worker-7' },
      endpoints: {
        sources: [
          { type: 'kubernetes', node: 'worker-7' },
          { type: 'kubernetes', node: 'pinned' },
          { type: 'demo' },
        ],
      },
      mirror: { type: 'none' },
      store: { clickhouseUrl: 'http://ch:8123/podwire' },
    });
    // only a node is one node: a collector and serve watch every pod
    const collect = withRoleDefaults('collect', { endpoints: raw.endpoints }, env) as typeof raw;
    expect(collect.endpoints.sources[0]).toEqual({ type: 'kubernetes' });
    expect(withRoleDefaults('serve', {}, env)).toEqual({
      mirror: { type: 'none' },
      store: { clickhouseUrl: 'http://ch:8123/podwire' },
    });
    // an explicit nic.node wins; an empty variable sets nothing; nothing set, nothing added
    expect(
      (withRoleDefaults('node', { nic: { node: 'x' } }, env) as typeof raw & { nic: { node: string } }).nic
        .node,
    ).toBe('x');
    expect(withRoleDefaults('all', {}, { PODWIRE_CLICKHOUSE_URL: '' })).toEqual({});
  });

  it('every part runs in all, and each part in at least one other role', () => {
    for (const part of ['nic', 'sla', 'mirror', 'api'] as const) {
      expect(ROLE_PARTS.all[part]).toBe(true);
      expect(ROLES.filter((r) => r !== 'all' && ROLE_PARTS[r][part]).length, part).toBeGreaterThan(0);
    }
  });

  it('a role given a section it ignores exits 2 naming each, before it opens anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podwire-roles-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ nic: { sources: ['demo'] }, mirror: { type: 'demo' } }));
    const r = await podwire(['serve', '--config', file, '--data-dir', join(dir, 'data')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/podwire serve refuses this configuration/);
    expect(r.stderr).toMatch(/nic: not used by podwire serve \(read by podwire node\)/);
    expect(r.stderr).toMatch(/mirror: not used by podwire serve/);
    const n = await podwire(['node', '--config', file, '--source', 'demo']);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/--source belong in the config \(nic\.sources/);
    const d = await podwire(['node', '--data-dir', dir]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/--data-dir and --duration need --config/);
  });
});
