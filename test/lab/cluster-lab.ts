// A small Kubernetes-like node built from real Linux parts (root only): a "node" network
// namespace with a bridge, pods as namespaces attached by veth (dual-stack), Services as
// ClusterIPs that the node DNATs to pod IPs with iptables as kube-proxy does, a real DNS server
// (dnsmasq) in a kube-dns pod, an "internet" namespace for external names, and the list/watch API
// server describing the same objects, with pod create and delete events emitted at the moment the
// lab creates or deletes each namespace.
//
// Pods route everything, pod-to-pod included, through the node (a /32-style host route to the
// gateway), so that replies pass the node's conntrack and are un-DNATed, as on a real node.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { createLab, waitForLine, type Lab, type LabPod } from './netns.js';
import { repoPath } from './bundle.js';
import type { KubeApiServer, KubeObject } from '../k8s/api-server.js';
import {
  controller,
  endpointSlice,
  namespace as nsObject,
  node as nodeObject,
  pod as podObject,
  service as serviceObject,
} from '../k8s/objects.js';
import type { LabCall, LabPodSpec, LabTopology, LabWorkload } from './topology.js';

/** The name of the lab's Kubernetes node. */
export const LAB_NODE_NAME = 'lab-node-1';
/** Host ns ↔ node ns link, so that processes in the node namespace reach the mapper and API server. */
export const UPLINK = { host: '169.254.77.1', node: '169.254.77.2' } as const;

/** A running pod of the lab. */
export interface RunningPod {
  readonly spec: LabPodSpec;
  readonly workload: LabWorkload;
  readonly ip: string;
  readonly ns: string;
  readonly agent: ChildProcess;
}

/** A running lab cluster. */
export interface ClusterLab {
  readonly lab: Lab;
  readonly nodeIp: string;
  /**
   * A /proc of this node's processes only (links to /proc/<pid> of each pod's process), for the
   * sniffer's --proc-root: the machine running the lab has other processes that are not the node's.
   */
  readonly procRoot: string;
  /** Starts a pod: namespace, addresses, routes, agent; then the Pod object (ADDED) and endpoints. */
  startPod(name: string): Promise<RunningPod>;
  /** Deletes a pod: the Pod object gets a deletionTimestamp and is DELETED, then the namespace goes. */
  deletePod(name: string): Promise<void>;
  /** Makes a call from a running pod (or the hostNetwork agent); resolves with the IP it connected to. */
  call(c: LabCall, hold?: boolean): Promise<string>;
  /** Every call made so far, with the time it was made. */
  readonly calls: readonly { readonly call: LabCall; readonly atMs: number }[];
  destroy(): Promise<void>;
}

