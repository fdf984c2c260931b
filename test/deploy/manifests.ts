/**
 * The deploy/ overlays as kustomize renders them (the real `kubectl kustomize`; no API
 * server is needed to render), and what the tests read from them: workloads, their pod
 * specs and containers, the config file each container is given.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The overlays under deploy/overlays. */
export const OVERLAYS = ['single', 'cluster'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** The roles `node bin/podwire.js <role> --config FILE` runs (service/roles.ts). */
export { ROLES, type Role } from '../../service/roles.js';

/** Where the image keeps the app (Containerfile WORKDIR): /app/bin/podwire.js is bin/podwire.js here. */
export const IMAGE_APP_DIR = '/app';

/** Rendered objects are plain JSON of many kinds; the tests read them by path. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Json = any;

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: Json };
  [k: string]: Json;
};

const rendered = new Map<Overlay, K8sObject[]>();

/** `kubectl kustomize deploy/overlays/NAME`, parsed (cached per overlay). */
export function render(overlay: Overlay): K8sObject[] {
  const cached = rendered.get(overlay);
  if (cached) return cached;
  const text = execFileSync('kubectl', ['kustomize', join(ROOT, 'deploy', 'overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const docs = parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`${overlay}: ${d.errors[0].message}`);
    return d.toJSON() as K8sObject;
  });
  rendered.set(overlay, docs);
  return docs;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);

export interface Container {
  overlay: Overlay;
  workload: K8sObject;
  podSpec: Json;
  container: Json;
  /** e.g. "cluster DaemonSet/podwire-node" */
  label: string;
}

/** Every container of every workload of an overlay. */
export function containers(overlay: Overlay): Container[] {
  const out: Container[] = [];
  for (const w of render(overlay)) {
    if (!WORKLOAD_KINDS.has(w.kind)) continue;
    const podSpec = w.spec.template.spec;
    for (const c of [...(podSpec.initContainers ?? []), ...podSpec.containers])
      out.push({
        overlay,
        workload: w,
        podSpec,
        container: c,
        label: `${overlay} ${w.kind}/${w.metadata.name}`,
      });
  }
  return out;
}

/** The role a container runs: the first argument after the podwire entry point. */
export function roleOf(c: Container): string {
  return (c.container.args ?? [])[0];
}

/** The value of `--config` in a container's args. */
export function configPathOf(c: Container): string {
  const args: string[] = c.container.args ?? [];
  const i = args.indexOf('--config');
  if (i < 0 || i + 1 >= args.length) throw new Error(`${c.label}: no --config in its args`);
  return args[i + 1];
}

/** The ConfigMap a mounted file comes from, and its key. */
export function mountedFile(c: Container, path: string): { configMap: K8sObject; key: string; text: string } {
  for (const m of c.container.volumeMounts ?? []) {
    if (!path.startsWith(`${m.mountPath}/`)) continue;
    const vol = c.podSpec.volumes.find((v: { name: string }) => v.name === m.name);
    if (!vol?.configMap) continue;
    const key = path.slice(m.mountPath.length + 1);
    const cm = render(c.overlay).find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name,
    );
    if (!cm) throw new Error(`${c.label}: ConfigMap ${vol.configMap.name} is not rendered`);
    if (typeof cm.data?.[key] !== 'string')
      throw new Error(`${c.label}: ConfigMap ${cm.metadata.name} has no ${key}`);
    return { configMap: cm, key, text: cm.data[key] };
  }
  throw new Error(`${c.label}: ${path} is not in a mounted ConfigMap`);
}

/** The container's config, as the ConfigMap holds it. */
export function configOf(c: Container): Record<string, unknown> {
  return JSON.parse(mountedFile(c, configPathOf(c)).text);
}
