/**
 * Rendering vega-lite specs without a browser: vega-lite compiles the spec to vega, a headless vega
 * View (renderer "none", no canvas) writes SVG, and sharp (librsvg) rasterises the SVG to PNG.
 * Without canvas, vega estimates text widths; the house config names DejaVu Sans (installed with
 * librsvg's usual fonts) with generic fallbacks, so the PNG's text matches the estimate closely.
 */
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { UserError } from '../util/errors.js';

/** A vega-lite spec as plain JSON (builders write object literals; vega-lite checks them when compiling). */
export type VlSpec = Record<string, unknown>;

export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** The house style, merged into every figure's config (a user restyling a .vl.json can edit it). */
export const BASE_CONFIG = {
  font: FONT,
  background: 'white',
  view: { continuousWidth: 300, continuousHeight: 200 },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  title: { fontSize: 14, anchor: 'start' as const },
  header: { labelFontSize: 12, titleFontSize: 12 },
};

/** vega-lite's advisory warnings (e.g. merged scale sorts) would print from library code: drop them. */
const SILENT = vega.logger(vega.None);

/** Compiles a vega-lite spec and renders it to an SVG string. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  let vgSpec: vega.Spec;
  try {
    vgSpec = compile(spec as unknown as TopLevelSpec, { logger: SILENT }).spec;
  } catch (e) {
    throw new UserError(`The figure spec does not compile with vega-lite (${(e as Error).message}); expected a valid vega-lite spec.`);
  }
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG string to PNG bytes at `scale` times its nominal size. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

/** spec -> { svg, png }. */
export async function renderFigure(spec: VlSpec, scale = 2): Promise<{ svg: string; png: Buffer }> {
  const svg = await renderSvg(spec);
  return { svg, png: await svgToPng(svg, scale) };
}
