/**
 * A role exits once it has stopped, whatever connections stay open: through a relay that
 * keeps its sockets (a proxy or a load balancer in front of the Kubernetes API), the
 * endpoint source's keep-alive connections once held `podwire all` alive after its
 * "stopped" line until it was killed (seen by the deploy tests' author with a proxy in front
 * of the API stand-in).
 */
import { writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, spawnPodwire, tempDir } from '../cli/helpers.js';
import { K8sStandIn } from '../endpoints/k8s-stand-in.js';

let tmp: { dir: string; remove: () => Promise<void> };
let standIn: K8sStandIn;
let relay: Server;
const sockets = new Set<Socket>();

beforeAll(async () => {
  await ensureBuilt();
  tmp = await tempDir('podwire-exit-');
  standIn = new K8sStandIn();
  await standIn.start();
  // a relay that never closes a client's socket on its own
  relay = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: standIn.port });
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.pipe(client, { end: false });
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  relay?.close();
  await standIn?.stop();
  await tmp?.remove();
});

describe('a role stops and exits', () => {
  it('exits 0 soon after its stop line although a relay keeps the API connections open', async () => {
    const port = (relay.address() as { port: number }).port;
    const config = join(tmp.dir, 'c.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(tmp.dir, 'data'),
        endpoints: { sources: [{ type: 'kubernetes', server: `http://127.0.0.1:${port}` }] },
        nic: { sources: [] },
        mirror: { type: 'none' },
        http: { listen: '127.0.0.1:0' },
      }),
    );
    const p = spawnPodwire(['all', '--config', config, '--status-every', '0']);
    const started = Date.now();
    while (!/health\s+http/.test(p.out.stderr) && Date.now() - started < 60_000 && p.child.exitCode === null)
      await new Promise((r) => setTimeout(r, 100));
    expect(p.out.stderr).toMatch(/health\s+http/);
    p.child.kill('SIGTERM');
    const stopAt = Date.now();
    const exited = await Promise.race([
      p.exited.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 15_000)),
    ]);
    if (!exited) p.child.kill('SIGKILL');
    expect(exited, p.out.stderr).toBe(true);
    expect(p.child.exitCode, p.out.stderr).toBe(0);
    expect(p.out.stderr).toMatch(/podwire: stopped/);
    console.log(`exit: ${Date.now() - stopAt} ms after SIGTERM`);
  }, 90_000);
});
