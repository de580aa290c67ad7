// A deterministic layout: the same view always gives the same picture (no random seeds, no
// simulation). Namespaces are blocks packed in rows in name order; an expanded namespace is a box
// with its workloads in a grid (sorted by kind then name); a collapsed one is a single node.
// Special groups ((external), (nodes), (unresolved)) come last. Pure: no DOM.
import type { ViewNamespace, ViewNode } from '../shared/view.js';

/** Where a node is drawn. */
export interface NodePosition {
  readonly x: number;
  readonly y: number;
  /** Radius of the node's shape. */
  readonly r: number;
}

/** An expanded group's box. */
export interface GroupBox {
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly members: number;
}

/** The layout of a view. */
export interface Layout {
  readonly nodes: ReadonlyMap<string, NodePosition>;
  readonly groups: readonly GroupBox[];
  readonly width: number;
  readonly height: number;
}

/** Layout spacing, in SVG user units. */
export const LAYOUT = {
  cellWidth: 150,
  cellHeight: 64,
  boxPadding: 18,
  boxHeader: 30,
  blockGap: 36,
  collapsedSize: 120,
  nodeRadius: 9,
} as const;

/** Radius of a collapsed namespace node with `members` workloads. */
export function groupRadius(members: number): number {
  return Math.min(34, 14 + Math.sqrt(Math.max(1, members)) * 2);
}

