// The real client-node informers in process (watchIntoState) against the test list/watch API server
// in test/k8s over HTTP on port 0, feeding a ClusterState, with the clock injected: the harness of
// the informer-level Kubernetes tests (mapper-kube.test.ts, mapper-kube-idle.test.ts). Tests wait
// on what the watch reports (a change, a heartbeat, a proof of progress, a logged line), not on time.
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterState } from '../../mapper/identity/index.js';
import {
  loadKubeConfig,
  watchIntoState,
  type ClusterWatch,
  type WatchIntoStateOptions,
} from '../../mapper/kube/index.js';
import { KubeApiServer, type KubeApiServerOptions, type KubeObject } from '../k8s/api-server.js';

/** What {@link startInformerHarness} started. */
export interface InformerHarness {
  readonly api: KubeApiServer;
  readonly kc: KubeConfig;
  readonly state: ClusterState;
  readonly watch: ClusterWatch;
  /** The injected clock: set `now` to move it. */
  readonly clock: { now: number };
  /** Emits 'signal' on every change, heartbeat, proof of progress and logged line. */
  readonly signals: EventEmitter;
  /** Warnings the watch logged, as `msg {obj}`. */
  readonly warnings: string[];
  /** Every line the watch logged (warnings and info), as `msg {obj}`. */
  readonly logs: string[];
  /** Resolves once `pred` holds, re-checked on every signal. */
  readonly until: (pred: () => boolean) => Promise<void>;
  readonly dir: string;
}

/** Options of {@link startInformerHarness}. */
export interface InformerHarnessOptions {
  /** Start of the temp dir's name. */
  readonly prefix: string;
  readonly api: KubeApiServerOptions;
  /** Applied to the API server, in order, before the watch starts. */
  readonly objects: readonly KubeObject[];
  readonly state: ClusterState;
  /** The injected clock's start (epoch ms). */
  readonly startMs: number;
  /**
   * Over the defaults: the injected clock, heartbeats and probes every 20 ms, a logger that records
   * into `warnings` and `logs`, and a signal on every change, heartbeat and proof of progress.
   */
  readonly watch?: WatchIntoStateOptions;
}

/**
 * Starts the API server holding `objects` and the watch feeding `state`. Returns before the
 * watch has synced (await `watch.synced`), so that a test can hold the harness while it syncs.
 */
export async function startInformerHarness(o: InformerHarnessOptions): Promise<InformerHarness> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix));
  let api: KubeApiServer | undefined;
  try {
    api = await KubeApiServer.start(o.api);
    for (const object of o.objects) api.apply(object);
    const loaded = loadKubeConfig(await api.writeKubeconfig(join(dir, 'kubeconfig')));
    if (!loaded.ok) throw new Error(loaded.reason);
    const clock = { now: o.startMs };
    const signals = new EventEmitter();
    const warnings: string[] = [];
    const logs: string[] = [];
    const signal = (): boolean => signals.emit('signal');
    const watch = watchIntoState(loaded.value, o.state, {
      now: () => clock.now,
      heartbeatMs: 20,
      probeIntervalMs: 20,
      logger: {
        warn: (obj, msg) => {
          warnings.push(`${msg} ${JSON.stringify(obj)}`);
          logs.push(`${msg} ${JSON.stringify(obj)}`);
          signal();
        },
        info: (obj, msg) => {
          logs.push(`${msg} ${JSON.stringify(obj)}`);
          signal();
        },
      },
      onChange: signal,
      onHeartbeat: signal,
      onProgress: signal,
      ...o.watch,
    });
    const until = async (pred: () => boolean): Promise<void> => {
      while (!pred()) await once(signals, 'signal');
    };
    return { api, kc: loaded.value, state: o.state, watch, clock, signals, warnings, logs, until, dir };
  } catch (err) {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Stops the watch and the API server and removes the temp dir. */
export async function stopInformerHarness(h: InformerHarness): Promise<void> {
  await h.watch.stop();
  await h.api.close();
  rmSync(h.dir, { recursive: true, force: true });
}