function sh(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

function workloadKey(w: Pick<LabWorkload, 'namespace' | 'name'>): string {
  return `${w.namespace}/${w.name}`;
}

/** Kubernetes objects for the lab's namespaces, controllers, Services and the node. */
function staticObjects(t: LabTopology, nodeIp: string): KubeObject[] {
  const out: KubeObject[] = [nodeObject(LAB_NODE_NAME, nodeIp)];
  const namespaces = new Set(t.workloads.map((w) => w.namespace));
  for (const ns of [...namespaces].sort()) out.push(nsObject(ns));
  for (const w of t.workloads) {
    if (w.kind === 'Pod') continue;
    if (w.kind === 'Deployment') {
      out.push(
        controller('Deployment', w.name, {
          namespace: w.namespace,
          uid: `uid-deploy-${w.name}`,
          labels: w.labels,
        }),
      );
      out.push(
        controller('ReplicaSet', `${w.name}-5f7b9c`, {
          namespace: w.namespace,
          uid: `uid-rs-${w.name}`,
          owner: { kind: 'Deployment', name: w.name, uid: `uid-deploy-${w.name}` },
          labels: { ...w.labels, 'pod-template-hash': '5f7b9c' },
        }),
      );
    } else if (w.kind === 'CronJob') {
      out.push(
        controller('CronJob', w.name, { namespace: w.namespace, uid: `uid-cj-${w.name}`, labels: w.labels }),
      );
      out.push(
        controller('Job', `${w.name}-29000000`, {
          namespace: w.namespace,
          uid: `uid-job-${w.name}`,
          owner: { kind: 'CronJob', name: w.name, uid: `uid-cj-${w.name}` },
          labels: w.labels,
        }),
      );
    } else {
      out.push(
        controller(w.kind, w.name, {
          namespace: w.namespace,
          uid: `uid-${w.kind.toLowerCase()}-${w.name}`,
          labels: w.labels,
        }),
      );
    }
  }
  for (const s of t.services) {
    const backend = t.workloads.find((w) => workloadKey(w) === s.backend);
    if (!backend) throw new Error(`service ${s.name}: unknown backend ${s.backend}`);
    const svc = serviceObject(s.name, {
      namespace: s.namespace,
      clusterIP: s.clusterIP,
      selector: { ...backend.labels },
      ports: [s.port],
    });
    (svc['spec'] as { ports: unknown[] }).ports = [
      { name: 'main', port: s.port, targetPort: s.targetPort, protocol: s.protocol },
    ];
    out.push(svc);
  }
  return out;
}

function podOwner(
  w: LabWorkload,
): { kind: string; name: string; uid: string; apiVersion?: string } | undefined {
  switch (w.kind) {
    case 'Deployment':
      return { kind: 'ReplicaSet', name: `${w.name}-5f7b9c`, uid: `uid-rs-${w.name}` };
    case 'CronJob':
      return { kind: 'Job', name: `${w.name}-29000000`, uid: `uid-job-${w.name}`, apiVersion: 'batch/v1' };
    case 'Pod':
      return undefined;
    default:
      return { kind: w.kind, name: w.name, uid: `uid-${w.kind.toLowerCase()}-${w.name}` };
  }
}

/** Builds the lab's network and publishes the cluster's static objects to `api`. */
export async function startClusterLab(t: LabTopology, api: KubeApiServer): Promise<ClusterLab> {
  const lab = createLab({ ipv4Prefix: t.podCidrPrefix, ipv6Prefix: 'fd44::' });
  const nodeNs = lab.nodeNs;
  const nodeIp = lab.nodeIpv4;
  const running = new Map<string, RunningPod>();
  const calls: { call: LabCall; atMs: number }[] = [];
  let nextId = 1;
  const pending = new Map<number, { resolve: (ip: string) => void; reject: (e: Error) => void }>();
  const agentScript = repoPath('test/lab/pod-agent.mjs');
  const dnsIp = t.services.find((s) => s.name === 'kube-dns')?.clusterIP ?? '';
  const procRoot = mkdtempSync(join(tmpdir(), 'intentmap-lab-proc-'));
  const linkProc = (child: ChildProcess): void => {
    if (child.pid !== undefined) symlinkSync(`/proc/${child.pid}`, join(procRoot, String(child.pid)));
  };
  const unlinkProc = (child: ChildProcess): void => {
    if (child.pid !== undefined) rmSync(join(procRoot, String(child.pid)), { force: true });
  };
  const uplinkHostIf = `${lab.id.slice(-12)}h`.replace(/[^a-z0-9]/g, '').slice(0, 15);

  try {
    // The node forwards and NATs; it must not send ICMP redirects (pods would then bypass it).
    sh('ip', [
      'netns',
      'exec',
      nodeNs,
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.conf.all.send_redirects=0',
      `net.ipv4.conf.${lab.bridge}.send_redirects=0`,
    ]);
    // Uplink to the host namespace, for the sniffer → mapper reports only (not on the bridge).
    sh('ip', ['link', 'add', uplinkHostIf, 'type', 'veth', 'peer', 'name', 'uplink0', 'netns', nodeNs]);
    sh('ip', ['addr', 'add', `${UPLINK.host}/30`, 'dev', uplinkHostIf]);
    sh('ip', ['link', 'set', uplinkHostIf, 'up']);
    sh('ip', ['-n', nodeNs, 'addr', 'add', `${UPLINK.node}/30`, 'dev', 'uplink0']);
    sh('ip', ['-n', nodeNs, 'link', 'set', 'uplink0', 'up']);
    // Local processes (hostNetwork pods) need a route to the service range for the first lookup;
    // the nat OUTPUT chain then rewrites the destination, as on a node with a default route.
    sh('ip', ['-n', nodeNs, 'route', 'add', t.serviceCidr, 'dev', lab.bridge]);
    // kube-proxy's job: DNAT every ClusterIP to its backend pod, for routed and for local traffic.
    for (const s of t.services) {
      const backend = t.pods.find((p) => p.workload === s.backend);
      if (!backend) throw new Error(`service ${s.name} has no pod`);
      const to = `${t.podCidrPrefix}.${backend.hostId}:${s.targetPort}`;
      const protos = s.protocol === 'UDP' ? ['udp', 'tcp'] : ['tcp'];
      for (const chain of ['PREROUTING', 'OUTPUT']) {
        for (const p of protos) {
          sh('ip', [
            'netns',
            'exec',
            nodeNs,
            'iptables',
            '-w',
            '-t',
            'nat',
            '-A',
            chain,
            '-d',
            `${s.clusterIP}/32`,
            '-p',
            p,
            '--dport',
            String(s.port),
            '-j',
            'DNAT',
            '--to-destination',
            to,
          ]);
        }
      }
    }
    // The "internet": one namespace holding every external address.
    const internet = lab.addPod('internet', 250);
    for (const ip of Object.values(t.externalNames)) {
      sh('ip', ['-n', internet.ns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
      sh('ip', ['-n', nodeNs, 'route', 'add', `${ip}/32`, 'via', internet.ipv4]);
    }
    routeViaNode(internet);
    // stdin stays open: the agent exits when it closes.
    const server = lab.spawn(
      internet.ns,
      process.execPath,
      [agentScript, JSON.stringify({ listen: [443] })],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    await waitForLine(server, 'stdout', /"ready":true/);

    for (const o of staticObjects(t, nodeIp)) api.apply(o);
  } catch (err) {
    await lab.destroy();
    throw err;
  }

  function routeViaNode(pod: LabPod): void {
    // Replace the on-link /24 with a host route to the gateway: pod-to-pod traffic is routed by
    // the node, so DNAT replies are un-NATed by its conntrack.
    sh('ip', ['-n', pod.ns, 'route', 'del', `${t.podCidrPrefix}.0/24`, 'dev', 'eth0']);
    sh('ip', ['-n', pod.ns, 'route', 'add', nodeIp, 'dev', 'eth0']);
    sh('ip', ['-n', pod.ns, 'route', 'add', 'default', 'via', nodeIp]);
  }

  function attachAgent(child: ChildProcess): void {
    if (!child.stdout) return;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: { id?: number; ok?: boolean; ip?: string; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.id === undefined) return;
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.ip ?? '');
      else p.reject(new Error(msg.error ?? 'call failed'));
    });
  }

  // The hostNetwork agent runs in the node namespace itself.
  const hostAgents = new Map<string, ChildProcess>();
  for (const w of t.workloads.filter((x) => x.hostNetwork)) {
    const child = lab.spawn(
      nodeNs,
      process.execPath,
      [agentScript, JSON.stringify({ listen: w.ports, dns: dnsIp })],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    await waitForLine(child, 'stdout', /"ready":true/);
    attachAgent(child);
    linkProc(child);
    hostAgents.set(workloadKey(w), child);
    api.apply(
      podObject(`${w.name}-lab1`, {
        namespace: w.namespace,
        uid: randomUUID(),
        ip: nodeIp,
        hostIP: nodeIp,
        nodeName: LAB_NODE_NAME,
        labels: { ...w.labels, 'controller-revision-hash': '6c9f' },
        owner: podOwner(w),
        hostNetwork: true,
        startMs: Date.now(),
      }),
    );
  }

  const podSpecsByName = new Map(t.pods.map((p) => [p.name, p]));
  const workloadsByKey = new Map(t.workloads.map((w) => [workloadKey(w), w]));

  function publishEndpoints(w: LabWorkload): void {
    for (const s of t.services.filter((x) => x.backend === workloadKey(w))) {
      const eps = [...running.values()]
        .filter((p) => workloadKey(p.workload) === s.backend)
        .map((p) => ({ ip: p.ip, pod: p.spec.name }));
      api.apply(endpointSlice(`${s.name}-abc12`, s.name, eps, { namespace: s.namespace }));
    }
  }

  async function startPod(name: string): Promise<RunningPod> {
    const spec = podSpecsByName.get(name);
    if (!spec) throw new Error(`unknown pod ${name}`);
    const workload = workloadsByKey.get(spec.workload);
    if (!workload) throw new Error(`pod ${name}: unknown workload ${spec.workload}`);
    const labPod = lab.addPod(name.slice(0, 20).replace(/-$/, ''), spec.hostId);
    routeViaNode(labPod);
    let agent: ChildProcess;
    if (workload.name === 'coredns') {
      // A real DNS server answering the Services' names and the external names.
      const records = t.services.map(
        (s) => `--host-record=${s.name}.${s.namespace}.svc.cluster.local,${s.clusterIP}`,
      );
      const external = Object.entries(t.externalNames).map(([n, ip]) => `--host-record=${n},${ip}`);
      agent = lab.spawn(labPod.ns, 'dnsmasq', [
        '--keep-in-foreground',
        '--no-resolv',
        '--no-hosts',
        '--no-poll',
        '--bind-interfaces',
        `--listen-address=${labPod.ipv4}`,
        '--port=53',
        '--local-ttl=30',
        '--user=root',
        '--pid-file',
        '--log-facility=-',
        ...records,
        ...external,
      ]);
      await waitForDns(labPod);
    } else {
      agent = lab.spawn(
        labPod.ns,
        process.execPath,
        [agentScript, JSON.stringify({ listen: workload.ports, dns: dnsIp })],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      await waitForLine(agent, 'stdout', /"ready":true/);
      attachAgent(agent);
    }
    linkProc(agent);
    const rp: RunningPod = { spec, workload, ip: labPod.ipv4, ns: labPod.ns, agent };
    running.set(name, rp);
    const now = Date.now();
    api.apply(
      podObject(name, {
        namespace: workload.namespace,
        uid: randomUUID(),
        ip: [labPod.ipv4, labPod.ipv6],
        hostIP: nodeIp,
        nodeName: LAB_NODE_NAME,
        labels: {
          ...workload.labels,
          ...(workload.kind === 'Deployment' ? { 'pod-template-hash': '5f7b9c' } : {}),
        },
        owner: podOwner(workload),
        ports: workload.ports,
        startMs: now,
      }),
    );
    publishEndpoints(workload);
    return rp;
  }

  async function waitForDns(pod: LabPod): Promise<void> {
    // dnsmasq prints nothing useful when ready: ask it until it answers (bounded).
    for (let i = 0; i < 50; i++) {
      const r = await lab.run(
        pod.ns,
        process.execPath,
        [repoPath('test/lab/dns-client.mjs'), pod.ipv4, 'kube-dns.kube-system.svc.cluster.local', 'A', 'udp'],
        { timeoutMs: 3000 },
      );
      if (r.code === 0) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('dnsmasq did not answer');
  }

  function deletePod(name: string): Promise<void> {
    const rp = running.get(name);
    if (!rp) return Promise.reject(new Error(`pod ${name} is not running`));
    const current = api.get('Pod', rp.workload.namespace, name);
    if (current) {
      const meta = { ...(current.metadata ?? {}), deletionTimestamp: new Date().toISOString() };
      api.apply({ ...current, metadata: meta });
      api.remove('Pod', rp.workload.namespace, name);
    }
    running.delete(name);
    publishEndpoints(rp.workload);
    unlinkProc(rp.agent);
    rp.agent.kill('SIGKILL');
    spawnSync('ip', ['netns', 'pids', rp.ns]);
    spawnSync('ip', ['netns', 'del', rp.ns]);
    return Promise.resolve();
  }

  function call(c: LabCall, hold = false): Promise<string> {
    const fromPod = [...running.values()].find((p) => workloadKey(p.workload) === c.from);
    const agent = fromPod?.agent ?? hostAgents.get(c.from);
    if (!agent?.stdin) return Promise.reject(new Error(`no running pod of ${c.from}`));
    let target: { name?: string; ip?: string; port: number };
    if ('service' in c) {
      const s = t.services.find((x) => `${x.namespace}/${x.name}` === c.service);
      if (!s) return Promise.reject(new Error(`unknown service ${c.service}`));
      target = { name: `${s.name}.${s.namespace}.svc.cluster.local`, port: s.port };
    } else if ('pod' in c) {
      const p = running.get(c.pod);
      if (!p) return Promise.reject(new Error(`pod ${c.pod} is not running`));
      target = { ip: p.ip, port: c.port };
    } else {
      target = { name: c.external, port: c.port };
    }
    const id = nextId++;
    calls.push({ call: c, atMs: Date.now() });
    return new Promise<string>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      agent.stdin?.write(`${JSON.stringify({ id, [hold ? 'hold' : 'call']: target })}\n`);
    });
  }

  return {
    lab,
    nodeIp,
    procRoot,
    startPod,
    deletePod,
    call,
    calls,
    async destroy() {
      for (const p of pending.values()) p.reject(new Error('lab destroyed'));
      pending.clear();
      await lab.destroy();
      spawnSync('ip', ['link', 'del', uplinkHostIf]);
      rmSync(procRoot, { recursive: true, force: true });
    },
  };
}
