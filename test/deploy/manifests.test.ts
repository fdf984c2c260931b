/**
 * The deploy/ overlays as `kubectl kustomize` renders them: every object valid against the
 * Kubernetes (kubernetes-models) and Prometheus Operator schemas, each role with only the
 * privileges it needs, RBAC read-only and bound only where endpoints are read, the configs
 * each container is given valid for its role, and the Prometheus and Grafana parts wired to
 * what the workloads serve.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseAllConfig } from '../../cli/all-config.js';
import { roleConfigProblems } from '../../service/roles.js';
import {
  type Container,
  configOf,
  configPathOf,
  containers,
  IMAGE_APP_DIR,
  type K8sObject,
  OVERLAYS,
  type Role as PodwireRole,
  ROLES,
  ROOT,
  render,
  roleOf,
} from './manifests.js';

const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/StatefulSet': StatefulSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** hostPaths the node role may mount (read-only): where its sysfs and netdev sources read. */
const NODE_HOST_PATHS = ['/sys/class/net', '/sys/bus/pci/devices', '/sys/devices'];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const named = (overlay: (typeof OVERLAYS)[number], kind: string) =>
  render(overlay).filter((o) => o.kind === kind);
const mirrorType = (c: Container) => (configOf(c).mirror as { type?: string } | undefined)?.type;
const readsKubernetes = (c: Container) =>
  ((configOf(c).endpoints as { sources?: { type: string }[] } | undefined)?.sources ?? []).some(
    (s) => s.type === 'kubernetes',
  );

