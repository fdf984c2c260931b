/** The sources' options: defaults filled in, bad fields named by path, the factory. */
import { describe, expect, it } from 'vitest';
import {
  CniCacheSource,
  createEndpointSource,
  DemoAgent,
  EndpointConfigError,
  FileSource,
  KubernetesSource,
  parseEndpointSourceConfig,
} from '../../collector/endpoints/index.js';

describe('endpoint source configuration', () => {
  it('fills in the defaults', () => {
    expect(parseEndpointSourceConfig({ type: 'kubernetes' })).toEqual({
      type: 'kubernetes',
      tierAnnotation: 'podwire.io/tier',
      networkStatusAnnotation: 'k8s.v1.cni.cncf.io/network-status',
      staticAnnotation: 'podwire.io/static',
      sysfsRoot: '/sys',
      includeDefaultNetwork: false,
      watchTimeoutSeconds: 300,
      backoff: { initialMs: 500, maxMs: 30_000 },
      name: 'kubernetes',
    });
    expect(parseEndpointSourceConfig({ type: 'cni-cache' })).toMatchObject({
      dir: '/var/lib/cni/sriov',
      resultsDir: '/var/lib/cni/results',
    });
    expect(parseEndpointSourceConfig({ type: 'demo' })).toMatchObject({
      seed: 1,
      nodes: 3,
      pods: 100,
      churnPerHour: 120,
      realtime: true,
    });
  });

  it('names each bad field by its path', () => {
    const err = (c: unknown) => {
      try {
        parseEndpointSourceConfig(c, 'config.endpoints.0');
      } catch (e) {
        expect(e).toBeInstanceOf(EndpointConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(err({ type: 'demo', nodes: 0, seed: -1 })).toMatch(
      /^config\.endpoints\.0: invalid configuration\n {2}seed: .*\n {2}nodes: /,
    );
    expect(err({ type: 'kubernetes', server: 'not a url', backoff: { maxMs: 0 } })).toMatch(
      /server: [\s\S]*backoff\.maxMs: /,
    );
    expect(err({ type: 'file' })).toMatch(/path: /);
    expect(err({ type: 'ldap' })).toMatch(/type: /);
  });

  it('creates each kind of source', async () => {
    expect(await createEndpointSource({ type: 'file', path: '/tmp/x.json' })).toBeInstanceOf(FileSource);
    expect(
      await createEndpointSource({ type: 'kubernetes', server: 'http://127.0.0.1:8001' }),
    ).toBeInstanceOf(KubernetesSource);
    expect(await createEndpointSource({ type: 'cni-cache', dir: '/tmp/none' })).toBeInstanceOf(
      CniCacheSource,
    );
    const demo = await createEndpointSource({
      type: 'demo',
      seed: 5,
      start: '2026-11-26T00:00:00Z',
      realtime: false,
    });
    expect(demo).toBeInstanceOf(DemoAgent);
    expect((demo as DemoAgent).clockUs).toBe(Date.parse('2026-11-26T00:00:00Z') * 1000);
    await expect(createEndpointSource({ type: 'demo', pods: 0 } as never)).rejects.toThrow(/pods: /);
  });
});
