// The side panel: details of the clicked node or edge. Built with el() only (textContent), so a
// pod named `<img src=x onerror=alert(1)>` is shown as those characters.
import type { EdgeDetail, FlowRow, NodeDetail, PartyRef } from '../server/service.js';
import { ago, append, clear, compact, download, el, iso } from './dom.js';

/** What the inspector asks the app to do. */
export interface InspectorHandlers {
  readonly onFocusWorkload: (p: PartyRef) => void;
  readonly onSelectNode: (id: string) => void;
  readonly onExpandGroup: (group: string) => void;
  readonly intentsUrl: (clientId: string) => string;
}

const VERDICT_TEXT: Readonly<Record<string, string>> = {
  safe: 'Safe to enforce',
  'would-block': 'Would block',
  'not-enough-evidence': 'Not enough evidence',
  enforced: 'Enforced',
};

function partyText(p: PartyRef): string {
  return p.namespace === '' ? p.name : `${p.namespace}/${p.name}`;
}

function kindBadge(kind: string): HTMLElement {
  return el('span', { class: `badge kind kind-${kind}` }, kind);
}

function section(title: string, ...children: Parameters<typeof append>[1]): HTMLElement {
  const s = el('section', { class: 'panel-section' }, el('h3', {}, title));
  append(s, children);
  return s;
}

function flowTable(
  rows: readonly FlowRow[],
  now: number,
  onSelect: (id: string) => void,
  empty: string,
): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'muted' }, empty);
  const body = el('tbody');
  for (const r of rows) {
    const peer = el(
      'button',
      { type: 'button', class: 'link peer', title: partyText(r.peer) },
      partyText(r.peer),
    );
    peer.addEventListener('click', () => onSelect(r.peer.id));
    body.appendChild(
      el(
        'tr',
        { class: r.blocked ? 'blocked' : undefined },
        el(
          'td',
          {},
          peer,
          r.peer.kind !== 'workload' ? el('span', { class: 'muted small' }, ` ${r.peer.kind}`) : null,
        ),
        el('td', { class: 'mono' }, `${r.protocol}/${r.port}`),
        el('td', { class: 'num', title: `${r.count} observations` }, compact(r.count)),
        el('td', { title: `first seen ${iso(r.firstSeen)}` }, ago(r.firstSeen, now)),
        el('td', { title: `last seen ${iso(r.lastSeen)}` }, ago(r.lastSeen, now)),
      ),
    );
  }
  return el(
    'table',
    { class: 'flows' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', {}, 'Peer'),
        el('th', {}, 'Port'),
        el('th', { class: 'num' }, 'Count'),
        el('th', {}, 'First'),
        el('th', {}, 'Last'),
      ),
    ),
    body,
  );
}

async function copyText(text: string, button: HTMLButtonElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API needs a secure context; fall back to a selected textarea.
    const ta = el('textarea', { class: 'offscreen', readonly: true });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = 'Copy'), 1500);
}

