// The two HTML documents the UI serves: the app shell and the login page. They hold no cluster
// data and no inline script or style (the CSP forbids both); the app fills the shell from the
// JSON API with textContent only.

/** Escapes text for an HTML attribute or element body. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const HEAD = (title: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">`;

/** Options for the app shell. */
export interface AppPageOptions {
  /** The URL sniffers should report to, shown in the empty state. */
  readonly mapperUrl: string;
  /** Whether a session exists (shows the sign-out button). */
  readonly signedIn: boolean;
}

/** The app shell: static structure that web/ui binds to by element id. */
export function renderAppPage(o: AppPageOptions): string {
  const mapper = escapeHtml(o.mapperUrl);
  return `${HEAD('intentmap — access graph')}
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header class="topbar">
  <div class="brand"><span class="logo" aria-hidden="true"></span>intentmap</div>
  <form id="filters" class="filters" autocomplete="off" aria-label="Filters">
    <label>Namespace<select id="f-ns" name="ns"><option value="">All namespaces</option></select></label>
    <label class="grow">Workload<input id="f-q" name="q" type="search" list="f-q-list" placeholder="Search workloads…" spellcheck="false"><datalist id="f-q-list"></datalist></label>
    <label>Window<select id="f-window" name="window">
      <option value="">All time</option><option value="15m">15 min</option><option value="1h">1 hour</option><option value="6h">6 hours</option>
      <option value="24h">24 hours</option><option value="7d">7 days</option><option value="30d">30 days</option></select></label>
    <label>Protocol<select id="f-proto" name="proto"><option value="">Any</option><option>TCP</option><option>UDP</option><option>SCTP</option></select></label>
    <label>Port<input id="f-port" name="port" type="number" min="0" max="65535" placeholder="Any" inputmode="numeric"></label>
    <label>Verdict<select id="f-verdict" name="verdict"><option value="">Any</option><option value="safe">Safe to enforce</option>
      <option value="would-block">Would block</option><option value="not-enough-evidence">Not enough evidence</option><option value="enforced">Enforced</option></select></label>
    <label class="check"><input id="f-ext" name="ext" type="checkbox">External only</label>
    <button id="f-reset" type="button" class="link">Reset</button>
  </form>
  <div class="actions">
    <label class="toggle"><input id="overlay" type="checkbox"><span>Verdicts</span></label>
    <details class="menu" id="export-menu"><summary>Export</summary>
      <div class="menu-items">
        <button type="button" id="export-svg">Graph as SVG</button>
        <button type="button" id="export-png">Graph as PNG</button>
        <a id="export-intents" href="#">Intents (YAML, current filter)</a>
        <a id="export-intents-zip" href="#">Intents (zip, file per client)</a>
        <a id="export-report" href="#">Report (HTML)</a>
      </div>
    </details>
    <span id="live" class="live" title="Live updates">live</span>
    ${o.signedIn ? '<form method="post" action="/logout" class="logout"><button type="submit" class="link">Sign out</button></form>' : ''}
  </div>
</header>
<main class="layout">
  <section class="graph-pane" aria-label="Access graph">
    <svg id="graph" role="img" aria-label="Access graph"></svg>
    <div id="summary" class="summary" aria-live="polite"></div>
    <div class="zoom" role="group" aria-label="Zoom">
      <button type="button" id="zoom-in" title="Zoom in">+</button>
      <button type="button" id="zoom-out" title="Zoom out">−</button>
      <button type="button" id="zoom-fit" title="Fit to screen">⤢</button>
    </div>
    <div id="legend" class="legend"></div>
    <div id="empty-state" class="empty" hidden>
      <h2>No traffic recorded yet</h2>
      <p>intentmap draws the graph from what its sniffers observe. Start one on each node and point it at this mapper:</p>
      <pre><code>intentmap sniff --iface eth0 --mapper ${mapper} --token-file /etc/intentmap/token</code></pre>
      <p>In a cluster, install the sniffer DaemonSet from the Helm chart. To try it without a cluster, replay a capture offline:</p>
      <pre><code>intentmap import --pcap capture.pcap --snapshot manifests/ --db intentmap.db</code></pre>
      <p>New connections appear here as they are reported; there is no need to reload.</p>
    </div>
    <div id="no-match" class="empty" hidden>
      <h2>Nothing matches these filters</h2>
      <p>Traffic is recorded, but none of it matches. Widen the time window or <button type="button" id="no-match-reset" class="link">reset the filters</button>.</p>
    </div>
    <div id="error" class="error" role="alert" hidden></div>
  </section>
  <aside id="inspector" class="inspector" aria-label="Details">
    <div class="placeholder">
      <h2>Inspect</h2>
      <p>Click a workload to see its clients, servers, suggested intents and verdict. Click an edge to see its observations and the policies that decide it. Click a namespace to expand it.</p>
    </div>
  </aside>
</main>
</body>
</html>
`;
}

/** The login page; `error` is one of our own fixed messages, `next` is escaped. */
export function renderLoginPage(o: { readonly next: string; readonly error: string }): string {
  return `${HEAD('intentmap — sign in')}
</head>
<body class="login-body">
<main class="login">
  <div class="brand"><span class="logo" aria-hidden="true"></span>intentmap</div>
  <h1>Sign in</h1>
  <p>Paste the mapper's access token (the contents of its <code>--token-file</code>).</p>
  ${o.error === '' ? '' : `<p class="error" role="alert">${escapeHtml(o.error)}</p>`}
  <form method="post" action="/login">
    <input type="hidden" name="next" value="${escapeHtml(o.next)}">
    <label>Token<input name="token" type="password" autocomplete="current-password" required autofocus></label>
    <button type="submit">Sign in</button>
  </form>
</main>
</body>
</html>
`;
}

/** Shown instead of the app when the browser bundle has not been built. */
export function renderNotBuiltPage(): string {
  return `${HEAD('intentmap — UI not built')}
</head>
<body class="login-body"><main class="login"><h1>The web UI is not built</h1>
<p>Run <code>npm run build</code> (it bundles web/ui into dist/web/public), then reload.</p></main></body></html>
`;
}