describe.each(OVERLAYS)('deploy/overlays/%s', (overlay) => {
  it('renders with kubectl kustomize, every object valid against its Kubernetes or Prometheus Operator schema', () => {
    const objects = render(overlay);
    expect(objects.length).toBeGreaterThan(5);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(
        Model,
        `${o.apiVersion} ${o.kind} ${o.metadata.name}: no schema known to this test`,
      ).toBeDefined();
      expect(() => new Model(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
      if (o.kind !== 'Namespace' && o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding')
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('podwire');
    }
    // what the schema takes but would be wrong: a deliberately broken copy is refused
    const broken = structuredClone(containers(overlay)[0].workload);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => new MODELS[`${broken.apiVersion}/${broken.kind}`](broken as never).validate()).toThrow(
      /containerPort/,
    );
  });

  it('commits no Secret: the Secret podwire is created by hand (deploy/README.md)', () => {
    expect(named(overlay, 'Secret')).toEqual([]);
  });

  it('runs every container as the image states: node /app/bin/podwire.js ROLE --config FILE, the image at the package version', () => {
    for (const c of containers(overlay)) {
      expect(c.container.command, c.label).toEqual(['node', `${IMAGE_APP_DIR}/bin/podwire.js`]);
      expect(ROLES, c.label).toContain(roleOf(c));
      expect(configPathOf(c), c.label).toMatch(/^\/etc\/podwire\/[a-z]+\.json$/);
      expect(c.container.image, c.label).toBe(`podwire:${pkg.version}`);
    }
  });

  it('gives each container only what its role needs: no privilege, ALL capabilities dropped, read-only root, non-root, RuntimeDefault seccomp', () => {
    for (const c of containers(overlay)) {
      const sc = c.container.securityContext;
      const pod = c.podSpec.securityContext ?? {};
      expect(sc.privileged ?? false, c.label).toBe(false);
      expect(sc.allowPrivilegeEscalation, c.label).toBe(false);
      expect(sc.readOnlyRootFilesystem, c.label).toBe(true);
      expect(sc.capabilities.drop, c.label).toEqual(['ALL']);
      // a capture mirror (node only) needs NET_RAW and NET_ADMIN for tcpdump; nothing else adds any
      const capture = roleOf(c) === 'node' && mirrorType(c) === 'capture';
      expect([...(sc.capabilities.add ?? [])].sort(), c.label).toEqual(
        capture ? ['NET_ADMIN', 'NET_RAW'] : [],
      );
      expect(sc.runAsNonRoot ?? pod.runAsNonRoot, c.label).toBe(true);
      expect(sc.runAsUser ?? pod.runAsUser, c.label).toBeGreaterThan(0);
      expect((sc.seccompProfile ?? pod.seccompProfile)?.type, c.label).toBe('RuntimeDefault');
      expect(c.podSpec.hostPID ?? false, c.label).toBe(false);
      expect(c.podSpec.hostIPC ?? false, c.label).toBe(false);
      // the host's network namespace only for the node role's NIC sources (netlink, sysfs)
      expect(c.podSpec.hostNetwork ?? false, c.label).toBe(roleOf(c) === 'node');
    }
  });

  it('mounts hostPaths only into the node role, read-only, and only the sysfs paths its sources read', () => {
    for (const c of containers(overlay)) {
      for (const m of c.container.volumeMounts ?? []) {
        const vol = c.podSpec.volumes.find((v: { name: string }) => v.name === m.name);
        if (!vol?.hostPath) continue; // a volumeClaimTemplate is no pod volume
        expect(roleOf(c), `${c.label} mounts ${vol.hostPath.path}`).toBe('node');
        expect(NODE_HOST_PATHS, c.label).toContain(vol.hostPath.path);
        expect(m.readOnly, `${c.label} ${m.mountPath}`).toBe(true);
      }
    }
  });

  it('writes only to volumes: /tmp and the data dir are emptyDir or PVC mounts, the config is read-only', () => {
    for (const c of containers(overlay)) {
      const mounts: { name: string; mountPath: string; readOnly?: boolean }[] = c.container.volumeMounts;
      const writable = (path: string) => {
        const m = mounts.find((x) => path === x.mountPath || path.startsWith(`${x.mountPath}/`));
        if (!m || m.readOnly) return false;
        const vol = c.podSpec.volumes.find((v: { name: string }) => v.name === m.name);
        const claim = (c.workload.spec.volumeClaimTemplates ?? []).some(
          (t: K8sObject) => t.metadata.name === m.name,
        );
        return claim || vol?.emptyDir !== undefined;
      };
      expect(writable('/tmp'), `${c.label} /tmp`).toBe(true);
      expect(writable(String(configOf(c).dataDir)), `${c.label} dataDir`).toBe(true);
      const config = mounts.find((m) => configPathOf(c).startsWith(`${m.mountPath}/`));
      expect(config?.readOnly, c.label).toBe(true);
    }
  });

  it('sets requests and a memory limit on every container, and probes /healthz (liveness, startup) and /readyz (readiness) on the port http.listen names', () => {
    for (const c of containers(overlay)) {
      const r = c.container.resources;
      expect(r.requests.cpu, c.label).toBeDefined();
      expect(r.requests.memory, c.label).toBeDefined();
      expect(r.limits.memory, c.label).toBeDefined();
      expect(c.container.livenessProbe.httpGet.path, c.label).toBe('/healthz');
      expect(c.container.startupProbe.httpGet.path, c.label).toBe('/healthz');
      expect(c.container.readinessProbe.httpGet.path, c.label).toBe('/readyz');
      const listen = String((configOf(c).http as { listen: string }).listen);
      const port = c.container.ports.find((p: { name: string }) => p.name === 'http');
      expect(listen, c.label).toBe(`0.0.0.0:${port.containerPort}`);
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'])
        expect(c.container[probe].httpGet.port, `${c.label} ${probe}`).toBe('http');
    }
  });

  it('gives each container a config its role accepts (the contract: a role refuses sections it does not use) that the config schema validates', () => {
    for (const c of containers(overlay)) {
      const role = roleOf(c);
      const config = configOf(c);
      expect(() => parseAllConfig(config, c.label)).not.toThrow();
      expect(roleConfigProblems(role as PodwireRole, config), c.label).toEqual([]);
    }
  });

  it('takes the API token, and in the cluster the ClickHouse URL, from the Secret podwire, never from a literal', () => {
    for (const c of containers(overlay)) {
      const env: {
        name: string;
        value?: string;
        valueFrom?: { secretKeyRef?: { name: string; key: string } };
      }[] = c.container.env ?? [];
      const ref = (name: string) => env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
      expect(ref('PODWIRE_API_TOKEN'), c.label).toEqual({ name: 'podwire', key: 'api-token' });
      // embedded chDB belongs to one process: every role of the cluster stores to a server
      if (overlay === 'cluster')
        expect(ref('PODWIRE_CLICKHOUSE_URL'), c.label).toEqual({ name: 'podwire', key: 'clickhouse-url' });
      else expect(ref('PODWIRE_CLICKHOUSE_URL'), c.label).toBeUndefined();
      for (const e of env) expect(e.value, `${c.label} ${e.name}`).toBeUndefined();
      // the stores' URL never sits in a ConfigMap (it carries a password)
      expect(
        (configOf(c).store as { clickhouseUrl?: string } | undefined)?.clickhouseUrl,
        c.label,
      ).toBeUndefined();
    }
  });

  it('grants only get, list and watch of pods and NetworkAttachmentDefinitions, bound to exactly the roles whose endpoint sources read Kubernetes', () => {
    expect(named(overlay, 'Role')).toEqual([]);
    expect(named(overlay, 'RoleBinding')).toEqual([]);
    const roles = named(overlay, 'ClusterRole');
    expect(roles.map((r) => r.metadata.name)).toEqual(['podwire-endpoints-reader']);
    for (const rule of roles[0].rules) {
      expect([...rule.verbs].sort()).toEqual(['get', 'list', 'watch']);
      expect(rule.resources.some((r: string) => r.includes('*'))).toBe(false);
    }
    const granted = roles[0].rules.flatMap((r: { apiGroups: string[]; resources: string[] }) =>
      r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)),
    );
    expect(granted.sort()).toEqual(['/pods', 'k8s.cni.cncf.io/network-attachment-definitions']);
    const bound = new Set(
      named(overlay, 'ClusterRoleBinding').flatMap((b) => {
        expect(b.roleRef.name).toBe('podwire-endpoints-reader');
        return b.subjects.map((s: { kind: string; namespace: string; name: string }) => {
          expect(s.kind).toBe('ServiceAccount');
          return `${s.namespace}/${s.name}`;
        });
      }),
    );
    for (const c of containers(overlay)) {
      const sa = `podwire/${c.podSpec.serviceAccountName}`;
      expect(c.podSpec.serviceAccountName, c.label).toMatch(/^podwire-/);
      expect(bound.has(sa), `${c.label} (${sa})`).toBe(readsKubernetes(c));
      if (!readsKubernetes(c)) expect(c.podSpec.automountServiceAccountToken, c.label).toBe(false);
    }
    // one ServiceAccount per role
    const accounts = containers(overlay).map((c) => c.podSpec.serviceAccountName);
    expect(new Set(accounts).size).toBe(accounts.length);
  });

  it('exposes each UDP intake through a Service that keeps one exporter on one replica (ClientIP affinity, Local traffic policy)', () => {
    const udp = named(overlay, 'Service').filter((s) =>
      s.spec.ports.some((p: { protocol: string }) => p.protocol === 'UDP'),
    );
    const intakes = containers(overlay).filter((c) => ['sflow', 'netflow'].includes(mirrorType(c) ?? ''));
    expect(udp.length).toBe(intakes.length);
    for (const s of udp) {
      expect(s.spec.externalTrafficPolicy, s.metadata.name).toBe('Local');
      const target = containers(overlay).find((c) =>
        Object.entries(s.spec.selector).every(([k, v]) => c.workload.spec.template.metadata.labels[k] === v),
      );
      expect(target, s.metadata.name).toBeDefined();
      if ((target!.workload.spec.replicas ?? 1) > 1)
        expect(s.spec.sessionAffinity, s.metadata.name).toBe('ClientIP');
      const listen = String((configOf(target!).mirror as { listen: string }).listen);
      const port = target!.container.ports.find(
        (p: { name: string }) => p.name === s.spec.ports[0].targetPort,
      );
      expect(listen).toBe(`0.0.0.0:${port.containerPort}`);
      expect(port.protocol).toBe('UDP');
    }
  });

  it('scrapes every role: the ServiceMonitor selects a Service with a port named http for each workload, with the same token the pods take', () => {
    const [sm] = named(overlay, 'ServiceMonitor');
    const selected = named(overlay, 'Service').filter((s) =>
      Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    for (const c of containers(overlay)) {
      const svc = selected.find((s) =>
        Object.entries(s.spec.selector).every(([k, v]) => c.workload.spec.template.metadata.labels[k] === v),
      );
      expect(svc, `${c.label}: no scraped Service`).toBeDefined();
      expect(svc!.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
    }
    expect(sm.spec.endpoints[0].port).toBe('http');
    expect(sm.spec.endpoints[0].honorLabels).toBe(true);
    expect(sm.spec.endpoints[0].authorization.credentials).toEqual({ name: 'podwire', key: 'api-token' });
  });

  it('ships the generated PrometheusRule, which promtool accepts', () => {
    const [rule] = named(overlay, 'PrometheusRule');
    expect(rule.spec.groups.length).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'podwire-deploy-rules-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), JSON.stringify({ groups: rule.spec.groups }));
      const out = execFileSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
      expect(out).toMatch(/SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/overlays/cluster Grafana', () => {
  it('ships every dashboard as a ConfigMap labelled grafana_dashboard: "1", and a grafana_datasource: "1" ConfigMap with the Prometheus and ClickHouse data sources', () => {
    const maps = named('cluster', 'ConfigMap');
    const dashboards = maps.filter((m) => m.metadata.labels?.grafana_dashboard === '1');
    expect(dashboards.length).toBe(6);
    for (const m of dashboards) {
      const [[file, json]] = Object.entries(m.data as Record<string, string>);
      expect(file).toMatch(/^podwire-[a-z-]+\.json$/);
      expect(JSON.parse(json).uid, file).toBeTruthy();
    }
    const sources = maps.filter((m) => m.metadata.labels?.grafana_datasource === '1');
    expect(sources.length).toBe(1);
    const provisioning = parse(Object.values(sources[0].data as Record<string, string>)[0]);
    expect(provisioning.datasources.map((d: { type: string }) => d.type).sort()).toEqual([
      'grafana-clickhouse-datasource',
      'prometheus',
    ]);
    // the password is Grafana's environment, never the ConfigMap
    const ch = provisioning.datasources.find(
      (d: { type: string }) => d.type === 'grafana-clickhouse-datasource',
    );
    expect(ch.secureJsonData.password).toMatch(/^\$\{PODWIRE_CLICKHOUSE_PASSWORD\}$/);
  });
});
