/**
 * Captions and questions for shapes scenes, from templates over a small fixed vocabulary (lower case,
 * no punctuation except the final "?" of a question, words separated by single spaces, so a word-level
 * tokenizer covers everything; `SHAPES_VOCAB` lists every word).
 *
 * Caption templates (one caption per family per image, 5 in all; objects in scene order; "a" may be
 * "an" before a vowel; "shapes" is "shape" for one object):
 *   full      "a large red circle in the center and a small blue square in the top left"
 *   counted   "an image with two shapes a large red circle in the center and a small blue square in ..."
 *   position  "in the center there is a large red circle and in the top left there is a small blue square"
 *   plain     "a large red circle and a small blue square"              (no positions)
 *   picture   "a picture of a red circle and a blue square"             (no sizes, no positions)
 * Parsing (`parseCaption`): split at " and "; each part holds at most one object (size?, color, shape)
 * and at most one position, and the "counted" part also a count word. The clauses are what the
 * templates guarantee; `parseCaption(captionOf(scene))` gives back the scene's slots.
 *
 * Questions (VQAv2 question_type prefix / answer_type, our `attribute`):
 *   color    "what color is the {shape} in the {position}?"     -> color      (other)
 *   shape    "what shape is in the {position}?"                 -> shape      (other)
 *   size     "what size is the {color} {shape}?"                -> large|small (other)
 *   position "where is the {color} {shape}?"                    -> position   (other)
 *   count    "how many shapes are there?"                       -> "1".."3"   (number)
 *   exists   "is there a {color} {shape}?"                      -> yes|no     (yes/no; seeded 50/50)
 * Every question is about one object chosen at random; each gets 10 identical human-style answers.
 */
import { Rng } from '../util/rng.js';
import { COLORS, POSITIONS, SHAPES, SIZES, type Color, type Position, type Scene, type SceneObject, type Shape, type Size } from './shapes-scene.js';

export const CAPTION_FAMILIES = ['full', 'counted', 'position', 'plain', 'picture'] as const;
export type CaptionFamily = (typeof CAPTION_FAMILIES)[number];
export const QUESTION_ATTRIBUTES = ['color', 'shape', 'size', 'position', 'count', 'exists'] as const;
export type QuestionAttribute = (typeof QUESTION_ATTRIBUTES)[number];

export const COUNT_WORDS = ['one', 'two', 'three'] as const;

export const SHAPES_VOCAB: string[] = [
  ...new Set([
    ...'a an and in the there is image with shape shapes picture of what color size where how many are yes no'.split(' '),
    ...COUNT_WORDS, '1', '2', '3', ...SHAPES, ...COLORS, ...SIZES, ...POSITIONS.flatMap((p) => p.split(' ')),
  ]),
];

function article(next: string): string {
  return /^[aeiou]/.test(next) ? 'an' : 'a';
}

function np(o: SceneObject, withSize: boolean): string {
  const head = withSize ? `${o.size} ${o.color} ${o.shape}` : `${o.color} ${o.shape}`;
  return `${article(head)} ${head}`;
}

/** The caption of `family` for `scene` (deterministic: the templates have no random parts). */
export function captionOf(scene: Scene, family: CaptionFamily): string {
  const objs = scene.objects;
  switch (family) {
    case 'full':
      return objs.map((o) => `${np(o, true)} in the ${o.position}`).join(' and ');
    case 'counted': {
      const n = objs.length;
      return `an image with ${COUNT_WORDS[n - 1]} ${n === 1 ? 'shape' : 'shapes'} ` + captionOf(scene, 'full');
    }
    case 'position':
      return objs.map((o) => `in the ${o.position} there is ${np(o, true)}`).join(' and ');
    case 'plain':
      return objs.map((o) => np(o, true)).join(' and ');
    case 'picture':
      return 'a picture of ' + objs.map((o) => np(o, false)).join(' and ');
  }
}

export interface ParsedObject {
  shape?: Shape;
  color?: Color;
  size?: Size;
  position?: Position;
}

export interface ParsedCaption {
  count?: number;
  objects: ParsedObject[];
}

/** Reads the slots back out of a caption written by the templates above (unknown words are ignored). */
export function parseCaption(caption: string): ParsedCaption {
  const out: ParsedCaption = { objects: [] };
  for (const part of caption.trim().toLowerCase().split(/\s+and\s+/)) {
    const words = part.split(/\s+/);
    const obj: ParsedObject = {};
    words.forEach((w, i) => {
      if ((SHAPES as readonly string[]).includes(w)) obj.shape = w as Shape;
      else if ((COLORS as readonly string[]).includes(w)) obj.color = w as Color;
      else if ((SIZES as readonly string[]).includes(w)) obj.size = w as Size;
      else if ((COUNT_WORDS as readonly string[]).includes(w) && /^shapes?$/.test(words[i + 1] ?? '')) {
        out.count = COUNT_WORDS.indexOf(w as (typeof COUNT_WORDS)[number]) + 1;
      }
    });
    const pos = POSITIONS.find((p) => new RegExp(`\\bthe ${p}\\b`).test(part));
    if (pos) obj.position = pos;
    if (obj.shape || obj.color || obj.size || obj.position) out.objects.push(obj);
  }
  return out;
}

export interface ShapesQuestion {
  attribute: QuestionAttribute;
  question: string;
  /** VQAv2 question_type: the question's opening words. */
  questionType: string;
  answerType: 'yes/no' | 'number' | 'other';
  answer: string;
}

/** One question per attribute in `attributes` about `scene`; the random choices come from `rng`. */
export function questionsOf(scene: Scene, rng: Rng, attributes: readonly QuestionAttribute[] = QUESTION_ATTRIBUTES): ShapesQuestion[] {
  return attributes.map((attribute) => {
    const o = rng.pick(scene.objects);
    switch (attribute) {
      case 'color':
        return { attribute, question: `what color is the ${o.shape} in the ${o.position}?`, questionType: 'what color is the', answerType: 'other', answer: o.color };
      case 'shape':
        return { attribute, question: `what shape is in the ${o.position}?`, questionType: 'what shape is', answerType: 'other', answer: o.shape };
      case 'size':
        return { attribute, question: `what size is the ${o.color} ${o.shape}?`, questionType: 'what size is the', answerType: 'other', answer: o.size };
      case 'position':
        return { attribute, question: `where is the ${o.color} ${o.shape}?`, questionType: 'where is the', answerType: 'other', answer: o.position };
      case 'count':
        return { attribute, question: 'how many shapes are there?', questionType: 'how many', answerType: 'number', answer: String(scene.objects.length) };
      case 'exists': {
        let color: Color = o.color, shape: Shape = o.shape;
        const present = rng.next() < 0.5;
        if (!present) {
          const have = new Set(scene.objects.map((x) => `${x.color} ${x.shape}`));
          do {
            color = rng.pick(COLORS);
            shape = rng.pick(SHAPES);
          } while (have.has(`${color} ${shape}`));
        }
        return {
          attribute,
          question: `is there ${article(color)} ${color} ${shape}?`,
          questionType: 'is there a',
          answerType: 'yes/no',
          answer: present ? 'yes' : 'no',
        };
      }
    }
  });
}