/** Fills the panel with a node's details. */
export function renderNodeDetail(panel: HTMLElement, d: NodeDetail, now: number, h: InspectorHandlers): void {
  clear(panel);
  panel.scrollTop = 0;
  if (d.type === 'group') {
    const expand = el('button', { type: 'button', class: 'primary', id: 'expand-group' }, 'Expand namespace');
    expand.addEventListener('click', () => h.onExpandGroup(d.group));
    const list = el('ul', { class: 'members' });
    for (const m of d.members) {
      const b = el('button', { type: 'button', class: 'link' }, m.name);
      b.addEventListener('click', () => {
        h.onExpandGroup(d.group);
        h.onSelectNode(m.id);
      });
      list.appendChild(el('li', {}, b, el('span', { class: 'muted small' }, ` ${m.workloadKind || m.kind}`)));
    }
    append(panel, [
      el(
        'header',
        { class: 'panel-head' },
        kindBadge(d.group.startsWith('(') ? 'group' : 'namespace'),
        el('h2', { class: 'title' }, d.group),
      ),
      el(
        'p',
        { class: 'muted' },
        `${d.members.length} parties · ${compact(d.edgesOut)} outgoing and ${compact(d.edgesIn)} incoming edges`,
      ),
      expand,
      section('Members', list, d.truncated ? el('p', { class: 'muted small' }, 'List truncated.') : null),
    ]);
    return;
  }
  const n = d.node;
  const head = el(
    'header',
    { class: 'panel-head' },
    kindBadge(n.kind),
    el('h2', { class: 'title', title: n.name }, n.name),
    el(
      'p',
      { class: 'muted' },
      [n.workloadKind, n.namespace === '' ? '' : `namespace ${n.namespace}`]
        .filter((s) => s !== '')
        .join(' · '),
    ),
  );
  const focus = el('button', { type: 'button' }, 'Show only its traffic');
  focus.addEventListener('click', () => h.onFocusWorkload(n));
  const verdict = d.verdict.available
    ? el(
        'div',
        { class: 'verdict-box' },
        el(
          'span',
          { class: `badge verdict verdict-${d.verdict.value ?? 'none'}` },
          d.verdict.value === null
            ? 'No verdict (not a server)'
            : (VERDICT_TEXT[d.verdict.value] ?? d.verdict.value),
        ),
        d.verdict.reasons.length > 0
          ? el('ul', { class: 'reasons' }, ...d.verdict.reasons.map((r) => el('li', {}, r)))
          : null,
      )
    : el('p', { class: 'muted unavailable' }, d.verdict.reason);
  const labels = Object.entries(d.labels);
  const labelList =
    labels.length === 0
      ? el('p', { class: 'muted' }, 'No labels.')
      : el(
          'ul',
          { class: 'labels' },
          ...labels.map(([k, v]) => el('li', { class: 'label-chip mono' }, `${k}=${v}`)),
        );
  const attrs = Object.entries(d.attrs);
  let intents: HTMLElement;
  if (d.intents.available) {
    const yaml = d.intents.yaml;
    const copy = el('button', { type: 'button', id: 'copy-intents' }, 'Copy');
    copy.addEventListener('click', () => void copyText(yaml, copy));
    const dl = el('button', { type: 'button', id: 'download-intents' }, 'Download');
    dl.addEventListener('click', () =>
      download(
        `${n.namespace}-${n.name}.intents.yaml`.replace(/[^A-Za-z0-9._-]+/g, '_'),
        new Blob([yaml], { type: 'application/yaml' }),
      ),
    );
    intents = section(
      'Suggested ClientIntents',
      el('div', { class: 'button-row' }, copy, dl),
      el('pre', { class: 'yaml', id: 'intents-yaml' }, el('code', {}, yaml)),
    );
  } else {
    intents = section(
      'Suggested ClientIntents',
      el('p', { class: 'muted unavailable', id: 'intents-unavailable' }, d.intents.reason),
    );
  }
  append(panel, [
    head,
    el('div', { class: 'button-row' }, focus),
    section(
      'Verdict',
      verdict,
      d.blockedFlows.length > 0 ? el('h4', {}, 'Flows that would be blocked') : null,
      d.blockedFlows.length > 0 ? flowTable(d.blockedFlows, now, h.onSelectNode, '') : null,
    ),
    section(
      'Labels',
      labelList,
      attrs.length > 0
        ? el('p', { class: 'muted small mono' }, attrs.map(([k, v]) => `${k}: ${String(v)}`).join(' · '))
        : null,
    ),
    section(
      `Calls (${d.servers.length})`,
      flowTable(d.servers, now, h.onSelectNode, 'No outgoing traffic observed.'),
    ),
    section(
      `Called by (${d.clients.length})`,
      flowTable(d.clients, now, h.onSelectNode, 'No incoming traffic observed.'),
    ),
    d.truncated ? el('p', { class: 'muted small' }, 'Lists are truncated to the most recent flows.') : null,
    intents,
  ]);
}

