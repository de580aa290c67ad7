// `intentmap mapper`: runs the mapper server (ingest API, graph API, probes, metrics) over a
// SQLite file, with cluster state from live informers or a manifest snapshot.
import type { Command } from 'commander';

/** Raw options of `intentmap mapper` (mapper/config.ts parses and validates them). */
interface MapperCommandOptions {
  readonly db?: string;
  readonly listen?: string;
  readonly tokenFile?: string;
  readonly nodeTokensFile?: string;
  readonly kubeconfig?: string;
  readonly snapshot?: string;
  readonly podCidr?: string[];
  readonly serviceCidr?: string[];
  readonly logLevel?: string;
  readonly retention?: string;
  readonly vacuum?: boolean;
  readonly maxClockSkew?: string;
  readonly watchProbeInterval?: string;
  readonly watchIdleProofInterval?: string;
  readonly watchIdleProofMaxObjects?: string;
  readonly ignoreNamespaces?: string[];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the `mapper` subcommand. */
export function register(program: Command): void {
  program
    .command('mapper')
    .description(
      'Run the mapper: receive sniffer reports, resolve them to workload identities, store the access graph, serve it.',
    )
    .option(
      '--db <file>',
      'SQLite database file, created if missing (env INTENTMAP_DB; default .data/intentmap.db)',
    )
    .option('--listen <host:port>', 'address of the HTTP API (env INTENTMAP_LISTEN; default 127.0.0.1:8080)')
    .option(
      '--token-file <file>',
      'file holding the bearer token sniffers and readers present (env INTENTMAP_TOKEN_FILE); required off loopback',
    )
    .option(
      '--node-tokens-file <file>',
      'per-node tokens, one "NODE TOKEN" per line: a node token may report only as that node (env INTENTMAP_NODE_TOKENS_FILE)',
    )
    .option(
      '--kubeconfig <file>',
      'watch the cluster of this kubeconfig (default: $KUBECONFIG, ~/.kube/config, then in-cluster)',
    )
    .option(
      '--snapshot <dir>',
      'read cluster state from manifests (kubectl get -o yaml) instead of watching (env INTENTMAP_SNAPSHOT)',
    )
    .option(
      '--pod-cidr <cidr>',
      'pod CIDR (repeatable): unknown addresses inside are "unresolved", not external (env INTENTMAP_POD_CIDRS)',
      collect,
    )
    .option(
      '--service-cidr <cidr>',
      'service CIDR (repeatable), as --pod-cidr (env INTENTMAP_SERVICE_CIDRS)',
      collect,
    )
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (env INTENTMAP_LOG_LEVEL; default info)',
    )
    .option(
      '--retention <duration>',
      'delete edges and DNS rows not seen for this long, hourly (env INTENTMAP_RETENTION; default 30d)',
    )
    .option(
      '--vacuum',
      'at start-up, prune by retention and then VACUUM the database file to return free space (blocks until done)',
    )
    .option(
      '--max-clock-skew <duration>',
      'refuse batches whose clock is ahead of the mapper by more than this (env INTENTMAP_MAX_CLOCK_SKEW; default 5m)',
    )
    .option(
      '--watch-probe-interval <duration>',
      'how often each watched Kubernetes resource is probed (a limit=1 list) to prove the watch current; fresher proofs mean fresh batches wait less (env INTENTMAP_WATCH_PROBE_INTERVAL; default 1s)',
    )
    .option(
      '--watch-idle-proof-interval <duration>',
      'least time between two lists of one idle Kubernetes resource compared with the watch cache to prove it current without waiting for a bookmark (about one a minute); "off" waits for bookmarks (env INTENTMAP_WATCH_IDLE_PROOF_INTERVAL; default 5s)',
    )
    .option(
      '--watch-idle-proof-max-objects <n>',
      'resources with more objects than this are not compared; bookmarks prove them (env INTENTMAP_WATCH_IDLE_PROOF_MAX_OBJECTS; default 5000)',
    )
    .option(
      '--ignore-namespaces <list>',
      'leave these namespaces out of the graph, comma-separated, repeatable (env INTENTMAP_IGNORE_NAMESPACES)',
      collect,
    )
    .action(async (opts: MapperCommandOptions) => {
      const [
        { loadMapperConfig, isLoopbackHost },
        { startMapper },
        { startClusterSource },
        { createWebRouter },
      ] = await Promise.all([
        import('../config.js'),
        import('../main.js'),
        import('../cluster-source.js'),
        import('../../web/server/index.js'),
      ]);
      const config = loadMapperConfig(opts);
      // Catch SIGTERM from the start: a signal during start-up stops the mapper as soon as it is up.
      let signalled: string | null = null;
      let onSignal: ((signal: string) => void) | null = null;
      const handle = (signal: string): void => {
        if (onSignal !== null) onSignal(signal);
        else signalled = signal;
      };
      process.once('SIGTERM', () => handle('SIGTERM'));
      process.once('SIGINT', () => handle('SIGINT'));
      const running = await startMapper(config, {
        startCluster: startClusterSource,
        // The web UI at / beside the API: same token, anonymous only on loopback without a token.
        extraRouters: (ctx) => {
          if (ctx.sharedToken === null && !isLoopbackHost(config.listen.host)) {
            ctx.logger.warn(
              'web UI not served: it needs --token-file when listening off loopback (node tokens are for sniffers)',
            );
            return [];
          }
          const router = createWebRouter({
            store: ctx.store,
            auth: {
              token: ctx.sharedToken,
              allowAnonymous: ctx.sharedToken === null && isLoopbackHost(config.listen.host),
            },
            now: Date.now,
            authLimiter: ctx.authLimiter,
            logError: (message, err) => ctx.logger.error({ err }, message),
          });
          return [{ path: '/', router, close: () => router.closeWeb(), serveCached: router.serveCached }];
        },
      });
      await new Promise<void>((resolve, reject) => {
        const stop = (signal: string): void => {
          running.logger.info({ signal }, 'signal received');
          running.close().then(resolve, reject);
        };
        if (signalled !== null) stop(signalled);
        else onSignal = stop;
      });
    });
}
