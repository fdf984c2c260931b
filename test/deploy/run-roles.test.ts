/**
 * Every container of the rendered overlays, run on this machine exactly as its manifest
 * states: its command and args, its env (the Secret's API token supplied here), its
 * volumes mapped to temp dirs (local-pod.ts), until /readyz answers 200. Then what the
 * cluster relies on: /healthz for the liveness probe, /metrics refused without the token
 * and served with the one the ServiceMonitor sends, only get/list/watch of what the
 * ClusterRole grants asked of the Kubernetes API (a stand-in here: nothing real runs on
 * this machine), a clean exit on SIGTERM within the grace period, and nothing written
 * outside the volumes (the root filesystem is read-only in the pod).
 *
 * The store is embedded chDB in the data dir's temp dir: the Secret's clickhouse-url is not
 * supplied, so PODWIRE_CLICKHOUSE_URL stays unset.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sStandIn } from '../endpoints/k8s-stand-in.js';
import { entries, startLocalPod } from './local-pod.js';
import { containers, OVERLAYS, roleOf } from './manifests.js';

const TOKEN = 'deploy-test-admin-token-0123456789';

let standIn: K8sStandIn;
let kubeDir: string;
let kubeconfig: string;

beforeAll(async () => {
  standIn = new K8sStandIn();
  await standIn.start();
  kubeDir = mkdtempSync(join(tmpdir(), 'podwire-deploy-kube-'));
  kubeconfig = join(kubeDir, 'config');
  // what a pod's service account gives it in the cluster; here the stand-in over plain http
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'stand-in',
          cluster: { server: `http://127.0.0.1:${standIn.port}`, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: 'stand-in', user: {} }],
      contexts: [{ name: 'stand-in', context: { cluster: 'stand-in', user: 'stand-in' } }],
      'current-context': 'stand-in',
    }),
  );
});

afterAll(async () => {
  await standIn?.stop();
  if (kubeDir) rmSync(kubeDir, { recursive: true, force: true });
});

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    return (await fetch(url, { headers })).status;
  } catch {
    return 0;
  }
}

const all = OVERLAYS.flatMap((o) => containers(o));

describe('the containers of deploy/overlays, run locally as their manifests state', () => {
  it('covers every role the manifests run', () => {
    expect(new Set(all.map(roleOf))).toEqual(new Set(['all', 'node', 'collect', 'serve']));
  });

  for (const c of all) {
    const name =
      `${c.label}: \`${[...c.container.command, ...c.container.args].join(' ')}\` answers /readyz 200 ` +
      '(embedded chDB in a temp dir, PODWIRE_CLICKHOUSE_URL unset; a Kubernetes API stand-in)';
    it(name, { timeout: 180_000 }, async () => {
      standIn.requests.length = 0;
      const pod = await startLocalPod(c, {
        secrets: { podwire: { 'api-token': TOKEN } },
        env: { KUBECONFIG: kubeconfig },
        fields: { 'spec.nodeName': 'worker-1' },
      });
      try {
        const deadline = Date.now() + 120_000;
        let ready = 0;
        while (ready !== 200 && Date.now() < deadline) {
          ready = await status(`${pod.url}/readyz`);
          if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
        }
        expect(ready, `/readyz; the process said:\n${pod.log()}`).toBe(200);
        expect(await status(`${pod.url}/healthz`)).toBe(200);
        expect(await status(`${pod.url}/metrics`)).toBe(401);
        const metrics = await fetch(`${pod.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(metrics.status).toBe(200);
        expect(await metrics.text()).toContain('# TYPE ');
        // lists and watches of what the ClusterRole grants (the stand-in answers nothing else);
        // a watch opens just after its list, which readiness waits for
        const asked = () => new Set(standIn.requests.map((r) => `${r.kind} ${r.watch ? 'watch' : 'list'}`));
        for (let i = 0; i < 100 && asked().size < 4; i++) await new Promise((r) => setTimeout(r, 100));
        expect(asked()).toEqual(new Set(['pods list', 'pods watch', 'nads list', 'nads watch']));
        // a node watches its own pods only (PODWIRE_NODE_NAME from spec.nodeName); the others all
        const pods = standIn.requests.filter((r) => r.kind === 'pods').map((r) => r.fieldSelector ?? null);
        expect(new Set(pods)).toEqual(new Set([roleOf(c) === 'node' ? 'spec.nodeName=worker-1' : null]));
        expect(await pod.stop(), pod.log()).toBe(0);
        expect(entries(pod.cwd), 'files written outside the volumes').toEqual([]);
      } finally {
        await pod.stop();
        pod.cleanup();
      }
    });
  }
});