function groupRank(name: string): number {
  return name.startsWith('(') ? 1 : 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Block {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly collapsed: ViewNode | null;
  readonly members: readonly ViewNode[];
  readonly cols: number;
  /** Radius of the ring the members sit on (0: a grid). */
  readonly ring: number;
}

/** Groups with this many members or fewer (and at least 3) are drawn as a ring, which keeps edges off other nodes. */
export const RING_MAX_MEMBERS = 28;

function ringRadius(n: number): number {
  // Neighbours on the ring stay about 125 units apart (room for a label each).
  return Math.max(80, (n * 125) / (2 * Math.PI));
}

/** Computes positions for every node and a box for every expanded group. */
export function layoutView(nodes: readonly ViewNode[], _namespaces: readonly ViewNamespace[] = []): Layout {
  const byGroup = new Map<string, ViewNode[]>();
  const collapsedNodes = new Map<string, ViewNode>();
  for (const n of nodes) {
    if (n.id.startsWith('ns:')) {
      collapsedNodes.set(n.group, n);
      continue;
    }
    let l = byGroup.get(n.group);
    if (l === undefined) byGroup.set(n.group, (l = []));
    l.push(n);
  }
  const names = [...new Set([...byGroup.keys(), ...collapsedNodes.keys()])].sort(
    (a, b) => groupRank(a) - groupRank(b) || compare(a, b),
  );
  const blocks: Block[] = [];
  let area = 0;
  for (const name of names) {
    const c = collapsedNodes.get(name);
    if (c !== undefined) {
      blocks.push({
        name,
        width: LAYOUT.collapsedSize,
        height: LAYOUT.collapsedSize,
        collapsed: c,
        members: [],
        cols: 0,
        ring: 0,
      });
    } else {
      const members = [...(byGroup.get(name) ?? [])].sort(
        (a, b) => compare(a.kind, b.kind) || compare(a.name, b.name) || compare(a.id, b.id),
      );
      if (members.length >= 3 && members.length <= RING_MAX_MEMBERS) {
        const ring = ringRadius(members.length);
        const rb: Block = {
          name,
          width: Math.ceil(ring * 2 + LAYOUT.cellWidth + LAYOUT.boxPadding * 2),
          height: Math.ceil(ring * 2 + LAYOUT.cellHeight + LAYOUT.boxPadding * 2 + LAYOUT.boxHeader),
          collapsed: null,
          members,
          cols: 0,
          ring,
        };
        blocks.push(rb);
        area += (rb.width + LAYOUT.blockGap) * (rb.height + LAYOUT.blockGap);
        continue;
      }
      const cols = Math.max(1, Math.min(members.length, Math.ceil(Math.sqrt(members.length * 1.8))));
      const rows = Math.ceil(members.length / cols);
      blocks.push({
        name,
        width: cols * LAYOUT.cellWidth + LAYOUT.boxPadding * 2,
        height: rows * LAYOUT.cellHeight + LAYOUT.boxPadding * 2 + LAYOUT.boxHeader,
        collapsed: null,
        members,
        cols,
        ring: 0,
      });
    }
    const b = blocks[blocks.length - 1] as Block;
    area += (b.width + LAYOUT.blockGap) * (b.height + LAYOUT.blockGap);
  }
  // Shelf packing: rows of blocks up to a width that keeps the picture roughly 16:10.
  const widest = blocks.reduce((m, b) => Math.max(m, b.width), 0);
  const rowWidth = Math.max(widest, Math.sqrt(area * 1.6), 600);
  const positions = new Map<string, NodePosition>();
  const groups: GroupBox[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let maxX = 0;
  for (const b of blocks) {
    if (x > 0 && x + b.width > rowWidth) {
      x = 0;
      y += rowHeight + LAYOUT.blockGap;
      rowHeight = 0;
    }
    if (b.collapsed !== null) {
      positions.set(b.collapsed.id, {
        x: x + b.width / 2,
        y: y + b.height / 2 - 8,
        r: groupRadius(b.collapsed.members),
      });
    } else {
      groups.push({ name: b.name, x, y, width: b.width, height: b.height, members: b.members.length });
      if (b.ring > 0) {
        const cx = x + b.width / 2;
        const cy = y + LAYOUT.boxHeader + (b.height - LAYOUT.boxHeader) / 2 - 8;
        b.members.forEach((m, i) => {
          // Start at the top and go clockwise, in name order.
          const a = -Math.PI / 2 + (i * 2 * Math.PI) / b.members.length;
          positions.set(m.id, {
            x: round(cx + b.ring * Math.cos(a)),
            y: round(cy + b.ring * Math.sin(a)),
            r: LAYOUT.nodeRadius,
          });
        });
      } else
        b.members.forEach((m, i) => {
          const col = i % b.cols;
          const row = Math.floor(i / b.cols);
          positions.set(m.id, {
            x: x + LAYOUT.boxPadding + col * LAYOUT.cellWidth + LAYOUT.cellWidth / 2,
            y:
              y + LAYOUT.boxHeader + LAYOUT.boxPadding + row * LAYOUT.cellHeight + LAYOUT.cellHeight / 2 - 10,
            r: LAYOUT.nodeRadius,
          });
        });
    }
    x += b.width + LAYOUT.blockGap;
    maxX = Math.max(maxX, x - LAYOUT.blockGap);
    rowHeight = Math.max(rowHeight, b.height);
  }
  return { nodes: positions, groups, width: maxX, height: y + rowHeight };
}

/**
 * The path of an edge from (x1,y1) to (x2,y2), bent sideways so that a → b and b → a do not
 * overlap, and shortened to end at the target's rim (where the arrowhead sits). A self edge is a
 * small loop above the node.
 */
export function edgePath(x1: number, y1: number, r1: number, x2: number, y2: number, r2: number): string {
  if (x1 === x2 && y1 === y2) {
    const r = r1;
    return `M${f(x1 - r * 0.6)},${f(y1 - r * 0.8)} C${f(x1 - r * 2.2)},${f(y1 - r * 3.4)} ${f(x1 + r * 2.2)},${f(y1 - r * 3.4)} ${f(x1 + r * 0.6)},${f(y1 - r * 0.9)}`;
  }
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len = Math.hypot(dx, dy);
  const bend = Math.min(40, len * 0.12);
  // Control point: the midpoint pushed to the left of the direction of travel.
  const mx = (x1 + x2) / 2 - (dy / len) * bend;
  const my = (y1 + y2) / 2 + (dx / len) * bend;
  const sx = x1 + ((mx - x1) / Math.hypot(mx - x1, my - y1)) * r1;
  const sy = y1 + ((my - y1) / Math.hypot(mx - x1, my - y1)) * r1;
  const tl = Math.hypot(x2 - mx, y2 - my);
  const ex = x2 - ((x2 - mx) / tl) * (r2 + 2);
  const ey = y2 - ((y2 - my) / tl) * (r2 + 2);
  return `M${f(sx)},${f(sy)} Q${f(mx)},${f(my)} ${f(ex)},${f(ey)}`;
}

/** The point halfway along edgePath's curve (for its label). */
export function edgeMidpoint(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  r1: number,
): { x: number; y: number } {
  if (x1 === x2 && y1 === y2) return { x: x1, y: y1 - r1 * 2.9 };
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len = Math.hypot(dx, dy);
  const bend = Math.min(40, len * 0.12);
  const mx = (x1 + x2) / 2 - (dy / len) * bend;
  const my = (y1 + y2) / 2 + (dx / len) * bend;
  // A quadratic Bézier at t = 0.5 is (p0 + 2c + p2) / 4.
  return { x: (x1 + 2 * mx + x2) / 4, y: (y1 + 2 * my + y2) / 4 };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function f(n: number): string {
  return n.toFixed(1);
}

/** Stroke width for an edge observed `count` times. */
export function edgeWidth(count: number): number {
  return Math.min(6, 1 + Math.log10(count + 1) * 0.9);
}

/** Stroke opacity for an edge observed `count` times. */
export function edgeOpacity(count: number): number {
  return Math.min(0.95, 0.35 + Math.log10(count + 1) * 0.12);
}
