/**
 * Caption evaluation as pycocoevalcap's COCOEvalCap.evaluate: tokenise references and candidates,
 * then BLEU-1..4, ROUGE-L, CIDEr-D and plain CIDEr, corpus and per image. Images are taken in the
 * order of the annotation file's "images" list, each image's references in annotation order.
 */
import { UserError } from '../util/errors.js';
import { bleu } from './bleu.js';
import { cider } from './cider.js';
import { rougeL } from './rouge.js';
import { tokenizeCaption, type Tokenization } from './tokenize.js';
import {
  describeIds, duplicateIds, requireSameIds,
  type CaptionAnnotations, type CaptionResult, type Id,
} from './formats.js';

export const CAPTION_METRICS = ['CIDEr-D', 'CIDEr', 'BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'ROUGE-L'] as const;
export type CaptionMetric = (typeof CAPTION_METRICS)[number];
export type CaptionScores = Record<CaptionMetric, number>;

export interface CaptionEvaluation {
  /** corpus values (raw scale: CIDEr-D is not multiplied by 100) */
  corpus: CaptionScores;
  /** per-image values, in input order (per-image BLEU uses its own brevity penalty) */
  perImage: CaptionScores[];
  /** BLEU's corpus lengths: candidate words, summed closest reference lengths, and their ratio */
  bleuLengths: { testlen: number; reflen: number; ratio: number };
  nImages: number;
  tokenization: Tokenization;
}

/**
 * Scores one candidate per image against that image's references. Captions are raw text; they are
 * tokenised here with `tokenization` ('ptb' by default, as coco-caption).
 */
export function evaluateCaptions(
  candidates: string[],
  references: string[][],
  tokenization: Tokenization = 'ptb',
): CaptionEvaluation {
  if (candidates.length !== references.length) {
    throw new UserError(`Caption evaluation got ${candidates.length} candidates but ${references.length} reference sets; expected one reference set per candidate.`);
  }
  if (candidates.length === 0) throw new UserError('Caption evaluation got no images; expected at least one candidate with references.');
  const cands = candidates.map((c) => tokenizeCaption(c, tokenization));
  const refs = references.map((rs) => rs.map((r) => tokenizeCaption(r, tokenization)));
  const b = bleu(cands, refs, 4);
  const r = rougeL(cands, refs);
  const cd = cider(cands, refs, { variant: 'D' });
  const cp = cider(cands, refs, { variant: 'plain' });
  const perImage = cands.map((_, i): CaptionScores => {
    const bi = b.perImage[i]!;
    return {
      'CIDEr-D': cd.perImage[i]!, CIDEr: cp.perImage[i]!,
      'BLEU-1': bi[0]!, 'BLEU-2': bi[1]!, 'BLEU-3': bi[2]!, 'BLEU-4': bi[3]!,
      'ROUGE-L': r.perImage[i]!,
    };
  });
  return {
    corpus: {
      'CIDEr-D': cd.score, CIDEr: cp.score,
      'BLEU-1': b.bleu[0]!, 'BLEU-2': b.bleu[1]!, 'BLEU-3': b.bleu[2]!, 'BLEU-4': b.bleu[3]!,
      'ROUGE-L': r.score,
    },
    perImage,
    bleuLengths: { testlen: b.testlen, reflen: b.reflen, ratio: b.ratio },
    nImages: cands.length,
    tokenization,
  };
}

/** Image ids, candidates and references aligned in the annotation file's image order. */
export interface AlignedCaptions { imageIds: Id[]; candidates: string[]; references: string[][] }

/**
 * Pairs COCO results with COCO annotations: exactly one result per image, the same image ids in
 * both files, at least one reference per image; anything else is a UserError naming the ids.
 */
export function alignCaptions(results: CaptionResult[], annotations: CaptionAnnotations): AlignedCaptions {
  const { imageIds } = annotations;
  const dupImages = duplicateIds(imageIds);
  if (dupImages.length > 0) throw new UserError(`The annotations list ${describeIds(dupImages)} more than once in "images"; expected each image once.`);
  const dupResults = duplicateIds(results.map((r) => r.image_id));
  if (dupResults.length > 0) throw new UserError(`The results hold more than one caption for ${describeIds(dupResults)}; expected exactly one caption per image.`);
  requireSameIds(results.map((r) => r.image_id), 'the results', imageIds, 'the annotations', 'image');
  const known = new Set(imageIds);
  const stray = [...new Set(annotations.annotations.map((a) => a.image_id).filter((id) => !known.has(id)))];
  if (stray.length > 0) throw new UserError(`The annotations have captions for ${describeIds(stray)} that are not in "images"; expected every annotation's image_id in "images".`);
  const refs = new Map<Id, string[]>(imageIds.map((id) => [id, []]));
  for (const a of annotations.annotations) refs.get(a.image_id)!.push(a.caption);
  const empty = imageIds.filter((id) => refs.get(id)!.length === 0);
  if (empty.length > 0) throw new UserError(`The annotations have no reference caption for ${describeIds(empty)}; expected at least one per image.`);
  const byImage = new Map<Id, string>(results.map((r) => [r.image_id, r.caption]));
  return {
    imageIds,
    candidates: imageIds.map((id) => byImage.get(id)!),
    references: imageIds.map((id) => refs.get(id)!),
  };
}

/** COCO results + COCO annotations -> caption scores (pycocoevalcap's data flow). */
export function evaluateCocoCaptions(
  results: CaptionResult[],
  annotations: CaptionAnnotations,
  tokenization: Tokenization = 'ptb',
): CaptionEvaluation & { imageIds: Id[] } {
  const a = alignCaptions(results, annotations);
  return { ...evaluateCaptions(a.candidates, a.references, tokenization), imageIds: a.imageIds };
}
