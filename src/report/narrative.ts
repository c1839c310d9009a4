/**
 * Plain sentences generated from the numbers, per model and experiment. Nothing here is pre-written
 * about what a model does: every verdict comes from a measured value and a threshold named in the
 * same sentence (THRESHOLDS). Experiments a run did not do read "not run"; failed ones give the error.
 */
import { conditionLabel, isNum } from './figure-common.js';
import { THRESHOLDS, argmax, argmin, changeClause, f2, mean, pct, taskNoun } from './narrative-util.js';
import { depthOf, type ExperimentKey, type ModelResults, type ResultsDoc } from './results.js';

export { THRESHOLDS } from './narrative-util.js';

export interface NarrativeItem {
  experiment: string;
  title: string;
  status: 'ok' | 'not run' | 'failed';
  sentences: string[];
}

export interface ModelNarrative {
  model: string;
  items: NarrativeItem[];
}

export const EXPERIMENT_TITLES: Record<ExperimentKey, string> = {
  e1: 'E1 modality gap (cosine)',
  e2: 'E2 modality gap (cluster homogeneity)',
  e3: 'E3 attention flow',
  e4: 'E4 neighbourhood overlap',
  e5: 'E5 progressive knockout',
  e6: 'E6 knockout on tasks',
  e7: 'E7 patching [EOI]',
  e8: 'E8 steering [EOI]',
};

type Say = (m: ModelResults, doc: ResultsDoc) => string[];

const e1: Say = (m) => {
  const rs = m.e1!.records.filter((r) => isNum(r.median));
  const lo = argmin(rs, (r) => r.median), hi = argmax(rs, (r) => r.median);
  if (!lo || !hi) return ['No layer has a defined median.'];
  const t = f2(THRESHOLDS.gapCosine);
  const above = rs.filter((r) => (r.median as number) > THRESHOLDS.gapCosine);
  const head = `The median text-image cosine ranges from ${f2(lo.value)} (depth ${f2(lo.item.depth)}) to ${f2(hi.value)} (depth ${f2(hi.item.depth)})`;
  if (above.length === 0) return [`${head}; it stays at or below ${t} at every depth: by this threshold text and image vectors stay apart.`];
  return [`${head}; it exceeds ${t} at ${above.length} of ${rs.length} depths (first at depth ${f2(above[0]!.depth)}): by this threshold text and image vectors mix there.`];
};

const e2: Say = (m) => {
  const rs = m.e2!.records.filter((r) => isNum(r.homogeneity));
  const lo = argmin(rs, (r) => r.homogeneity);
  if (!lo || rs.length === 0) return ['No layer has a defined homogeneity.'];
  const t = f2(THRESHOLDS.homogeneity);
  const first = rs[0]!, last = rs[rs.length - 1]!;
  const range = `Homogeneity goes from ${f2(first.homogeneity as number)} at depth ${f2(first.depth)} to ${f2(last.homogeneity as number)} at depth ${f2(last.depth)} (lowest ${f2(lo.value)} at depth ${f2(lo.item.depth)})`;
  if (lo.value >= THRESHOLDS.homogeneity) return [`${range}; it stays at or above ${t} at every depth: the density-peak clusters separate the modalities.`];
  return [`${range}; it falls below ${t}: from there on density-peak clusters hold both text and image vectors.`];
};

const e3: Say = (m) => {
  const rs = m.e3!.records.filter((r) => isNum(r.share));
  const later = rs.filter((r) => r.layer >= 1);
  if (later.length === 0) return ['Only layer 0 was measured, where [EOI] is only its embedding: no statement about image information is possible.'];
  const layers = [...new Set(later.map((r) => r.layer))];
  const shareOf = (label: (l: string) => boolean) =>
    mean(layers.map((l) => later.filter((r) => r.layer === l && label(r.label)).reduce((a, r) => a + (r.share as number), 0)));
  const eoi = shareOf((l) => l === '[EOI]');
  const last = shareOf((l) => l === 'last image');
  const rest = shareOf((l) => l !== '[EOI]' && l !== 'last image');
  const peak = argmax(later.filter((r) => r.label === '[EOI]'), (r) => r.share);
  const verdict =
    eoi > THRESHOLDS.majority
      ? `[EOI] takes more than ${pct(THRESHOLDS.majority)} of it`
      : `[EOI] takes less than ${pct(THRESHOLDS.majority)} of it; the text reads the image mostly elsewhere`;
  return [
    `Averaged over layers 1-${Math.max(...layers)} (layer 0 left out: there [EOI] is only its embedding), text positions give ${pct(eoi)} of their attention to the image to [EOI], ${pct(last)} to the last image token and ${pct(rest)} to other image positions${peak ? ` ([EOI] peaks at ${pct(peak.value)} in layer ${peak.item.layer})` : ''}: ${verdict}.`,
  ];
};

