// Renders the report: Markdown that reads well as a pull-request comment, one self-contained HTML
// file (inline CSS, no external assets, print styles, every name escaped), and JSON.
import { mdCell } from './replay.js';
import {
  SERVER_VERDICTS,
  VERDICT_TEXT,
  formatDuration,
  type FlowRow,
  type ReportJson,
  type ServerEntry,
  type ServerVerdict,
} from './report.js';

/** Output formats of `intentmap report`. */
export const REPORT_FORMATS = ['md', 'html', 'json'] as const;
/** An output format of `intentmap report`. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const ICON: Readonly<Record<ServerVerdict, string>> = {
  'safe-to-enforce': '✅',
  'would-block': '⛔',
  'not-enough-evidence': '⏳',
  'already-enforced': '🔒',
  'not-covered': '➖',
};

function flowPort(f: FlowRow): string {
  return `${f.protocol}/${f.port}`;
}

function lastSeenShort(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');
}

/** Renders the report as Markdown. */
export function renderReportMarkdown(r: ReportJson): string {
  const out: string[] = [];
  const s = r.summary.servers;
  out.push('## intentmap: safe-to-enforce report', '');
  out.push(
    `Window **${formatDuration(r.window.durationMs)}** (${lastSeenShort(r.window.start)} → ${lastSeenShort(r.window.end)}), minimum ${formatDuration(r.window.minWindowMs)}, quiet period ${formatDuration(r.window.quietPeriodMs)}. ` +
      `Policies judged: ${mdCell(r.candidate.description)} (${r.candidate.policies} policies) on top of the cluster's current ones.`,
    '',
  );
  if (r.comparison !== undefined) out.push(`> ${mdCell(r.comparison.sentence)}`, '');
  out.push('| Verdict | Servers |', '|---|---:|');
  for (const v of SERVER_VERDICTS) out.push(`| ${ICON[v]} ${VERDICT_TEXT[v]} | ${s[v]} |`);
  out.push('');
  const e = r.summary.edges;
  out.push(
    `Observed flows: ${e['explicitly-allowed']} explicitly allowed, ${e['implicitly-allowed']} implicitly allowed, **${e['would-be-blocked']} would be blocked**, ${e.blocked} blocked today.`,
    '',
  );
  out.push('### Safe to enforce next', '');
  if (r.safeNext.length === 0) out.push('_None yet._');
  else for (const n of r.safeNext) out.push(`- \`${mdCell(n)}\``);
  out.push('');
  const wouldBlock = r.servers.filter((x) => x.verdict === 'would-block');
  if (wouldBlock.length > 0) {
    out.push('### Would block', '');
    for (const srv of wouldBlock) {
      out.push(`**\`${mdCell(srv.server)}\`** (${mdCell(srv.kind)}): ${mdCell(srv.reasons.join('; '))}`, '');
      out.push('| Client | Port | Count | Last seen | Why |', '|---|---|---:|---|---|');
      for (const f of srv.blockedFlows)
        out.push(
          `| \`${mdCell(f.client)}\` | ${flowPort(f)} | ${f.count} | ${lastSeenShort(f.lastSeen)} | ${mdCell(f.hint !== undefined ? `${f.hint}. ${f.why}` : f.why)} |`,
        );
      out.push('');
    }
  }
  const evidence = r.servers.filter((x) => x.verdict === 'not-enough-evidence');
  if (evidence.length > 0) {
    out.push('### Not enough evidence', '');
    for (const srv of evidence) out.push(`- \`${mdCell(srv.server)}\`: ${mdCell(srv.reasons.join('; '))}`);
    out.push('');
    const withFlows = evidence.filter((x) => x.blockedFlows.length > 0);
    if (withFlows.length > 0) {
      out.push(
        'Flows to these servers that would be blocked (from unresolved sources, so no intent can allow them yet):',
        '',
      );
      out.push('| Server | Client | Port | Count | Last seen |', '|---|---|---|---:|---|');
      for (const srv of withFlows)
        for (const f of srv.blockedFlows)
          out.push(
            `| \`${mdCell(srv.server)}\` | \`${mdCell(f.client)}\` | ${flowPort(f)} | ${f.count} | ${lastSeenShort(f.lastSeen)} |`,
          );
      out.push('');
    }
  }
  const enforced = r.servers.filter((x) => x.verdict === 'already-enforced');
  if (enforced.length > 0) {
    out.push('### Already enforced', '');
    for (const srv of enforced) out.push(`- \`${mdCell(srv.server)}\`: ${mdCell(srv.reasons.join('; '))}`);
    out.push('');
  }
  if (r.otherBlockedFlows.length > 0) {
    out.push(
      '### Egress flows that would be blocked',
      '',
      '| Client | Destination | Port | Count | Why |',
      '|---|---|---|---:|---|',
    );
    for (const f of r.otherBlockedFlows)
      out.push(
        `| \`${mdCell(f.client)}\` | \`${mdCell(f.server)}\` | ${flowPort(f)} | ${f.count} | ${mdCell(f.why)} |`,
      );
    out.push('');
  }
  if (r.caveats.length > 0 || r.issues.length > 0) {
    out.push('### Caveats', '');
    for (const c of r.caveats) out.push(`- ${mdCell(c)}`);
    for (const i of r.issues) out.push(`- ${i.severity}: ${mdCell(i.subject)}: ${mdCell(i.message)}`);
    out.push('');
  }
  out.push(
    '<details><summary>All servers</summary>',
    '',
    '| Server | Verdict | Flows | Clients | Evidence |',
    '|---|---|---:|---:|---|',
  );
  for (const srv of r.servers)
    out.push(
      `| \`${mdCell(srv.server)}\` | ${ICON[srv.verdict]} ${VERDICT_TEXT[srv.verdict]} | ${srv.flows} | ${srv.clients.length} | ${mdCell(srv.reasons.join('; '))} |`,
    );
  out.push('', '</details>', '');
  out.push(
    '<sub>Verdicts: <b>blocked</b> = denied by the policies already in the cluster; <b>would be blocked</b> = allowed today, denied once the judged policies apply; ' +
      '<b>explicitly allowed</b> = a rule of an isolating policy allows it; <b>implicitly allowed</b> = nothing isolates either end. Generated by intentmap.</sub>',
  );
  return `${out.join('\n')}\n`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const CSS = `
:root{--ok:#1a7f37;--bad:#cf222e;--wait:#9a6700;--lock:#0969da;--mute:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:2rem auto;max-width:72rem;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
.meta{color:var(--mute)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.5rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .75rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.t{white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.v{font-weight:600;white-space:nowrap}
.safe-to-enforce{color:var(--ok)}.would-block,.would-be-blocked,.blocked{color:var(--bad)}
.not-enough-evidence{color:var(--wait)}.already-enforced{color:var(--lock)}.not-covered{color:var(--mute)}
.server{border:1px solid var(--line);border-radius:6px;padding:.5rem .75rem;margin:.75rem 0;break-inside:avoid}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5rem .75rem}
ul{margin:.25rem 0 .25rem 1.25rem;padding:0}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}tr,.server,.card{break-inside:avoid}
 a{color:inherit;text-decoration:none}details{display:block}details>summary{display:none}th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;

function flowTable(rows: readonly FlowRow[], withServer: boolean): string {
  const head = `<tr><th>Client</th>${withServer ? '<th>Server</th>' : ''}<th>Port</th><th>Count</th><th>Last seen</th><th>Verdict</th><th>Why</th></tr>`;
  const body = rows
    .map(
      (f) =>
        `<tr><td><code>${escapeHtml(f.client)}</code></td>${withServer ? `<td><code>${escapeHtml(f.server)}</code></td>` : ''}<td>${escapeHtml(flowPort(f))}</td><td class="n">${f.count}</td>` +
        `<td class="t">${escapeHtml(lastSeenShort(f.lastSeen))}</td><td class="v ${f.verdict}">${escapeHtml(VERDICT_TEXT[f.verdict])}</td><td>${f.hint !== undefined ? `<b>${escapeHtml(f.hint)}.</b> ` : ''}${escapeHtml(f.why)}</td></tr>`,
    )
    .join('\n');
  return `<table><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

function serverBlock(s: ServerEntry): string {
  return (
    `<div class="server"><div><code>${escapeHtml(s.server)}</code> <span class="meta">${escapeHtml(s.kind)}</span> · <span class="v ${s.verdict}">${escapeHtml(VERDICT_TEXT[s.verdict])}</span></div>` +
    `<ul>${s.reasons.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` +
    (s.blockedFlows.length > 0 ? flowTable(s.blockedFlows, false) : '') +
    '</div>'
  );
}

/** Renders the report as one self-contained HTML document. */
export function renderReportHtml(r: ReportJson): string {
  const s = r.summary.servers;
  const parts: string[] = [];
  parts.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
  );
  parts.push(
    `<title>intentmap report ${escapeHtml(r.generatedAt)}</title>`,
    `<style>${CSS}</style></head><body>`,
  );
  parts.push('<h1>Safe-to-enforce report</h1>');
  parts.push(
    `<p class="meta">Generated ${escapeHtml(r.generatedAt)}. Window ${escapeHtml(formatDuration(r.window.durationMs))} (${escapeHtml(r.window.start)} → ${escapeHtml(r.window.end)}), minimum ${escapeHtml(formatDuration(r.window.minWindowMs))}, quiet period ${escapeHtml(formatDuration(r.window.quietPeriodMs))}. ` +
      `Policies judged: ${escapeHtml(r.candidate.description)} (${r.candidate.policies}), on top of the cluster's current ones.</p>`,
  );
  if (r.comparison !== undefined) parts.push(`<p class="note">${escapeHtml(r.comparison.sentence)}</p>`);
  parts.push('<div class="cards">');
  for (const v of SERVER_VERDICTS)
    parts.push(`<div class="card"><b class="${v}">${s[v]}</b>${escapeHtml(VERDICT_TEXT[v])}</div>`);
  parts.push('</div>');
  const e = r.summary.edges;
  parts.push(
    `<p>Observed flows: ${e['explicitly-allowed']} explicitly allowed, ${e['implicitly-allowed']} implicitly allowed, <b>${e['would-be-blocked']} would be blocked</b>, ${e.blocked} blocked today.</p>`,
  );
  parts.push('<h2>Safe to enforce next</h2>');
  parts.push(
    r.safeNext.length === 0
      ? '<p>None yet.</p>'
      : `<ul>${r.safeNext.map((n) => `<li><code>${escapeHtml(n)}</code></li>`).join('')}</ul>`,
  );
  for (const v of [
    'would-block',
    'not-enough-evidence',
    'already-enforced',
    'safe-to-enforce',
    'not-covered',
  ] as const) {
    const list = r.servers.filter((x) => x.verdict === v);
    if (list.length === 0) continue;
    parts.push(
      `<h2>${escapeHtml(VERDICT_TEXT[v][0]?.toUpperCase() ?? '')}${escapeHtml(VERDICT_TEXT[v].slice(1))} (${list.length})</h2>`,
    );
    parts.push(...list.map(serverBlock));
  }
  if (r.otherBlockedFlows.length > 0)
    parts.push('<h2>Egress flows that would be blocked</h2>', flowTable(r.otherBlockedFlows, true));
  if (r.caveats.length > 0 || r.issues.length > 0) {
    parts.push('<h2>Caveats</h2><ul>');
    for (const c of r.caveats) parts.push(`<li>${escapeHtml(c)}</li>`);
    for (const i of r.issues)
      parts.push(`<li>${escapeHtml(`${i.severity}: ${i.subject}: ${i.message}`)}</li>`);
    parts.push('</ul>');
  }
  parts.push(
    '<h2>All observed flows</h2>',
    `<details open><summary>${r.flows.length} flows</summary>`,
    flowTable(r.flows, true),
    '</details>',
  );
  parts.push(
    '<p class="meta">Blocked: denied by the policies already in the cluster. Would be blocked: allowed today, denied once the judged policies apply. ' +
      'Explicitly allowed: a rule of an isolating policy allows it. Implicitly allowed: nothing isolates either end. Generated by intentmap.</p>',
  );
  parts.push('</body></html>');
  return `${parts.join('\n')}\n`;
}

/** Renders the report in the given format. */
export function renderReport(r: ReportJson, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  return format === 'html' ? renderReportHtml(r) : renderReportMarkdown(r);
}