/** Fills the panel with an edge's details. */
export function renderEdgeDetail(
  panel: HTMLElement,
  d: EdgeDetail,
  sourceName: string,
  targetName: string,
  now: number,
  h: InspectorHandlers,
): void {
  clear(panel);
  panel.scrollTop = 0;
  append(panel, [
    el(
      'header',
      { class: 'panel-head' },
      kindBadge('edge'),
      el('h2', { class: 'title' }, `${sourceName} → ${targetName}`),
      el('p', { class: 'muted' }, `${d.edges.length}${d.truncated ? '+' : ''} observed flows`),
    ),
  ]);
  for (const e of d.edges) {
    const client = el('button', { type: 'button', class: 'link' }, partyText(e.client));
    client.addEventListener('click', () => h.onSelectNode(e.client.id));
    const server = el('button', { type: 'button', class: 'link' }, partyText(e.server));
    server.addEventListener('click', () => h.onSelectNode(e.server.id));
    const policies = e.policies.available
      ? e.policies.decisions.length === 0
        ? el(
            'p',
            { class: 'muted' },
            'No policy selects this flow: it is allowed because nothing isolates the server.',
          )
        : el(
            'ul',
            { class: 'decisions' },
            ...e.policies.decisions.map((p) =>
              el(
                'li',
                { class: `decision ${p.effect}` },
                el('span', { class: 'badge' }, p.effect),
                ' ',
                el('span', { class: 'mono' }, p.policy),
                ': ',
                p.reason,
              ),
            ),
          )
      : el('p', { class: 'muted unavailable' }, e.policies.reason);
    const endpoints =
      e.endpoints.length === 0
        ? el('p', { class: 'muted' }, 'No addresses recorded.')
        : el(
            'table',
            { class: 'flows' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                el('th', {}, 'Client IP'),
                el('th', {}, 'Server IP'),
                el('th', { class: 'num' }, 'Count'),
                el('th', {}, 'Last'),
              ),
            ),
            el(
              'tbody',
              {},
              ...e.endpoints.map((p) =>
                el(
                  'tr',
                  {},
                  el('td', { class: 'mono' }, p.clientIp),
                  el('td', { class: 'mono' }, p.serverIp),
                  el('td', { class: 'num' }, compact(p.count)),
                  el('td', { title: iso(p.lastSeen) }, ago(p.lastSeen, now)),
                ),
              ),
            ),
          );
    panel.appendChild(
      el(
        'article',
        { class: `edge-card${e.blocked ? ' blocked' : ''}` },
        el(
          'p',
          {},
          client,
          ' → ',
          server,
          e.via !== null ? el('span', { class: 'muted' }, ` via Service ${e.via.name}`) : null,
        ),
        el(
          'p',
          { class: 'facts' },
          el('span', { class: 'mono badge' }, `${e.protocol}/${e.port}`),
          ` ${compact(e.count)} observations · first ${ago(e.firstSeen, now)} · last ${ago(e.lastSeen, now)}`,
          e.blocked ? el('span', { class: 'badge verdict verdict-would-block' }, 'would be blocked') : null,
        ),
        el('p', { class: 'muted small' }, `Seen by: ${e.sources.join(', ') || 'unknown'}`),
        el('h4', {}, 'DNS names'),
        e.dnsNames.length === 0
          ? el('p', { class: 'muted' }, 'None observed.')
          : el(
              'ul',
              { class: 'labels' },
              ...e.dnsNames.map((n) => el('li', { class: 'label-chip mono' }, n)),
            ),
        el('h4', {}, 'Observations (addresses)'),
        endpoints,
        el('h4', {}, 'Policies'),
        policies,
      ),
    );
  }
}

/** Shows a message in the panel. */
export function renderPanelMessage(panel: HTMLElement, title: string, text: string): void {
  clear(panel);
  append(panel, [el('div', { class: 'placeholder' }, el('h2', {}, title), el('p', {}, text))]);
}