const e4: Say = (m) => {
  const s = m.e4!;
  const kinds = [...new Set(s.records.map((r) => r.positionKind))];
  const bar = THRESHOLDS.overlapOverChance * s.chance;
  const out = kinds.map((k) => {
    const best = argmax(s.records.filter((r) => r.positionKind === k), (r) => r.overlap);
    if (!best) return `${k}: no defined overlap.`;
    const where = `layer ${best.item.layer}, depth ${f2(depthOf(best.item.layer, m.numLayers))}`;
    const verdict = best.value > bar ? 'it carries the class labels' : 'it stays near chance';
    return `At ${k} the overlap peaks at ${f2(best.value)} (${where}); chance is ${f2(s.chance)} and ${THRESHOLDS.overlapOverChance} times chance is ${f2(bar)}: ${verdict}.`;
  });
  const recalls = s.records.map((r) => r.recall).filter(isNum);
  if (recalls.length) out.push(`Approximate-neighbour recall@k ranges from ${f2(Math.min(...recalls))} to ${f2(Math.max(...recalls))} (below 1, overlap is biased downwards).`);
  return out;
};

const e5: Say = (m) => {
  const s = m.e5!;
  return [...new Set(s.records.map((r) => r.edgeSet))].map((edge) => {
    const rs = s.records.filter((r) => r.edgeSet === edge && isNum(r.overlap)).sort((a, b) => a.window - b.window);
    const first = rs[0], last = rs[rs.length - 1];
    if (!first || !last || first === last) return `${edge}: fewer than two windows measured.`;
    return `Knocking out ${edge} edges (mode ${s.mode}) in the last ${last.window} of ${m.numLayers} layers changes the final-layer overlap ${changeClause(first.overlap as number, last.overlap as number, 'the label information at the last position')} (window 0 -> ${last.window}).`;
  });
};

const e6: Say = (m) => {
  const rows = m.e6!.rows.filter((r) => isNum(r.value));
  const out: string[] = [];
  const measures = [...new Map(rows.map((r) => [`${r.task}|${r.metric}`, r])).values()];
  for (const mr of measures) {
    const same = rows.filter((r) => r.task === mr.task && r.metric === mr.metric);
    const none = same.find((r) => r.condition === 'none');
    if (!none) {
      out.push(`${mr.task} ${mr.metric}: no unablated (none) value to compare with.`);
      continue;
    }
    const noun = taskNoun(mr.task, mr.taskType, mr.metric);
    for (const mode of ['zero', 'renormalize'] as const) {
      for (const r of same.filter((x) => x.condition !== 'none' && x.mode === mode)) {
        const spread = isNum(r.spread ?? null) && r.spread ? `, spread ${f2(r.spread)} over ${r.repetitions ?? '?'} repetitions` : '';
        out.push(`Knocking out ${conditionLabel(r.condition)} (mode ${mode}${spread}) changes ${mr.task} ${mr.metric} ${changeClause(none.value as number, r.value as number, noun)}.`);
      }
    }
  }
  return out.length ? out : ['No task values were recorded.'];
};

const e7: Say = (m) => {
  const s = m.e7!;
  return [...new Set(s.records.map((r) => r.variant))].map((v) => {
    const rs = s.records.filter((r) => r.variant === v);
    const flip = argmax(rs, (r) => r.flipAccuracy);
    const sim = argmax(rs, (r) => r.similarity);
    const base = rs.map((r) => r.baseline).find(isNum);
    if (!flip) return `Variant ${v}: no flip accuracy recorded.`;
    if (flip.value === 0) {
      return `Patching [EOI] (${v}) flips no pair${s.pairs !== undefined ? ` of ${s.pairs}` : ''} at any layer${sim && base !== undefined ? `; similarity to the target distribution reaches at most ${f2(sim.value)} against ${f2(base)} for the clean run` : ''}.`;
    }
    const pairs = s.pairs !== undefined ? ` of ${s.pairs} pairs` : ' of the pairs';
    const verdict = flip.value >= THRESHOLDS.success ? `at least ${pct(THRESHOLDS.success)}: the patch through [EOI] decides the answer for most pairs` : `below ${pct(THRESHOLDS.success)}: most pairs keep their answer`;
    const simText = sim && base !== undefined ? `; similarity to the target distribution reaches ${f2(sim.value)} against ${f2(base)} for the clean run` : '';
    return `Patching [EOI] (${v}) flips the class order in at most ${pct(flip.value)}${pairs} (layer ${flip.item.layer}, depth ${f2(depthOf(flip.item.layer, m.numLayers))})${simText}; the best flip accuracy is ${verdict}.`;
  });
};

