/**
 * Attribute and object-count accuracy of generated captions on shapes scenes. The caption is read
 * back with the templates' parser (parseCaption): its objects are matched to the scene's objects in
 * order (the templates list objects in scene order).
 *
 *   attribute.<slot>  (slot = shape, color, size, position): over every (image, object) whose caption
 *                     states that slot for the object at that index, the fraction equal to the scene's
 *                     value; a caption that names fewer objects than the scene states nothing about the
 *                     missing ones (their absence is what object_count measures).
 *   attribute.overall over all stated slots together.
 *   object_count      the caption's count ("an image with two shapes") when it says one, else the
 *                     number of objects it names, equal to the scene's number of objects.
 * A slot no caption states gets no entry (rather than a made-up 0).
 */
import { parseCaption } from '../data/shapes-text.js';
import type { Scene } from '../data/shapes-scene.js';

export const SLOTS = ['shape', 'color', 'size', 'position'] as const;

export function isShapesScene(x: unknown): x is Scene {
  return typeof x === 'object' && x !== null && Array.isArray((x as Scene).objects) && (x as Scene).objects.every((o) => typeof o?.shape === 'string' && typeof o?.color === 'string');
}

export interface SlotScores {
  /** attribute.<slot>, attribute.overall, object_count (fractions 0..1). */
  metrics: Record<string, number>;
  /** How many slots each accuracy is over. */
  counts: Record<string, number>;
}

export function scoreShapesCaptions(captions: readonly string[], scenes: readonly Scene[]): SlotScores {
  const stated: Record<string, number> = {}, correct: Record<string, number> = {};
  let countOk = 0;
  captions.forEach((cap, i) => {
    const scene = scenes[i]!;
    const parsed = parseCaption(cap);
    scene.objects.forEach((truth, j) => {
      const got = parsed.objects[j];
      if (!got) return;
      for (const s of SLOTS) {
        if (got[s] === undefined) continue;
        stated[s] = (stated[s] ?? 0) + 1;
        if (got[s] === truth[s]) correct[s] = (correct[s] ?? 0) + 1;
      }
    });
    if ((parsed.count ?? parsed.objects.length) === scene.objects.length) countOk++;
  });
  const metrics: Record<string, number> = {}, counts: Record<string, number> = {};
  let allStated = 0, allCorrect = 0;
  for (const s of SLOTS) {
    if (!stated[s]) continue;
    metrics[`attribute.${s}`] = (correct[s] ?? 0) / stated[s]!;
    counts[`attribute.${s}`] = stated[s]!;
    allStated += stated[s]!;
    allCorrect += correct[s] ?? 0;
  }
  if (allStated > 0) {
    metrics['attribute.overall'] = allCorrect / allStated;
    counts['attribute.overall'] = allStated;
  }
  metrics.object_count = countOk / captions.length;
  counts.object_count = captions.length;
  return { metrics, counts };
}
