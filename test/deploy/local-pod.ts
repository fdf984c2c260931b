/**
 * Runs a rendered container's command and args on this machine as the manifest states them,
 * with the pod's filesystem mapped to local paths: the image's /app to this repo, each
 * ConfigMap mount to a temp dir holding the rendered ConfigMap's files, each emptyDir and
 * PVC to a fresh temp dir, each hostPath to itself. The config's listen addresses are moved
 * to free loopback ports (nothing leaves loopback). Env is the manifest's, Secret values
 * given by the caller; a secretKeyRef the caller leaves out stays unset.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { type Container, IMAGE_APP_DIR, type K8sObject, ROOT, render } from './manifests.js';

const SETPRIV_BIN = '/usr/bin/setpriv';

const made = (dir: string): string => {
  mkdirSync(dir, { recursive: true });
  return dir;
};

export interface LocalPod {
  /** http://127.0.0.1:PORT where http.listen now is */
  url: string;
  /** the cwd the process ran in (the image's WORKDIR is read-only in the pod) */
  cwd: string;
  /** each mount path → the local path standing for it */
  paths: Map<string, string>;
  log(): string;
  /** SIGTERM, then the exit code (SIGKILL after the pod's grace period) */
  stop(): Promise<number | string>;
  cleanup(): void;
}

export interface LocalPodOptions {
  /** Secret name → key → value; a key not given leaves its variable unset */
  secrets: Record<string, Record<string, string>>;
  /** more environment (what the cluster gives a pod: here, a kubeconfig for the API stand-in) */
  env?: Record<string, string>;
  /** the downward API: fieldPath → value (spec.nodeName) */
  fields?: Record<string, string>;
}

/** The local path for a pod path, by the longest mount that holds it (else unchanged). */
export function mapPath(path: string, paths: Map<string, string>): string {
  let best = '';
  for (const mount of paths.keys())
    if ((path === mount || path.startsWith(`${mount}/`)) && mount.length > best.length) best = mount;
  if (best !== '') return paths.get(best)! + path.slice(best.length);
  // a parent of hostPath mounts (nic.sysfsRoot /host/sys over /host/sys/class/net, …):
  // its local counterpart when every mount under it keeps the same relative path
  let parent: string | null = null;
  for (const [mount, local] of paths) {
    if (!mount.startsWith(`${path}/`)) continue;
    const rest = mount.slice(path.length);
    if (!local.endsWith(rest)) return path;
    const candidate = local.slice(0, local.length - rest.length) || '/';
    if (parent !== null && parent !== candidate) return path;
    parent = candidate;
  }
  return parent ?? path;
}

/** Every absolute path string in a config mapped; listen addresses moved to loopback ports. */
async function localConfig(
  text: string,
  paths: Map<string, string>,
): Promise<{ text: string; httpPort: number }> {
  const config = JSON.parse(text);
  const httpPort = await freeTcpPort();
  config.http = { ...config.http, listen: `127.0.0.1:${httpPort}` };
  if (typeof config.mirror?.listen === 'string') config.mirror.listen = `127.0.0.1:${await freeUdpPort()}`;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.startsWith('/') ? mapPath(v, paths) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return { text: JSON.stringify(walk(config), null, 2), httpPort };
}

const configMap = (overlay: Container['overlay'], name: string): K8sObject => {
  const cm = render(overlay).find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  if (!cm) throw new Error(`ConfigMap ${name} is not rendered`);
  return cm;
};

export async function startLocalPod(c: Container, o: LocalPodOptions): Promise<LocalPod> {
  const base = mkdtempSync(join(tmpdir(), 'podwire-local-pod-'));
  const paths = new Map<string, string>([[IMAGE_APP_DIR, ROOT]]);
  const configMaps: { dir: string; data: Record<string, string> }[] = [];
  for (const m of c.container.volumeMounts ?? []) {
    const vol = c.podSpec.volumes.find((v: { name: string }) => v.name === m.name);
    const claim = (c.workload.spec.volumeClaimTemplates ?? []).some(
      (t: K8sObject) => t.metadata.name === m.name,
    );
    let local: string;
    if (vol?.hostPath) local = vol.hostPath.path;
    else if (vol?.emptyDir || claim) local = made(join(base, `volume-${m.name}`));
    else if (vol?.configMap) {
      local = made(join(base, `configmap-${m.name}`));
      configMaps.push({ dir: local, data: configMap(c.overlay, vol.configMap.name).data });
    } else throw new Error(`${c.label}: volume ${m.name} of a kind this test does not map`);
    paths.set(m.mountPath, local);
  }
  // the config files last: their paths map through every mount
  let httpPort = 0;
  for (const { dir, data } of configMaps)
    for (const [key, text] of Object.entries(data)) {
      const local = await localConfig(text, paths);
      writeFileSync(join(dir, key), local.text);
      if (`${dir}/${key}` === mapPath(argConfig(c), paths)) httpPort = local.httpPort;
    }
  if (httpPort === 0) throw new Error(`${c.label}: its --config is not in a mounted ConfigMap`);

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: made(join(base, 'home')),
    ...o.env,
  };
  for (const e of c.container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    const field = e.valueFrom?.fieldRef?.fieldPath as string | undefined;
    if (ref && o.secrets[ref.name]?.[ref.key] !== undefined) env[e.name] = o.secrets[ref.name][ref.key];
    else if (field !== undefined && o.fields?.[field] !== undefined) env[e.name] = o.fields[field];
    else if (e.valueFrom && !ref)
      throw new Error(`${c.label}: env ${e.name} from a source this test does not map`);
  }
  const [cmd, ...rest] = c.container.command as string[];
  const argv = [...rest, ...(c.container.args as string[])].map((a) =>
    a.startsWith('/') ? mapPath(a, paths) : a,
  );
  const bin = cmd === 'node' ? process.execPath : cmd;
  const cwd = made(join(base, 'workdir'));
  const [exe, args] = existsSync(SETPRIV_BIN)
    ? [SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', bin, ...argv]]
    : [bin, argv];
  const child: ChildProcess = spawn(exe, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (d: string) => {
    output = (output + d).slice(-100_000);
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  const exited = new Promise<number | string>((r) =>
    child.once('close', (code, signal) => r(code ?? `signal ${signal}`)),
  );
  const grace = (c.podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
  return {
    url: `http://127.0.0.1:${httpPort}`,
    cwd,
    paths,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => {
        output += `\n[test] still running ${grace} ms after SIGTERM (the pod's grace period): SIGKILL\n`;
        child.kill('SIGKILL');
      }, grace);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

function argConfig(c: Container): string {
  const args: string[] = c.container.args;
  return args[args.indexOf('--config') + 1];
}

/** Entries of a directory (the workdir must stay empty: the root filesystem is read-only). */
export const entries = (dir: string): string[] => readdirSync(dir);
