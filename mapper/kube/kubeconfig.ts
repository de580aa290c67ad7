// Loading a KubeConfig: an explicit file, or client-node's default lookup ($KUBECONFIG,
// ~/.kube/config, then the in-cluster service account) [KC config.ts loadFromDefault].
import { KubeConfig } from '@kubernetes/client-node';

/** The result of loading a kubeconfig; `reason` names the file and a fix. */
export type KubeConfigResult =
  { readonly ok: true; readonly value: KubeConfig } | { readonly ok: false; readonly reason: string };

/** Loads `file`, or the default kubeconfig (falling back to in-cluster config) when `file` is undefined. */
export function loadKubeConfig(file?: string): KubeConfigResult {
  const kc = new KubeConfig();
  try {
    if (file !== undefined) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    const what = file !== undefined ? `kubeconfig ${file}` : 'the default kubeconfig';
    return {
      ok: false,
      reason: `cannot load ${what}: ${err instanceof Error ? err.message : String(err)}. Pass --kubeconfig FILE or --snapshot DIR.`,
    };
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    return {
      ok: false,
      reason: `${file ?? 'the default kubeconfig'} has no current cluster. Set current-context, or pass --kubeconfig FILE.`,
    };
  }
  return { ok: true, value: allowPlainHttp(kc) };
}

/**
 * client-node 1.x refuses an `http://` server unless `insecure-skip-tls-verify` is set (its
 * createAgent), although there is no TLS to verify. Test clusters and `kubectl proxy` serve plain
 * http, so such clusters are marked skip-verify here; https clusters are untouched.
 */
export function allowPlainHttp(kc: KubeConfig): KubeConfig {
  if (!kc.clusters.some((c) => c.server.startsWith('http://') && !c.skipTLSVerify)) return kc;
  const fixed = new KubeConfig();
  fixed.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.server.startsWith('http://') ? { ...c, skipTLSVerify: true } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return fixed;
}
