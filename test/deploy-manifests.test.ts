// The Helm chart and the plain manifests rendered from it: every object validates against the
// Kubernetes schemas (kubernetes-models, unknown fields rejected), RBAC is read-only, the sniffer
// gets only the capabilities it needs, the mapper runs as non-root, the NetworkPolicy admits only
// the sniffers to the ingest port, and the probes point at endpoints the processes really serve.
//
// Rendering: `helm template` when helm is installed, else deploy/helm-render (Go text/template +
// sprig, built from Debian packages). The committed manifests are checked without any renderer.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT, findObject, parseManifests, renderChart } from '../deploy/render.js';
import { validateManifest, type KubeObject } from '../deploy/validate.js';
import { WATCHED_RESOURCES } from '../mapper/kube/cluster-watch.js';
import { createSnifferMetrics, startMetricsServer } from '../sniffer/metrics.js';

const COMMITTED = join(REPO_ROOT, 'deploy/manifests/intentmap.yaml');

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** helm, or the Go renderer's build inputs (deploy/setup.sh installs them). */
const HAS_RENDERER =
  hasCommand('helm') ||
  (hasCommand('go') && existsSync('/usr/share/gocode/src/github.com/Masterminds/sprig'));
if (!HAS_RENDERER) {
  process.stderr.write(
    'deploy-manifests: no chart renderer (helm, or golang-go + golang-github-masterminds-sprig-dev + golang-k8s-sigs-yaml-dev); render tests skipped\n',
  );
}

const tmp = mkdtempSync(join(tmpdir(), 'intentmap-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let valuesCount = 0;
/** Renders the chart with values given as an object (written to a values file, as `-f` takes them). */
async function render(
  values: Record<string, unknown> = {},
  apiVersions: string[] = [],
): Promise<KubeObject[]> {
  const file = join(tmp, `values-${valuesCount++}.yaml`);
  writeFileSync(file, stringify(values));
  const r = await renderChart({ valuesFiles: [file], apiVersions });
  if (!r.ok) throw new Error(`render failed: ${r.reason}`);
  return parseManifests(r.value);
}

async function renderFailure(values: Record<string, unknown>): Promise<string> {
  const file = join(tmp, `values-${valuesCount++}.yaml`);
  writeFileSync(file, stringify(values));
  const r = await renderChart({ valuesFiles: [file] });
  if (r.ok) throw new Error('expected the render to fail');
  return r.reason;
}

async function expectAllValid(objects: readonly KubeObject[]): Promise<void> {
  const failures: string[] = [];
  for (const o of objects) {
    const check = await validateManifest(o);
    if (!check.ok) failures.push(`${check.reason}: ${check.message}`);
  }
  expect(failures).toEqual([]);
}

// ---- small typed accessors over the rendered JSON -------------------------------------------
type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`not an object: ${JSON.stringify(v)}`);
  return v as Json;
};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const at = (v: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((cur, k) => (cur === undefined || cur === null ? undefined : obj(cur)[k]), v);
const podSpec = (workload: KubeObject): Json => obj(at(workload, 'spec', 'template', 'spec'));
const firstContainer = (workload: KubeObject): Json => obj(arr(podSpec(workload)['containers'])[0]);
const args = (container: Json): string[] => arr(container['args']).map(String);
/** The value of `--flag=value` in an argument list. */
const flagValue = (list: readonly string[], flag: string): string | undefined =>
  list.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
const podLabels = (workload: KubeObject): Json => obj(at(workload, 'spec', 'template', 'metadata', 'labels'));
/** matchLabels selects labels when each of its pairs is present. */
const selects = (matchLabels: unknown, labels: Json): boolean =>
  Object.entries(obj(matchLabels)).every(([k, v]) => labels[k] === v);

describe('the committed plain manifests (deploy/manifests/intentmap.yaml)', () => {
  const objects = parseManifests(readFileSync(COMMITTED, 'utf8'));

  it('validate against the Kubernetes schemas, with no unknown field', async () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'DaemonSet',
        'Deployment',
        'NetworkPolicy',
        'PersistentVolumeClaim',
        'Service',
        'ServiceAccount',
        'ServiceAccount',
      ].sort(),
    );
    await expectAllValid(objects);
  });

  it('carry no token: the operator creates the Secret the header names', () => {
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    const header = readFileSync(COMMITTED, 'utf8').split('\n').slice(0, 12).join('\n');
    expect(header).toContain('create secret generic intentmap-token');
    const ds = findObject(objects, 'DaemonSet');
    expect(
      at(
        arr(podSpec(ds)['volumes']).find((v) => obj(v)['name'] === 'token'),
        'secret',
        'secretName',
      ),
    ).toBe('intentmap-token');
  });

  it.skipIf(!HAS_RENDERER)(
    'are what the chart renders today (deploy/render-manifests.sh --check)',
    async () => {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          'bash',
          ['deploy/render-manifests.sh', '--check'],
          { cwd: REPO_ROOT },
          (err, stdout, stderr) => (err ? reject(new Error(stdout + stderr)) : resolve(stdout)),
        );
      });
      expect(out).toContain('is up to date');
    },
  );
});

