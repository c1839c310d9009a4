/**
 * Shapes scenes: the controlled vocabulary, seeded scene sampling and the SVG drawing.
 *
 * A scene is 1-3 filled shapes on a plain black background. Every object has a shape (6), a colour (8),
 * a size (2) and a position (5: the four quadrant centres and the centre). Rules that keep every scene
 * readable and every question unambiguous:
 * - objects sit at distinct positions and have distinct (color, shape) pairs;
 * - the centre object and a corner object are never both large (they would overlap);
 * - objects are listed in canonical order: large before small, then by POSITIONS order. The first
 *   object is the "main" object whose shape and colour are the image's class labels.
 * Geometry (fractions of the image side): corner centres at 0.22 / 0.78 and the centre at 0.5, rounded
 * to whole pixels; large side 0.3125, small side 0.1875, so at 32x32 and 64x64 allowed objects keep a gap of 1+ pixel.
 */
import { Rng } from '../util/rng.js';

export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'star', 'cross'] as const;
export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'white', 'cyan'] as const;
export const SIZES = ['large', 'small'] as const;
export const POSITIONS = ['center', 'top left', 'top right', 'bottom left', 'bottom right'] as const;
export const BACKGROUND = 'black';

export type Shape = (typeof SHAPES)[number];
export type Color = (typeof COLORS)[number];
export type Size = (typeof SIZES)[number];
export type Position = (typeof POSITIONS)[number];

export interface SceneObject {
  shape: Shape;
  color: Color;
  size: Size;
  position: Position;
}

export interface Scene {
  background: string;
  objects: SceneObject[];
}

export const COLOR_HEX: Record<Color, string> = {
  red: '#e6194b',
  green: '#3cb44b',
  blue: '#4363d8',
  yellow: '#ffe119',
  purple: '#911eb4',
  orange: '#f58231',
  white: '#ffffff',
  cyan: '#42d4f4',
};

const CENTER: Record<Position, [number, number]> = {
  center: [0.5, 0.5],
  'top left': [0.22, 0.22],
  'top right': [0.78, 0.22],
  'bottom left': [0.22, 0.78],
  'bottom right': [0.78, 0.78],
};
const SIDE: Record<Size, number> = { large: 0.3125, small: 0.1875 };

/** Class index of a (color, shape) pair: color-major, so 48 classes named "red circle", "red square", ... */
export function pairLabel(color: Color, shape: Shape): number {
  return COLORS.indexOf(color) * SHAPES.length + SHAPES.indexOf(shape);
}

export const PAIR_NAMES: string[] = COLORS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));

function canonical(objects: SceneObject[]): SceneObject[] {
  return [...objects].sort(
    (a, b) => SIZES.indexOf(a.size) - SIZES.indexOf(b.size) || POSITIONS.indexOf(a.position) - POSITIONS.indexOf(b.position),
  );
}

/** Checks the scene rules above; returns the first violation as text, or null when the scene is valid. */
export function sceneProblem(scene: Scene): string | null {
  const objs = scene.objects;
  if (objs.length < 1 || objs.length > 3) return `a scene has 1-3 objects, got ${objs.length}`;
  const pos = new Set(objs.map((o) => o.position));
  if (pos.size !== objs.length) return 'two objects share a position';
  const pairs = new Set(objs.map((o) => `${o.color} ${o.shape}`));
  if (pairs.size !== objs.length) return 'two objects share colour and shape';
  const c = objs.find((o) => o.position === 'center');
  if (c?.size === 'large' && objs.some((o) => o !== c && o.size === 'large')) return 'a large centre object overlaps a large corner object';
  return null;
}

/** Samples one valid scene with `count` objects (rejection sampling on the rules above). */
export function sampleScene(rng: Rng, count: number): Scene {
  for (;;) {
    const positions = rng.sample(POSITIONS.length, count).map((i) => POSITIONS[i] as Position);
    const objects = positions.map((position) => ({
      shape: rng.pick(SHAPES),
      color: rng.pick(COLORS),
      size: rng.pick(SIZES),
      position,
    }));
    const scene = { background: BACKGROUND, objects: canonical(objects) };
    if (sceneProblem(scene) === null) return scene;
  }
}

function fmt(x: number): string {
  return (Math.round(x * 1000) / 1000).toString();
}

function points(pts: [number, number][]): string {
  return pts.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ');
}

/** The SVG element of one object in a `px` x `px` image. */
function objectSvg(o: SceneObject, px: number): string {
  const [fx, fy] = CENTER[o.position];
  const cx = Math.round(fx * px), cy = Math.round(fy * px); // whole pixels: square edges fall on the grid
  const h = (SIDE[o.size] * px) / 2; // half side
  const fill = `fill="${COLOR_HEX[o.color]}"`;
  switch (o.shape) {
    case 'circle':
      return `<circle cx="${fmt(cx)}" cy="${fmt(cy)}" r="${fmt(h)}" ${fill}/>`;
    case 'square':
      return `<rect x="${fmt(cx - h)}" y="${fmt(cy - h)}" width="${fmt(2 * h)}" height="${fmt(2 * h)}" ${fill}/>`;
    case 'triangle':
      return `<polygon points="${points([[cx, cy - h], [cx + h, cy + h], [cx - h, cy + h]])}" ${fill}/>`;
    case 'diamond':
      return `<polygon points="${points([[cx, cy - h], [cx + h, cy], [cx, cy + h], [cx - h, cy]])}" ${fill}/>`;
    case 'star': {
      const pts: [number, number][] = [];
      for (let k = 0; k < 10; k++) {
        const r = k % 2 === 0 ? h : h * 0.45;
        const a = -Math.PI / 2 + (k * Math.PI) / 5;
        pts.push([cx + r * Math.cos(a), cy + h * 0.1 + r * Math.sin(a)]);
      }
      return `<polygon points="${points(pts)}" ${fill}/>`;
    }
    case 'cross': {
      const t = h / 3; // arm half-width
      return (
        `<rect x="${fmt(cx - t)}" y="${fmt(cy - h)}" width="${fmt(2 * t)}" height="${fmt(2 * h)}" ${fill}/>` +
        `<rect x="${fmt(cx - h)}" y="${fmt(cy - t)}" width="${fmt(2 * h)}" height="${fmt(2 * t)}" ${fill}/>`
      );
    }
  }
}

/** The scene's SVG elements (background and objects) for a `px` x `px` canvas at the origin. */
export function sceneSvgBody(scene: Scene, px: number): string {
  return `<rect width="${px}" height="${px}" fill="${scene.background}"/>` + scene.objects.map((o) => objectSvg(o, px)).join('');
}

/** The scene as an SVG document of `px` x `px` pixels. */
export function sceneSvg(scene: Scene, px: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}" viewBox="0 0 ${px} ${px}">${sceneSvgBody(scene, px)}</svg>`;
}
