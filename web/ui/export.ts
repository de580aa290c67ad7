// Exports of the picture: a standalone SVG (with the graph's stylesheet embedded, so it looks the
// same outside the app) and a PNG rendered from that SVG on a canvas.
import GRAPH_CSS from './graph.css';
import { download } from './dom.js';
import type { GraphView } from './graph-view.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Largest PNG side, px (canvas limits and memory). */
export const MAX_PNG_SIDE = 8192;

/** Serialises the current picture as a standalone SVG document. */
export function graphToSvg(
  view: GraphView,
  svgElement: SVGSVGElement,
  overlay: boolean,
): { text: string; width: number; height: number } {
  const { width, height } = view.bounds();
  const pad = 30;
  const w = Math.ceil(width + pad * 2);
  const h = Math.ceil(height + pad * 2);
  const out = document.createElementNS(SVG_NS, 'svg');
  out.setAttribute('xmlns', SVG_NS);
  out.setAttribute('width', String(w));
  out.setAttribute('height', String(h));
  out.setAttribute('viewBox', `${-pad} ${-pad} ${w} ${h}`);
  out.setAttribute('class', overlay ? 'graph overlay' : 'graph');
  // This <style> lives only in the exported file, never in the page (the page's CSP forbids inline styles).
  const style = document.createElementNS(SVG_NS, 'style');
  style.textContent = GRAPH_CSS;
  out.appendChild(style);
  const bg = document.createElementNS(SVG_NS, 'rect');
  bg.setAttribute('class', 'export-bg');
  bg.setAttribute('x', String(-pad));
  bg.setAttribute('y', String(-pad));
  bg.setAttribute('width', String(w));
  bg.setAttribute('height', String(h));
  out.appendChild(bg);
  const defs = svgElement.querySelector('defs');
  if (defs !== null) out.appendChild(defs.cloneNode(true));
  const content = view.content();
  if (content !== null) {
    const g = content.cloneNode(true) as SVGGElement;
    g.removeAttribute('transform');
    for (const t of g.querySelectorAll('.group-toggle')) t.remove();
    out.appendChild(g);
  }
  return {
    text: `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(out)}\n`,
    width: w,
    height: h,
  };
}

/** Downloads the picture as SVG. */
export function exportSvg(view: GraphView, svgElement: SVGSVGElement, overlay: boolean, name: string): void {
  download(name, new Blob([graphToSvg(view, svgElement, overlay).text], { type: 'image/svg+xml' }));
}

/** Downloads the picture as PNG (2× for sharpness, capped at MAX_PNG_SIDE). */
export async function exportPng(
  view: GraphView,
  svgElement: SVGSVGElement,
  overlay: boolean,
  name: string,
): Promise<void> {
  const svg = graphToSvg(view, svgElement, overlay);
  const scale = Math.min(2, MAX_PNG_SIDE / Math.max(svg.width, svg.height));
  const url = URL.createObjectURL(new Blob([svg.text], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the SVG could not be rendered to an image'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(svg.width * scale));
    canvas.height = Math.max(1, Math.round(svg.height * scale));
    const ctx = canvas.getContext('2d');
    if (ctx === null) throw new Error('no 2D canvas');
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    if (blob === null) throw new Error('the PNG could not be encoded');
    download(name, blob);
  } finally {
    URL.revokeObjectURL(url);
  }
}
