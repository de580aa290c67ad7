// The d3 picture of a view: keyed joins (so a live diff adds, moves or removes only what changed),
// zoom and pan on the whole picture, drag on nodes. All cluster text goes through d3's .text(),
// which sets textContent.
import * as d3 from 'd3';
import type { ViewEdge, ViewGraph, ViewNode } from '../shared/view.js';
import {
  LAYOUT,
  edgeMidpoint,
  edgeOpacity,
  edgePath,
  edgeWidth,
  layoutView,
  type GroupBox,
  type Layout,
  type NodePosition,
} from './layout.js';

/** What the picture reports back to the app. */
export interface GraphViewHandlers {
  readonly onNodeClick: (node: ViewNode) => void;
  readonly onNodeDoubleClick: (node: ViewNode) => void;
  readonly onEdgeClick: (edge: ViewEdge) => void;
  readonly onGroupCollapse: (group: string) => void;
  readonly onBackgroundClick: () => void;
}

/** Edge labels and tooltips are drawn only up to these counts (beyond, click an edge to inspect it). */
export const LABEL_LIMITS = { edgeLabels: 80, edgeTitles: 600 } as const;

const MAX_LABEL = 22;
/** Above this many edges they are drawn faded. */
export const DENSE_EDGES = 300;

/** Shortens a label for the picture (the full text stays in the tooltip and the inspector). */
export function shortLabel(s: string, max = MAX_LABEL): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function symbolFor(n: ViewNode): d3.SymbolType {
  switch (n.kind) {
    case 'external':
      return d3.symbolDiamond;
    case 'node':
    case 'service':
      return d3.symbolSquare;
    case 'unresolved':
      return d3.symbolTriangle;
    default:
      return d3.symbolCircle;
  }
}

function shapePath(n: ViewNode, r: number): string {
  const area = n.kind === 'external' ? 2.2 * r * r : n.kind === 'unresolved' ? 2.4 * r * r : Math.PI * r * r;
  return d3.symbol(symbolFor(n), area)() ?? '';
}

function kindLabel(n: ViewNode): string {
  if (n.id.startsWith('ns:'))
    return n.kind === 'namespace' ? `namespace, ${n.members} workloads` : `${n.members} ${n.kind} addresses`;
  return n.workloadKind !== '' ? `${n.workloadKind} in ${n.namespace}` : n.kind;
}

/** Renders and updates the graph inside an <svg>. */
export class GraphView {
  private readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly viewport: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gGroups: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gEdges: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gLabels: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gNodes: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly zoom: d3.ZoomBehavior<SVGSVGElement, unknown>;
  private layout: Layout = { nodes: new Map(), groups: [], width: 0, height: 0 };
  /** Positions the user dragged nodes to; they win over the layout until the page reloads. */
  private readonly dragged = new Map<string, { x: number; y: number }>();
  private view: ViewGraph | null = null;
  private overlay = false;
  /** The SVG's size in CSS px, read while layout is clean (see render). */
  private svgSize = { width: 800, height: 600 };
  private selected: { kind: 'node' | 'edge'; id: string } | null = null;