const e8: Say = (m) => {
  const s = m.e8!;
  const out: string[] = [];
  const best = argmax(s.records, (r) => r.successRate);
  if (best && best.value === 0) out.push(`Editing [EOI]${s.edit ? ` (${s.edit})` : ''} never succeeds: the success rate is 0% at every layer and strength measured.`);
  else if (best) {
    const zero = s.records.filter((r) => r.alpha === 0).map((r) => r.successRate).filter(isNum);
    const ref = zero.length ? ` (with alpha 0: ${pct(mean(zero))})` : '';
    const verdict = best.value >= THRESHOLDS.success ? `at least ${pct(THRESHOLDS.success)}: the edit steers most generations` : `below ${pct(THRESHOLDS.success)}: the edit steers fewer than half`;
    out.push(`Editing [EOI]${s.edit ? ` (${s.edit})` : ''} reaches a success rate of ${pct(best.value)} at layer ${best.item.layer}, alpha ${best.item.alpha}${ref}; that is ${verdict}.`);
  }
  for (const r of s.robustness ?? []) {
    if (isNum(r.clean) && isNum(r.edited)) out.push(`After the edit, ${r.task} ${r.metric} changes ${changeClause(r.clean, r.edited, `${r.task} ${r.metric}`)}.`);
  }
  if (s.examples?.length) out.push(s.examples.length > 1 ? `${s.examples.length} examples with captions before and after the edit are shown below.` : 'One example with its caption before and after the edit is shown below.');
  return out.length ? out : ['No steering values were recorded.'];
};

const SAY: Record<ExperimentKey, Say> = { e1, e2, e3, e4, e5, e6, e7, e8 };

/** E9: the [EOI] knockout's effect on each task metric before (base model) and after the fine-tune. */
export function finetuneSentences(m: ModelResults, doc: ResultsDoc): string[] {
  if (!m.finetune) return [];
  const base = doc.models.find((b) => b.name === m.finetune!.of);
  const rel = (x: ModelResults | undefined, task: string, metric: string, cond: string): string | null => {
    const rows = x?.e6 && !x.errors?.e6 ? x.e6.rows.filter((r) => r.task === task && r.metric === metric && (r.mode === 'zero' || r.condition === 'none')) : [];
    const none = rows.find((r) => r.condition === 'none')?.value, v = rows.find((r) => r.condition === cond)?.value;
    return isNum(none) && isNum(v) && none !== 0 ? `${(((v - none) / Math.abs(none)) * 100).toFixed(0)}%` : null;
  };
  const out: string[] = [];
  const measures = new Map((m.e6?.rows ?? []).map((r) => [`${r.task}|${r.metric}`, r]));
  for (const r of measures.values()) {
    for (const cond of ['eoi', 'image-to-text']) {
      const before = rel(base, r.task, r.metric, cond), after = rel(m, r.task, r.metric, cond);
      if (before !== null && after !== null) {
        out.push(`The ${conditionLabel(cond)} knockout (mode zero) changed ${r.task} ${r.metric} by ${before} before the ${m.finetune.kind} fine-tune (${base!.name}) and by ${after} after it.`);
      }
    }
  }
  return out.length ? out : [`No E6 values to compare with ${m.finetune.of}.`];
}

export function narrate(doc: ResultsDoc): ModelNarrative[] {
  return doc.models.map((m) => {
    const items: NarrativeItem[] = (Object.keys(SAY) as ExperimentKey[]).map((k) => {
      const title = EXPERIMENT_TITLES[k];
      const s = m[k];
      const err = m.errors?.[k];
      // A failed E8 sweep may still have robustness rows and examples from other stages.
      if (err !== undefined) return { experiment: k.toUpperCase(), title, status: 'failed', sentences: [`Failed: ${err}`, ...(s && k === 'e8' ? SAY.e8(m, doc).filter((x) => !x.startsWith('No steering')) : [])] };
      if (!s) return { experiment: k.toUpperCase(), title, status: 'not run', sentences: ['Not run.'] };
      return { experiment: k.toUpperCase(), title, status: 'ok', sentences: SAY[k](m, doc) };
    });
    if (m.finetune) items.push({ experiment: 'E9', title: `E9 fine-tune (${m.finetune.kind} of ${m.finetune.of})`, status: 'ok', sentences: finetuneSentences(m, doc) });
    return { model: m.name, items };
  });
}