/** The least-privilege properties, checked on the committed manifests and on renders. */
function checkLeastPrivilege(objects: readonly KubeObject[]): void {
  // RBAC: read verbs only, on exactly the resources the mapper watches, and no Role escapes that.
  const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
  expect(roles).toHaveLength(1);
  const rules = arr(roles[0]!['rules']).map(obj);
  const granted = new Set<string>();
  for (const rule of rules) {
    expect(arr(rule['verbs']).sort()).toEqual(['get', 'list', 'watch']);
    expect(rule['nonResourceURLs']).toBeUndefined();
    expect(rule['resourceNames']).toBeUndefined();
    for (const group of arr(rule['apiGroups'])) {
      expect(group).not.toBe('*');
      for (const resource of arr(rule['resources']))
        granted.add(`${String(group) || 'core'}/${String(resource)}`);
    }
  }
  expect([...granted].sort()).toEqual(
    [
      'core/pods',
      'core/services',
      'core/namespaces',
      'core/nodes',
      'discovery.k8s.io/endpointslices',
      'apps/replicasets',
      'apps/deployments',
      'apps/statefulsets',
      'apps/daemonsets',
      'batch/jobs',
      'batch/cronjobs',
      'networking.k8s.io/networkpolicies',
    ].sort(),
  );
  const binding = findObject(objects, 'ClusterRoleBinding');
  expect(at(binding, 'roleRef', 'name')).toBe(roles[0]!.metadata?.name);
  const deployment = findObject(objects, 'Deployment', '-mapper');
  expect(arr(binding['subjects']).map(obj)).toEqual([
    {
      kind: 'ServiceAccount',
      name: podSpec(deployment)['serviceAccountName'],
      namespace: deployment.metadata?.namespace,
    },
  ]);

  // The sniffer: host network, NET_RAW only, everything else dropped, read-only root and /proc.
  const ds = findObject(objects, 'DaemonSet', '-sniffer');
  const spec = podSpec(ds);
  expect(spec['hostNetwork']).toBe(true);
  expect(spec['dnsPolicy']).toBe('ClusterFirstWithHostNet');
  expect(spec['hostPID']).toBeUndefined();
  expect(spec['hostIPC']).toBeUndefined();
  expect(spec['automountServiceAccountToken']).toBe(false);
  const sniffer = firstContainer(ds);
  expect(arr(spec['containers'])).toHaveLength(1);
  expect(spec['initContainers']).toBeUndefined();
  const sc = obj(sniffer['securityContext']);
  expect(at(sc, 'capabilities')).toEqual({ drop: ['ALL'], add: ['NET_RAW'] });
  expect(sc['privileged']).toBe(false);
  expect(sc['allowPrivilegeEscalation']).toBe(false);
  expect(sc['readOnlyRootFilesystem']).toBe(true);
  expect(at(spec, 'securityContext', 'seccompProfile', 'type')).toBe('RuntimeDefault');
  const volumes = arr(spec['volumes']).map(obj);
  const mounts = arr(sniffer['volumeMounts']).map(obj);
  // The host's /proc, when mounted (sniffer.hostProc), is read-only and is what --proc-root names.
  const hostProc = volumes.find((v) => at(v, 'hostPath', 'path') === '/proc');
  const procMount = mounts.find((m) => m['name'] === hostProc?.['name']);
  if (hostProc !== undefined) expect(procMount?.['readOnly']).toBe(true);
  expect(flagValue(args(sniffer), '--proc-root')).toBe(procMount?.['mountPath']);
  // Every writable hostPath is the spool; nothing else of the host is writable.
  for (const v of volumes.filter((v) => v['hostPath'] !== undefined && v !== hostProc)) {
    expect(mounts.find((m) => m['name'] === v['name'])?.['mountPath']).toBe(
      flagValue(args(sniffer), '--spool-dir'),
    );
  }
  expect(arr(spec['tolerations'])).toContainEqual({ operator: 'Exists' });
  expect(at(sniffer, 'resources', 'requests', 'cpu')).toBeDefined();
  expect(at(sniffer, 'resources', 'requests', 'memory')).toBeDefined();
  expect(at(sniffer, 'resources', 'limits', 'memory')).toBeDefined();
  expect(arr(sniffer['env']).map(obj)).toContainEqual({
    name: 'NODE_NAME',
    valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
  });

  // The token: one Secret (or the existing one) mounted into both, the file each flag names.
  for (const [workload, container] of [
    [ds, sniffer],
    [deployment, firstContainer(deployment)],
  ] as const) {
    const tokenVolume = arr(podSpec(workload)['volumes'])
      .map(obj)
      .find((v) => v['secret'] !== undefined);
    const mount = arr(container['volumeMounts'])
      .map(obj)
      .find((m) => m['name'] === tokenVolume?.['name']);
    expect(mount?.['readOnly']).toBe(true);
    const item = obj(arr(at(tokenVolume, 'secret', 'items'))[0]);
    expect(flagValue(args(container), '--token-file')).toBe(
      `${String(mount?.['mountPath'])}/${String(item['path'])}`,
    );
  }
  const secretName = at(
    arr(spec['volumes'])
      .map(obj)
      .find((v) => v['secret'] !== undefined),
    'secret',
    'secretName',
  );
  const secret = objects.find((o) => o.kind === 'Secret');
  if (secret) expect(secret.metadata?.name).toBe(secretName);

  // The mapper: one replica, Recreate (one SQLite writer), non-root, read-only root, nothing added.
  expect(at(deployment, 'spec', 'replicas')).toBe(1);
  expect(at(deployment, 'spec', 'strategy', 'type')).toBe('Recreate');
  const mapper = firstContainer(deployment);
  const mpod = podSpec(deployment);
  expect(at(mpod, 'securityContext', 'runAsNonRoot')).toBe(true);
  expect(at(mpod, 'securityContext', 'runAsUser')).toBe(65532);
  expect(at(mapper, 'securityContext', 'runAsNonRoot')).toBe(true);
  expect(at(mapper, 'securityContext', 'allowPrivilegeEscalation')).toBe(false);
  expect(at(mapper, 'securityContext', 'readOnlyRootFilesystem')).toBe(true);
  expect(at(mapper, 'securityContext', 'capabilities')).toEqual({ drop: ['ALL'] });
  expect(mpod['hostNetwork']).toBeUndefined();
  // The database lives on the mounted volume, not the read-only root.
  const db = flagValue(args(mapper), '--db')!;
  const dbMount = arr(mapper['volumeMounts'])
    .map(obj)
    .find((m) => db.startsWith(`${String(m['mountPath'])}/`));
  expect(dbMount).toBeDefined();
  expect(
    arr(mpod['volumes'])
      .map(obj)
      .find((v) => v['name'] === dbMount!['name']),
  ).toBeDefined();

  // Probes: the mapper's on its listening port; /healthz for liveness, /readyz for readiness.
  const listenPort = Number(/:(\d+)$/.exec(flagValue(args(mapper), '--listen')!)?.[1]);
  const ports = arr(mapper['ports']).map(obj);
  const portOf = (p: unknown): number =>
    typeof p === 'number' ? p : Number(ports.find((x) => x['name'] === p)?.['containerPort']);
  expect(at(mapper, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
  expect(at(mapper, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
  expect(portOf(at(mapper, 'livenessProbe', 'httpGet', 'port'))).toBe(listenPort);
  expect(portOf(at(mapper, 'readinessProbe', 'httpGet', 'port'))).toBe(listenPort);
  expect(portOf(at(mapper, 'startupProbe', 'httpGet', 'port'))).toBe(listenPort);

  // The Service reaches the mapper pods on that port, and the sniffers report to it.
  const service = findObject(objects, 'Service', '-mapper');
  expect(selects(at(service, 'spec', 'selector'), podLabels(deployment))).toBe(true);
  expect(selects(at(service, 'spec', 'selector'), podLabels(ds))).toBe(false);
  const servicePort = obj(arr(at(service, 'spec', 'ports'))[0]);
  expect(portOf(servicePort['targetPort'])).toBe(listenPort);
  const mapperUrl = new URL(flagValue(args(sniffer), '--mapper')!);
  expect(mapperUrl.hostname).toBe(`${service.metadata?.name}.${service.metadata?.namespace}.svc`);
  expect(Number(mapperUrl.port)).toBe(servicePort['port']);

  // The NetworkPolicy: selects the mapper only; every rule names its peers and only the mapper port;
  // the first admits the sniffer pods (and node CIDRs), nothing else.
  const np = findObject(objects, 'NetworkPolicy');
  expect(selects(at(np, 'spec', 'podSelector', 'matchLabels'), podLabels(deployment))).toBe(true);
  expect(selects(at(np, 'spec', 'podSelector', 'matchLabels'), podLabels(ds))).toBe(false);
  expect(at(np, 'spec', 'policyTypes')).toEqual(['Ingress']);
  const ingress = arr(at(np, 'spec', 'ingress')).map(obj);
  for (const rule of ingress) {
    expect(arr(rule['from']).length).toBeGreaterThan(0); // an empty `from` would admit everyone
    expect(arr(rule['ports']).map(obj)).toEqual([{ port: listenPort, protocol: 'TCP' }]);
  }
  const ingest = arr(ingress[0]!['from']).map(obj);
  expect(selects(at(ingest[0], 'podSelector', 'matchLabels'), podLabels(ds))).toBe(true);
  expect(selects(at(ingest[0], 'podSelector', 'matchLabels'), podLabels(deployment))).toBe(false);
  expect(ingest[0]!['namespaceSelector']).toBeUndefined(); // the release's own namespace only
  for (const peer of ingest.slice(1)) expect(Object.keys(peer)).toEqual(['ipBlock']);
}

describe('least privilege, probes and reachability', () => {
  it('hold in the committed manifests', () => {
    const objects = parseManifests(readFileSync(COMMITTED, 'utf8'));
    checkLeastPrivilege(objects);
    const np = findObject(objects, 'NetworkPolicy');
    expect(arr(at(np, 'spec', 'ingress'))).toHaveLength(1);
    expect(arr(at(arr(at(np, 'spec', 'ingress'))[0], 'from'))).toHaveLength(1);
  });

  it('the ClusterRole grants exactly the resources the mapper watches', () => {
    const role = findObject(parseManifests(readFileSync(COMMITTED, 'utf8')), 'ClusterRole');
    const granted = arr(role['rules']).flatMap((r) => arr(obj(r)['resources']).map(String));
    expect(granted.sort()).toEqual([...WATCHED_RESOURCES].sort());
  });

  it('the sniffer probes answer on the real sniffer metrics endpoint', async () => {
    const ds = findObject(parseManifests(readFileSync(COMMITTED, 'utf8')), 'DaemonSet', '-sniffer');
    const sniffer = firstContainer(ds);
    const listen = flagValue(args(sniffer), '--metrics-listen')!;
    const [host, port] = [
      listen.slice(0, listen.lastIndexOf(':')),
      Number(listen.slice(listen.lastIndexOf(':') + 1)),
    ];
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      expect(at(sniffer, probe, 'httpGet', 'port')).toBe(port);
      // A hostNetwork pod's IP is the node's; a loopback listener is probed on loopback.
      expect(at(sniffer, probe, 'httpGet', 'host')).toBe(host);
    }
    const metrics = createSnifferMetrics();
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, metrics.registry, () => true);
    try {
      for (const probe of ['livenessProbe', 'readinessProbe']) {
        const path = String(at(sniffer, probe, 'httpGet', 'path'));
        const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
        expect([probe, res.status]).toEqual([probe, 200]);
      }
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!HAS_RENDERER)('the chart under other values', () => {
  it('generates a token Secret by default and keeps every property', async () => {
    const objects = await render();
    await expectAllValid(objects);
    checkLeastPrivilege(objects);
    const secret = findObject(objects, 'Secret', '-token');
    const token = Buffer.from(String(at(secret, 'data', 'token')), 'base64').toString();
    expect(token).toMatch(/^[A-Za-z0-9]{48}$/);
  });

  it('uses an existing Secret and key without creating one', async () => {
    const objects = await render({
      token: { existingSecret: 'my-token', key: 'ingest' },
      commonLabels: { team: 'net', tier: 'platform' },
    });
    await expectAllValid(objects);
    checkLeastPrivilege(objects);
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    for (const o of objects) expect(o.metadata?.['labels']).toMatchObject({ team: 'net', tier: 'platform' });
    const ds = findObject(objects, 'DaemonSet');
    expect(flagValue(args(firstContainer(ds)), '--token-file')).toBe('/var/run/secrets/intentmap/ingest');
  });

  it('admits node CIDRs, the UI peers and Prometheus only on the mapper port', async () => {
    const objects = await render(
      {
        networkPolicy: { nodeCIDRs: ['10.0.0.0/16', 'fd00::/64'] },
        ui: {
          allowFrom: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
          ],
          ingress: {
            enabled: true,
            className: 'nginx',
            host: 'intentmap.example.org',
            tls: [{ hosts: ['intentmap.example.org'], secretName: 'tls' }],
          },
        },
        serviceMonitor: { enabled: true },
      },
      ['monitoring.coreos.com/v1'],
    );
    await expectAllValid(objects);
    checkLeastPrivilege(objects);
    const np = findObject(objects, 'NetworkPolicy');
    const ingress = arr(at(np, 'spec', 'ingress')).map(obj);
    expect(ingress).toHaveLength(3);
    expect(arr(ingress[0]!['from']).slice(1)).toEqual([
      { ipBlock: { cidr: '10.0.0.0/16' } },
      { ipBlock: { cidr: 'fd00::/64' } },
    ]);
    const sm = findObject(objects, 'ServiceMonitor');
    expect(await validateManifest(sm)).toMatchObject({
      ok: true,
      skipped: expect.stringContaining('CRD') as unknown,
    });
    expect(at(arr(at(sm, 'spec', 'endpoints'))[0], 'path')).toBe('/metrics');
    expect(at(findObject(objects, 'Ingress'), 'spec', 'ingressClassName')).toBe('nginx');
  });

  it('renders the alternatives: emptyDir spool, no socket scan, no persistence, CIDRs, extra flags', async () => {
    const objects = await render({
      image: { digest: 'sha256:' + 'a'.repeat(64) },
      sniffer: {
        spool: { type: 'emptyDir' },
        scanInterval: '',
        udpFlows: true,
        extraArgs: ['--log-level=debug'],
      },
      mapper: {
        persistence: { enabled: false },
        podCIDRs: ['10.244.0.0/16'],
        serviceCIDRs: ['10.96.0.0/12'],
        listenHost: '::',
      },
      serviceAccount: { create: false, name: 'custom' },
    });
    await expectAllValid(objects);
    const ds = findObject(objects, 'DaemonSet');
    const sargs = args(firstContainer(ds));
    expect(sargs).toContain('--no-socket-scan');
    expect(sargs).toContain('--udp-flows');
    expect(
      arr(podSpec(ds)['volumes'])
        .map(obj)
        .find((v) => v['name'] === 'spool')?.['emptyDir'],
    ).toEqual({ sizeLimit: '256Mi' });
    expect(firstContainer(ds)['image']).toBe(`ghcr.io/intentmap/intentmap@sha256:${'a'.repeat(64)}`);
    const dep = findObject(objects, 'Deployment');
    const margs = args(firstContainer(dep));
    expect(margs).toEqual(
      expect.arrayContaining([
        '--pod-cidr=10.244.0.0/16',
        '--service-cidr=10.96.0.0/12',
        '--listen=[::]:8080',
      ]),
    );
    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(podSpec(dep)['serviceAccountName']).toBe('custom');
    expect(objects.some((o) => o.kind === 'ServiceAccount' && o.metadata?.name === 'custom')).toBe(false);
  });

  it('follows the sniffer metrics address with its probes: all addresses, IPv6 loopback, off', async () => {
    const probesOf = async (listen: string): Promise<unknown[]> => {
      const objects = await render({ sniffer: { metrics: { listen } } });
      await expectAllValid(objects);
      const c = firstContainer(findObject(objects, 'DaemonSet'));
      expect(flagValue(args(c), '--metrics-listen')).toBe(listen);
      return [c['livenessProbe'], c['readinessProbe'], c['ports']];
    };
    const [allLive, allReady, allPorts] = await probesOf('0.0.0.0:9500');
    expect(at(allLive, 'httpGet')).toEqual({ path: '/healthz', port: 9500 }); // the pod IP, which is the node's
    expect(at(allReady, 'httpGet')).toEqual({ path: '/readyz', port: 9500 });
    expect(allPorts).toEqual([{ name: 'metrics', containerPort: 9500, protocol: 'TCP' }]);
    const [v6Live] = await probesOf('[::1]:9465');
    expect(at(v6Live, 'httpGet')).toEqual({ path: '/healthz', port: 9465, host: '::1' });
    expect(await probesOf('off')).toEqual([undefined, undefined, undefined]);
  });

  it('refuses values that cannot work, naming the fix', async () => {
    expect(await renderFailure({ mapper: { replicas: 2 } })).toContain('mapper.replicas must be 1');
    expect(await renderFailure({ serviceMonitor: { enabled: true } })).toContain('monitoring.coreos.com/v1');
    expect(await renderFailure({ sniffer: { spool: { type: 'pvc' } } })).toContain('hostPath or emptyDir');
    expect(await renderFailure({ ui: { ingress: { enabled: true, host: '' } } })).toContain(
      'ui.ingress.host is required',
    );
  });
});

describe('validateManifest', () => {
  const daemonSet = (container: Record<string, unknown>): Record<string, unknown> => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'x', labels: { 'app.kubernetes.io/name': 'x' } },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: {
        metadata: { labels: { a: 'b' } },
        spec: { containers: [{ name: 'c', image: 'i', ...container }] },
      },
    },
  });

  it('accepts a valid object, maps included', async () => {
    expect(await validateManifest(daemonSet({ resources: { limits: { memory: '1Gi' } } }))).toEqual({
      ok: true,
    });
  });

  it('rejects a misspelt field that the schemas alone would let through', async () => {
    const r = await validateManifest(daemonSet({ securityContext: { readOnlyRootFileSystem: true } }));
    expect(r).toEqual({
      ok: false,
      reason: 'unknown-field',
      message:
        'DaemonSet/x: unknown field(s) spec.template.spec.containers.0.securityContext.readOnlyRootFileSystem',
    });
  });

  it('rejects a wrong type, and a kind it has no schema for', async () => {
    expect(await validateManifest(daemonSet({ ports: [{ containerPort: 'http' }] }))).toMatchObject({
      ok: false,
      reason: 'schema',
    });
    expect(await validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget' })).toMatchObject({
      ok: false,
      reason: 'unknown-kind',
    });
    expect(await validateManifest('kind: DaemonSet')).toMatchObject({ ok: false, reason: 'not-an-object' });
  });
});