  constructor(
    svgElement: SVGSVGElement,
    private readonly handlers: GraphViewHandlers,
  ) {
    this.svg = d3.select(svgElement);
    const defs = this.svg.append('defs');
    for (const [id, cls] of [
      ['arrow', 'arrow'],
      ['arrow-blocked', 'arrow blocked'],
      ['arrow-selected', 'arrow selected'],
    ] as const) {
      defs
        .append('marker')
        .attr('id', id)
        .attr('viewBox', '0 -5 10 10')
        .attr('refX', 8)
        .attr('refY', 0)
        .attr('markerWidth', 7)
        .attr('markerHeight', 7)
        .attr('markerUnits', 'userSpaceOnUse')
        .attr('orient', 'auto')
        .append('path')
        .attr('class', cls)
        .attr('d', 'M0,-4L9,0L0,4Z');
    }
    this.viewport = this.svg.append('g').attr('class', 'viewport');
    this.gGroups = this.viewport.append('g').attr('class', 'groups');
    this.gEdges = this.viewport.append('g').attr('class', 'edges');
    this.gLabels = this.viewport.append('g').attr('class', 'edge-labels');
    this.gNodes = this.viewport.append('g').attr('class', 'nodes');
    this.zoom = d3
      .zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.03, 4])
      // d3's default extent reads the SVG's width.baseVal, which forces a synchronous layout when
      // called right after a render; the size is measured while layout is clean instead.
      .extent(() => [
        [0, 0],
        [this.svgSize.width, this.svgSize.height],
      ])
      .on('zoom', (e: d3.D3ZoomEvent<SVGSVGElement, unknown>) => {
        this.viewport.attr('transform', e.transform.toString());
        this.svg.classed('far', e.transform.k < 0.35);
      });
    this.svg.call(this.zoom).on('dblclick.zoom', null);
    window.addEventListener('resize', () => this.measureViewport());
    this.svg.on('click', (e: MouseEvent) => {
      if (e.target === svgElement) this.handlers.onBackgroundClick();
    });
  }

  /** The current view. */
  get current(): ViewGraph | null {
    return this.view;
  }

  private pos(id: string): NodePosition | undefined {
    const p = this.layout.nodes.get(id);
    const d = this.dragged.get(id);
    return p === undefined ? undefined : d === undefined ? p : { ...p, x: d.x, y: d.y };
  }

  /** Draws `view`; existing elements are kept and updated (keyed by id), new ones marked as fresh. */
  render(
    view: ViewGraph,
    options: { readonly overlay: boolean; readonly fit: boolean; readonly fresh?: boolean },
  ): void {
    // Read the size before touching the DOM: read after the update, it forces a synchronous layout
    // of every new element (bench/web: ~70 ms of an expand's 300 ms), which the next frame redoes.
    this.measureViewport();
    this.view = view;
    this.overlay = options.overlay;
    this.layout = layoutView(view.nodes, view.namespaces);
    this.svg.classed('overlay', options.overlay);
    // Many edges: fade them so that nodes and labels stay readable (hover or select to see one).
    this.svg.classed('dense', view.edges.length > DENSE_EDGES);
    this.drawGroups(this.layout.groups);
    this.drawEdges(view.edges, options.fresh === true);
    this.drawNodes(view.nodes, options.fresh === true);
    this.applySelection();
    if (options.fit) this.fitBox(0, 0, this.layout.width, this.layout.height);
  }

  private drawGroups(groups: readonly GroupBox[]): void {
    const sel = this.gGroups
      .selectAll<SVGGElement, GroupBox>('g.group')
      .data(groups, (d) => d.name)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'group');
        g.append('rect').attr('class', 'group-box').attr('rx', 10);
        g.append('text').attr('class', 'group-title');
        const btn = g.append('g').attr('class', 'group-toggle').attr('role', 'button').attr('tabindex', 0);
        btn.append('rect').attr('width', 22).attr('height', 18).attr('rx', 4);
        btn.append('text').attr('x', 11).attr('y', 13).attr('text-anchor', 'middle').text('−');
        btn.append('title').text('Collapse this namespace');
        return g;
      });
    sel.classed('special', (d) => d.name.startsWith('('));
    sel.attr('data-group', (d) => d.name);
    sel
      .select<SVGRectElement>('rect.group-box')
      .attr('x', (d) => d.x)
      .attr('y', (d) => d.y)
      .attr('width', (d) => d.width)
      .attr('height', (d) => d.height);
    sel
      .select<SVGTextElement>('text.group-title')
      .attr('x', (d) => d.x + 14)
      .attr('y', (d) => d.y + 21)
      .text((d) => `${shortLabel(d.name, Math.max(8, Math.floor((d.width - 70) / 7.5)))}  ·  ${d.members}`);
    sel
      .select<SVGGElement>('g.group-toggle')
      .attr('transform', (d) => `translate(${d.x + d.width - 32},${d.y + 7})`)
      .on('click', (e: MouseEvent, d) => {
        e.stopPropagation();
        this.handlers.onGroupCollapse(d.name);
      });
  }

  private edgeGeometry(e: ViewEdge): { d: string; mid: { x: number; y: number } } | null {
    const s = this.pos(e.source);
    const t = this.pos(e.target);
    if (s === undefined || t === undefined) return null;
    return { d: edgePath(s.x, s.y, s.r, t.x, t.y, t.r), mid: edgeMidpoint(s.x, s.y, t.x, t.y, s.r) };
  }

  private drawEdges(edges: readonly ViewEdge[], fresh: boolean): void {
    const withTitles = edges.length <= LABEL_LIMITS.edgeTitles;
    const sel = this.gEdges
      .selectAll<SVGPathElement, ViewEdge>('path.edge')
      .data(edges, (d) => d.id)
      .join(
        (enter) => {
          const p = enter.append('path').attr('class', 'edge').classed('fresh', fresh);
          if (withTitles) p.append('title');
          return p;
        },
        (update) => update,
        (exit) => exit.remove(),
      );
    sel
      .attr('d', (e) => this.edgeGeometry(e)?.d ?? '')
      .attr('data-id', (e) => e.id)
      .attr('stroke-width', (e) => edgeWidth(e.count))
      .attr('stroke-opacity', (e) => edgeOpacity(e.count))
      .classed('blocked', (e) => this.overlay && e.blocked > 0)
      .attr('marker-end', (e) => (this.overlay && e.blocked > 0 ? 'url(#arrow-blocked)' : 'url(#arrow)'))
      .on('click', (ev: MouseEvent, e) => {
        ev.stopPropagation();
        this.handlers.onEdgeClick(e);
      });
    if (withTitles)
      sel.select('title').text((e) => `${e.source} → ${e.target}\n${edgeLabel(e)} · ${e.count} observations`);
    const labelled = edges.length <= LABEL_LIMITS.edgeLabels ? edges : [];
    this.gLabels
      .selectAll<SVGTextElement, ViewEdge>('text.edge-label')
      .data(labelled, (d) => d.id)
      .join('text')
      .attr('class', 'edge-label')
      .attr('text-anchor', 'middle')
      .each((e, i, nodes) => {
        const g = this.edgeGeometry(e);
        const t = d3.select(nodes[i] as SVGTextElement);
        if (g === null) return;
        t.attr('x', g.mid.x).attr('y', g.mid.y - 3);
      })
      .text((e) => edgeLabel(e));
  }

  private drawNodes(nodes: readonly ViewNode[], fresh: boolean): void {
    const drag = d3
      .drag<SVGGElement, ViewNode>()
      .clickDistance(4)
      .on('drag', (ev: d3.D3DragEvent<SVGGElement, ViewNode, ViewNode>, d) => {
        this.dragged.set(d.id, { x: ev.x, y: ev.y });
        this.moveNode(d);
      });
    const sel = this.gNodes
      .selectAll<SVGGElement, ViewNode>('g.node')
      .data(nodes, (d) => d.id)
      .join(
        (enter) => {
          const g = enter
            .append('g')
            .attr('class', 'node')
            .classed('fresh', fresh)
            .attr('tabindex', 0)
            .attr('role', 'button');
          g.append('path').attr('class', 'shape');
          g.append('text').attr('class', 'label').attr('text-anchor', 'middle');
          g.append('text').attr('class', 'sub').attr('text-anchor', 'middle');
          g.append('text').attr('class', 'count').attr('text-anchor', 'middle').attr('dy', '0.35em');
          g.append('title');
          return g;
        },
        (update) => update,
        (exit) => exit.remove(),
      );
    sel
      .attr('data-id', (d) => d.id)
      .attr('data-kind', (d) => d.kind)
      .attr('class', (d) => {
        const cls = ['node', `kind-${d.kind}`];
        if (d.id.startsWith('ns:')) cls.push('collapsed');
        if (d.verdict !== null) cls.push(`verdict-${d.verdict}`);
        return cls.join(' ');
      })
      .attr('transform', (d) => {
        const p = this.pos(d.id);
        return p === undefined ? null : `translate(${p.x},${p.y})`;
      })
      .attr('aria-label', (d) => `${d.name} (${kindLabel(d)})`)
      .on('click', (ev: MouseEvent, d) => {
        ev.stopPropagation();
        this.handlers.onNodeClick(d);
      })
      .on('dblclick', (ev: MouseEvent, d) => {
        ev.stopPropagation();
        this.handlers.onNodeDoubleClick(d);
      })
      .on('keydown', (ev: KeyboardEvent, d) => {
        if (ev.key === 'Enter' || ev.key === ' ') this.handlers.onNodeClick(d);
      })
      .call(drag);
    sel
      .select<SVGPathElement>('path.shape')
      .attr('d', (d) => shapePath(d, this.pos(d.id)?.r ?? LAYOUT.nodeRadius));
    sel
      .select<SVGTextElement>('text.label')
      .attr('y', (d) => (this.pos(d.id)?.r ?? LAYOUT.nodeRadius) + 14)
      .text((d) => shortLabel(d.name));
    sel
      .select<SVGTextElement>('text.sub')
      .attr('y', (d) => (this.pos(d.id)?.r ?? LAYOUT.nodeRadius) + 26)
      .text((d) => (d.id.startsWith('ns:') ? '' : d.workloadKind));
    sel.select<SVGTextElement>('text.count').text((d) => (d.id.startsWith('ns:') ? String(d.members) : ''));
    sel
      .select('title')
      .text((d) => `${d.name}\n${kindLabel(d)}${d.verdict !== null ? `\nverdict: ${d.verdict}` : ''}`);
  }

  private moveNode(d: ViewNode): void {
    const p = this.pos(d.id);
    if (p === undefined || this.view === null) return;
    this.gNodes
      .selectAll<SVGGElement, ViewNode>('g.node')
      .filter((n) => n.id === d.id)
      .attr('transform', `translate(${p.x},${p.y})`);
    const touching = (e: ViewEdge): boolean => e.source === d.id || e.target === d.id;
    this.gEdges
      .selectAll<SVGPathElement, ViewEdge>('path.edge')
      .filter(touching)
      .attr('d', (e) => this.edgeGeometry(e)?.d ?? '');
    this.gLabels
      .selectAll<SVGTextElement, ViewEdge>('text.edge-label')
      .filter(touching)
      .each((e, i, nodes) => {
        const g = this.edgeGeometry(e);
        if (g !== null)
          d3.select(nodes[i] as SVGTextElement)
            .attr('x', g.mid.x)
            .attr('y', g.mid.y - 3);
      });
  }

  /** Marks a node or edge as selected (and dims what is not connected to a selected node). */
  select(sel: { kind: 'node' | 'edge'; id: string } | null): void {
    this.selected = sel;
    this.applySelection();
  }

  private applySelection(): void {
    const s = this.selected;
    const nodeId = s?.kind === 'node' ? s.id : null;
    const edgeId = s?.kind === 'edge' ? s.id : null;
    const linked = new Set<string>();
    if (nodeId !== null && this.view !== null) {
      linked.add(nodeId);
      for (const e of this.view.edges) {
        if (e.source === nodeId) linked.add(e.target);
        if (e.target === nodeId) linked.add(e.source);
      }
    }
    this.svg.classed('focused', nodeId !== null);
    this.gNodes
      .selectAll<SVGGElement, ViewNode>('g.node')
      .classed('selected', (d) => d.id === nodeId)
      .classed('linked', (d) => linked.has(d.id));
    this.gEdges
      .selectAll<SVGPathElement, ViewEdge>('path.edge')
      .classed('selected', (e) => e.id === edgeId)
      .classed('linked', (e) => nodeId !== null && (e.source === nodeId || e.target === nodeId))
      .attr('marker-end', (e) =>
        e.id === edgeId
          ? 'url(#arrow-selected)'
          : this.overlay && e.blocked > 0
            ? 'url(#arrow-blocked)'
            : 'url(#arrow)',
      );
  }

  /** Zooms by a factor around the centre. */
  zoomBy(k: number): void {
    this.svg.call((sel) => this.zoom.scaleBy(sel, k));
  }

  /** Fits the whole picture into the viewport. */
  fit(): void {
    this.measureViewport(); // the window may have been resized since the last render
    this.fitBox(0, 0, this.layout.width, this.layout.height);
  }

  /** Fits one expanded group's box into the viewport; false if it is not drawn as a box. */
  fitGroup(name: string): boolean {
    const g = this.layout.groups.find((b) => b.name === name);
    if (g === undefined) return false;
    this.fitBox(g.x, g.y, g.width, g.height);
    return true;
  }

  private measureViewport(): void {
    const el = this.svg.node();
    if (el === null) return;
    this.svgSize = { width: el.clientWidth || 800, height: el.clientHeight || 600 };
  }

  private fitBox(x: number, y: number, width: number, height: number): void {
    const { width: w, height: h } = this.svgSize;
    const pad = 40;
    // Room at the top for the summary and at the bottom for the legend.
    const top = 56;
    const bottom = 110;
    const cw = Math.max(1, width);
    const ch = Math.max(1, height);
    const k = Math.min(1.5, Math.max(0.03, Math.min((w - pad * 2) / cw, (h - top - bottom) / ch)));
    const tx = (w - cw * k) / 2 - x * k;
    const ty = top + Math.max(0, (h - top - bottom - ch * k) / 2) - y * k;
    this.svg.call((sel) => this.zoom.transform(sel, d3.zoomIdentity.translate(tx, ty).scale(k)));
  }

  /** Centres the view on a node. */
  centreOn(id: string): void {
    const p = this.pos(id);
    const el = this.svg.node();
    if (p === undefined || el === null) return;
    const k = Math.max(0.8, d3.zoomTransform(el).k);
    const t = d3.zoomIdentity.translate(el.clientWidth / 2 - p.x * k, el.clientHeight / 2 - p.y * k).scale(k);
    this.svg.call((sel) => this.zoom.transform(sel, t));
  }

  /** The picture's bounds in SVG user units (for export). */
  bounds(): { width: number; height: number } {
    return { width: this.layout.width, height: this.layout.height };
  }

  /** The <g> holding the picture (for export). */
  content(): SVGGElement | null {
    return this.viewport.node();
  }
}

/** `TCP/80, TCP/443 +2`. */
export function edgeLabel(e: ViewEdge): string {
  const more = e.portCount - e.ports.length;
  return `${e.ports.join(', ')}${more > 0 ? ` +${more}` : ''}`;
}
