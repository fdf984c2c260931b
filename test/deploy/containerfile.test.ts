/**
 * The Containerfile against the repo and the manifests: every COPY source exists, the
 * runtime stage carries what `node /app/bin/podwire.js` needs, runs as the non-root user
 * the manifests name, and its ENTRYPOINT is the manifests' command. The image itself is
 * built only where a container engine runs (this machine has the docker client and no
 * daemon); the test says so in its output when it cannot.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containers, IMAGE_APP_DIR, OVERLAYS, ROOT } from './manifests.js';

const text = readFileSync(join(ROOT, 'Containerfile'), 'utf8');
// instructions, with continuation lines joined and comments dropped
const lines = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stages = lines.reduce<string[][]>((acc, l) => {
  if (/^FROM\s/i.test(l)) acc.push([]);
  acc[acc.length - 1]?.push(l);
  return acc;
}, []);
const runtime = stages[stages.length - 1];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('Containerfile', () => {
  it('builds on Debian slim with Node 20 in two stages', () => {
    expect(stages.length).toBe(2);
    for (const s of stages) expect(s[0]).toMatch(/^FROM node:20-bookworm-slim\b/);
  });

  it('copies only sources that exist in the repo', () => {
    for (const l of lines.filter((x) => /^COPY\s/i.test(x) && !/--from=/.test(x))) {
      const parts = l.split(/\s+/).slice(1);
      for (const src of parts.slice(0, -1)) expect(existsSync(join(ROOT, src)), `${l}: ${src}`).toBe(true);
    }
  });

  it('gives the build stage every folder the TypeScript build and the page build read', () => {
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    for (const dir of [...build.include, 'ui', 'bin'])
      expect(stages[0], dir).toContain(`COPY ${dir} ./${dir}`);
  });

  it('runs what the manifests run: ENTRYPOINT is their command, the app in /app, the user their runAsUser', () => {
    const entry = runtime.find((l) => l.startsWith('ENTRYPOINT'));
    const command = JSON.parse(entry!.slice('ENTRYPOINT'.length));
    expect(runtime).toContain(`WORKDIR ${IMAGE_APP_DIR}`);
    expect(runtime).toContain('COPY bin ./bin');
    expect(runtime).toContain('COPY --from=build /src/dist ./dist');
    expect(runtime.some((l) => /npm ci --omit=dev/.test(l))).toBe(true);
    const user = runtime.find((l) => l.startsWith('USER'))!.split(/\s+/)[1];
    for (const o of OVERLAYS)
      for (const c of containers(o)) {
        expect(c.container.command, c.label).toEqual(command);
        const uid = c.container.securityContext.runAsUser ?? c.podSpec.securityContext.runAsUser;
        const gid = c.container.securityContext.runAsGroup ?? c.podSpec.securityContext.runAsGroup;
        expect(`${uid}:${gid}`, c.label).toBe(user);
      }
    // what the node role runs: ip and tc (iproute2 and tc sources), tcpdump (a capture mirror)
    expect(runtime.some((l) => /apt-get install .*\biproute2\b.*\btcpdump\b/.test(l))).toBe(true);
  });

  const engine = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 20_000 });
  const running = engine.status === 0;
  if (!running)
    process.stdout.write(
      'Containerfile: no container engine runs here (`docker info` failed), so the image is not built; the static checks above still ran\n',
    );
  it.skipIf(!running)('builds the image (only where a container engine runs)', { timeout: 1_200_000 }, () => {
    const tag = `podwire:${pkg.version}`;
    execFileSync('docker', ['build', '-f', 'Containerfile', '-t', tag, '.'], { cwd: ROOT, stdio: 'inherit' });
    const help = execFileSync('docker', ['run', '--rm', '--read-only', tag, '--help'], { encoding: 'utf8' });
    expect(help).toContain('podwire');
  });
});
