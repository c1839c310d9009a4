/**
 * Batched greedy generation over dataset images for the evaluation tasks: prompts are prepared by the
 * checkpoint's pipeline (image codes or pixels), generated in batches with the KV cache and the
 * condition's hooks, and cut at <eos>. The hooks were compiled with `exampleIds` (a mutable array):
 * it is refilled with each batch's image ids, so seeded selectors (@random-image:N) draw per image,
 * whatever the batch size.
 */
import type { DatasetImage } from '../data/open.js';
import type { NamedHook } from '../hooks/types.js';
import { generate } from '../model/generate.js';
import type { ExtractExample } from '../interventions/extract.js';
import { imageTensors, type Pipeline } from '../interventions/pipeline.js';
import type { ProgressFactory } from '../util/progress.js';

export interface GenItem {
  image: DatasetImage;
  prompt: string;
}

export interface RunContext {
  p: Pipeline;
  hooks: NamedHook[];
  /** The exampleIds array the hooks were compiled with (refilled per batch). */
  exampleIds: number[];
  batchSize: number;
  /** Restrict generated text to the text vocabulary (word tokens, <unk>, <eos>). */
  textOnly: boolean;
  progress: ProgressFactory;
  label: string;
  /** Prepared inputs by image id and prompt, shared by every run of a suite (they do not depend on the condition). */
  cache: Map<string, ExtractExample>;
}

export interface GenOptions {
  maxNewTokens: number;
  /** Overrides the text-only restriction (e.g. class-name tokens). */
  allowedIds?: readonly number[];
  /** Stop ids; default the model's <eos>. */
  eos?: number | null;
}

/** The items' prepared inputs (ids, spans, image inputs), prepared once per image and prompt. */
async function prepared(ctx: RunContext, items: readonly GenItem[]): Promise<ExtractExample[]> {
  const key = (x: GenItem) => `${x.image.id}\u0000${x.prompt}`;
  const missing = [...new Map(items.filter((x) => !ctx.cache.has(key(x))).map((x) => [key(x), x])).values()];
  if (missing.length) {
    const exs = await ctx.p.prepare(
      missing.map((x) => ({ id: x.image.id, image: { width: x.image.width, height: x.image.height, channels: x.image.channels, pixels: x.image.pixels }, prompt: x.prompt })),
    );
    missing.forEach((x, i) => ctx.cache.set(key(x), exs[i]!));
  }
  return items.map((x) => ctx.cache.get(key(x))!);
}

/** Generated ids per item (the stop id included when produced), in item order. */
export async function generateItems(ctx: RunContext, items: readonly GenItem[], o: GenOptions): Promise<number[][]> {
  const out: number[][] = [];
  const bar = ctx.progress(ctx.label, items.length, 'ex');
  const allowed = o.allowedIds ?? (ctx.textOnly ? ctx.p.layout.textIds() : undefined);
  for (let s = 0; s < items.length; s += ctx.batchSize) {
    const chunk = items.slice(s, s + ctx.batchSize);
    const exs = await prepared(ctx, chunk);
    ctx.exampleIds.length = 0;
    ctx.exampleIds.push(...chunk.map((x) => x.image.id));
    const img = imageTensors(ctx.p, exs);
    try {
      const res = await generate(
        ctx.p.model,
        { prompts: exs.map((e) => Array.from(e.ids)), spans: exs.map((e) => e.spans), ...img },
        { maxNewTokens: o.maxNewTokens, allowedIds: allowed, eos: o.eos, hooks: ctx.hooks },
      );
      out.push(...res.tokens);
    } finally {
      img.pixels?.dispose();
      img.features?.dispose();
    }
    bar.tick(chunk.length);
  }
  bar.done();
  return out;
}

/** Text of generated ids: specials dropped, cut at the first <eos>. */
export function decodeText(p: Pipeline, tokens: readonly number[]): string {
  return p.tokenizer.decode(tokens, { skipSpecials: true, stopAtEos: true });
}

/** Prompt template variables of an image: its class name in every label field ({label}, {color}, ...). */
export function labelVars(image: DatasetImage, fields: Record<string, string[]>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [f, names] of Object.entries(fields)) {
    const idx = f === 'label' ? image.label : image.labels[f];
    if (idx !== undefined && idx >= 0 && names[idx] !== undefined) vars[f] = names[idx]!;
  }
  return vars;
}
