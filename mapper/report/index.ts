// Public API of the report and replay: pure functions the CLI and the web UI call.
import type { Identity } from '../graph/model.js';
import { clusterFromIdentities } from '../intents/cluster.js';
import { candidateFromSuggested } from './candidate.js';
import { buildReport, type ReportJson, type ReportOptions } from './report.js';
import type { ReplayEdge } from './replay.js';

export {
  CANDIDATE_SOURCES,
  candidateFromIntents,
  candidateFromPolicies,
  candidateFromSuggested,
  observedServers,
  type Candidate,
  type CandidateSource,
} from './candidate.js';
export { countRuns, nextRun, parseCron, type CronSchedule } from './cron.js';
export {
  buildEvaluator,
  decodeGeneratedPolicies,
  decodeManifestPolicies,
  endpointFor,
} from './policy-engine.js';
export {
  DEFAULT_REPORT_OPTIONS,
  EDGE_VERDICTS,
  REPORT_VERSION,
  SERVER_VERDICTS,
  VERDICT_TEXT,
  buildReport,
  compareReports,
  decodeReportJson,
  formatDuration,
  type EdgeVerdict,
  type FlowRow,
  type ReportComparison,
  type ReportInput,
  type ReportJson,
  type ReportOptions,
  type ServerEntry,
  type ServerVerdict,
} from './report.js';
export {
  REPORT_FORMATS,
  escapeHtml,
  renderReport,
  renderReportHtml,
  renderReportMarkdown,
  type ReportFormat,
} from './render.js';
export {
  SIMULATE_FORMATS,
  identityLabel,
  renderSimulation,
  replayEdge,
  simulate,
  simulationToJson,
  type EdgeOutcome,
  type ReplayEdge,
  type ReplayEndpoint,
  type SimulateFormat,
  type SimulationResult,
} from './replay.js';

/** Inputs of reportForGraph: what the web server has at hand (store edges with endpoints, identities). */
export interface GraphReportInput {
  readonly edges: readonly ReplayEdge[];
  readonly identities: readonly Identity[];
  readonly now: number;
  readonly options?: Partial<ReportOptions>;
  readonly previous?: ReportJson;
}

/** The report for the suggested intents of the observed graph, with no current policies: a one-call entry point for the UI. */
export function reportForGraph(input: GraphReportInput): ReportJson {
  const cluster = clusterFromIdentities(input.identities);
  const edges = input.edges.map((e) => e.edge);
  return buildReport({
    now: input.now,
    edges: input.edges,
    cluster,
    candidate: candidateFromSuggested(edges, cluster),
    current: [],
    ...(input.options !== undefined ? { options: input.options } : {}),
    ...(input.previous !== undefined ? { previous: input.previous } : {}),
  });
}
