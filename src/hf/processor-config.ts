/**
 * Processor settings of a Hugging Face folder. Two layouts exist: the hub layout (image-processor
 * settings in preprocessor_config.json, processor settings in processor_config.json) and the one
 * transformers 5 save_pretrained writes (processor_config.json with a nested "image_processor").
 * Both are accepted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

export interface ImageProcessorConfig {
  doResize: boolean;
  doCenterCrop: boolean;
  doRescale: boolean;
  doNormalize: boolean;
  doConvertRgb: boolean;
  /** PIL resample code (1 lanczos, 2 bilinear, 3 bicubic, ...). */
  resample: number;
  rescaleFactor: number;
  mean: number[];
  std: number[];
  /** `size`: {shortest_edge} or {height, width}. */
  shortestEdge: number | null;
  sizeHW: [number, number] | null;
  cropHW: [number, number] | null;
  /** LLaVA-OneVision: [height, width] pinpoints. */
  gridPinpoints: [number, number][] | null;
}

type Obj = Record<string, unknown>;

function readJsonIfAny(path: string): Obj | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Obj;
  } catch {
    throw new UserError(`${path} is not valid JSON.`);
  }
}

/** processor_config.json (without its nested sub-processor blocks), or {} when absent. */
export function readProcessorConfig(dir: string): Obj {
  const p = readJsonIfAny(join(dir, 'processor_config.json')) ?? {};
  return p;
}

function hw(v: unknown): [number, number] | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Obj;
  if (typeof o.height === 'number' && typeof o.width === 'number') return [o.height, o.width];
  return null;
}

function triple(v: unknown, dflt: number[]): number[] {
  if (typeof v === 'number') return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) return v as number[];
  return dflt;
}

/** The image-processor settings, from either layout. */
export function readImageProcessorConfig(dir: string): ImageProcessorConfig {
  const nested = readProcessorConfig(dir).image_processor as Obj | undefined;
  const o = readJsonIfAny(join(dir, 'preprocessor_config.json')) ?? nested;
  if (!o) throw new UserError(`${dir} has no preprocessor_config.json (nor an "image_processor" in processor_config.json); expected the image-processor settings.`);
  const size = o.size as Obj | number | undefined;
  const shortestEdge = typeof size === 'number' ? size : typeof size?.shortest_edge === 'number' ? size.shortest_edge : null;
  return {
    doResize: o.do_resize !== false,
    doCenterCrop: o.do_center_crop === true,
    doRescale: o.do_rescale !== false,
    doNormalize: o.do_normalize !== false,
    doConvertRgb: o.do_convert_rgb !== false,
    resample: typeof o.resample === 'number' ? o.resample : 3,
    rescaleFactor: typeof o.rescale_factor === 'number' ? o.rescale_factor : 1 / 255,
    mean: triple(o.image_mean, [0.5, 0.5, 0.5]),
    std: triple(o.image_std, [0.5, 0.5, 0.5]),
    shortestEdge,
    sizeHW: hw(size),
    cropHW: hw(o.crop_size) ?? (typeof o.crop_size === 'number' ? [o.crop_size, o.crop_size] : null),
    gridPinpoints: (o.image_grid_pinpoints as [number, number][] | undefined) ?? null,
  };
}
