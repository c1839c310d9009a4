/** Figures of the interventions (E5-E9): knockout sweep, knockout table, patching, steering, fine-tunes. */
import { DEPTH_X, baseSpec, conditionLabel, conditionOrder, isNum, modelColor, modelColumn, withSection, type Figure } from './figure-common.js';
import { depthOf, type ModelResults, type ResultsDoc } from './results.js';

/** E5: final-layer overlap as the knocked-out window grows from the last layer back to all of them. */
export function e5Figure(doc: ResultsDoc): Figure | null {
  const values = withSection(doc, 'e5').flatMap(({ m, s }) =>
    s.records.filter((r) => isNum(r.overlap)).map((r) => ({ model: m.name, window: r.window, fraction: r.window / m.numLayers, edgeSet: r.edgeSet, overlap: r.overlap, mode: s.mode })),
  );
  if (values.length === 0) return null;
  return {
    id: 'e5-progressive-knockout',
    experiment: 'E5',
    title: 'Progressive knockout',
    caption: 'Overlap chi^{out,gt} of the final-layer vector at the last prompt position when an edge set is knocked out in the last w layers; x is w / L (0: nothing knocked out, 1: every layer).',
    spec: baseSpec('E5 progressive knockout', values, {
      facet: { column: modelColumn(doc) },
      spec: {
        width: 240,
        height: 200,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'fraction', type: 'quantitative', title: 'knocked-out last layers (w / L)', scale: { domain: [0, 1] } },
          y: { field: 'overlap', type: 'quantitative', title: 'final-layer overlap chi', scale: { domain: [0, 1] } },
          color: { field: 'edgeSet', type: 'nominal', title: 'edge set' },
          tooltip: [{ field: 'model' }, { field: 'window', title: 'w' }, { field: 'edgeSet' }, { field: 'mode' }, { field: 'overlap', format: '.3f' }],
        },
      },
    }),
  };
}

const MODES = ['none', 'zero', 'renormalize'];

function e6Values(m: ModelResults, conditions?: string[]) {
  if (!m.e6 || m.errors?.e6) return [];
  return m.e6.rows
    .filter((r) => isNum(r.value) && (!conditions || conditions.includes(r.condition)))
    .map((r) => ({
      model: m.name,
      measure: `${r.task}: ${r.metric}`,
      condition: conditionLabel(r.condition),
      mode: r.condition === 'none' ? 'none' : r.mode,
      value: r.value,
      lo: (r.value as number) - (r.spread ?? 0),
      hi: (r.value as number) + (r.spread ?? 0),
    }));
}

/** E6: the knockout table as grouped bars (condition x mode), one row of panels per task metric. */
export function e6Figure(doc: ResultsDoc): Figure | null {
  const values = doc.models.flatMap((m) => e6Values(m));
  if (values.length === 0) return null;
  const order = conditionOrder(doc.models.flatMap((m) => m.e6?.rows.map((r) => r.condition) ?? []));
  // The none condition is run once: show its bar once (under mode "none").
  const seen = new Set<string>();
  const unique = values.filter((v) => {
    const key = `${v.model}|${v.measure}|${v.condition}|${v.mode}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  // An all-zero metric would give a degenerate axis: an invisible point at 1 gives that panel the range 0..1.
  const top = new Map<string, number>();
  for (const v of unique) top.set(`${v.model}|${v.measure}`, Math.max(top.get(`${v.model}|${v.measure}`) ?? 0, v.value as number, v.hi));
  const withTop = unique.map((v) => ({ ...v, axisTop: (top.get(`${v.model}|${v.measure}`) ?? 0) > 0 ? null : 1 }));
  const modes = MODES.filter((m) => unique.some((v) => v.mode === m));
  return {
    id: 'e6-knockout-table',
    experiment: 'E6',
    title: 'Knockout on tasks (Table 1)',
    caption: 'Task metrics with attention edges knocked out in every layer: zero = post-softmax zeroing without renormalisation (the paper), renormalize = blocked before the softmax; whiskers span one standard deviation over repetitions.',
    spec: baseSpec('E6 knockout on tasks', withTop, {
      facet: { row: { field: 'measure', type: 'nominal', title: null }, column: modelColumn(doc) },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 220,
        height: 140,
        layer: [
          {
            mark: 'bar',
            encoding: {
              x: { field: 'condition', type: 'nominal', sort: order, title: 'knocked out', axis: { labelAngle: -30 } },
              xOffset: { field: 'mode', type: 'nominal', sort: MODES },
              y: { field: 'value', type: 'quantitative', title: 'value' },
              color: { field: 'mode', type: 'nominal', title: 'mode', scale: { domain: modes } },
              tooltip: [{ field: 'model' }, { field: 'measure' }, { field: 'condition' }, { field: 'mode' }, { field: 'value', format: '.3f' }],
            },
          },
          {
            mark: { type: 'rule', color: 'black' },
            encoding: { x: { field: 'condition', type: 'nominal', sort: order }, xOffset: { field: 'mode', type: 'nominal', sort: MODES }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
          },
          { transform: [{ filter: 'datum.axisTop !== null' }], mark: { type: 'point', opacity: 0 }, encoding: { y: { field: 'axisTop', type: 'quantitative' } } },
        ],
      },
    }),
  };
}

const DASHES = [[4, 4], [1, 0], [8, 3], [2, 2]];

/** E7: similarity of the patched to the target distribution, and flip accuracy, against depth. */
export function e7Figure(doc: ResultsDoc): Figure | null {
  const values = withSection(doc, 'e7').flatMap(({ m, s }) =>
    s.records.flatMap((r) => {
      const depth = depthOf(r.layer, m.numLayers);
      const base = { model: m.name, layer: r.layer, depth };
      const out = [];
      if (isNum(r.similarity)) out.push({ ...base, measure: 'similarity to target', series: `patched (${r.variant})`, value: r.similarity });
      if (isNum(r.baseline)) out.push({ ...base, measure: 'similarity to target', series: 'clean (baseline)', value: r.baseline });
      if (isNum(r.flipAccuracy)) out.push({ ...base, measure: 'flip accuracy', series: `patched (${r.variant})`, value: r.flipAccuracy });
      return out;
    }),
  );
  if (values.length === 0) return null;
  // One baseline line per model and measure (it does not depend on the variant).
  const seen = new Set<string>();
  const unique = values.filter((v) => {
    const key = `${v.model}|${v.measure}|${v.series}|${v.layer}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const series = ['clean (baseline)', ...[...new Set(unique.map((v) => v.series))].filter((x) => x !== 'clean (baseline)').sort()];
  return {
    id: 'e7-patching',
    experiment: 'E7',
    title: 'Activation patching through [EOI]',
    caption: "Left: sum_v min(p_v, q_v) between the patched and the target next-token distributions (dashed: clean base run vs target). Right: the fraction of pairs whose two class tokens swap order. Patched at one layer's [EOI] residual input (resid) or at [EOI]'s attention input from that layer on (attn-input).",
    spec: baseSpec('E7 patching [EOI]', unique, {
      facet: { column: { field: 'measure', type: 'nominal', title: null, sort: ['similarity to target', 'flip accuracy'] } },
      spec: {
        width: 260,
        height: 200,
        mark: { type: 'line', point: true },
        encoding: {
          x: DEPTH_X,
          y: { field: 'value', type: 'quantitative', title: 'value', scale: { domain: [0, 1] } },
          color: modelColor(doc),
          strokeDash: { field: 'series', type: 'nominal', title: 'run', scale: { domain: series, range: series.map((_, i) => DASHES[i % DASHES.length]) } },
          tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'series' }, { field: 'value', format: '.3f' }],
        },
      },
    }),
  };
}

/** E8: steering success rate against the edit strength, one line per edited layer. */
export function e8Figure(doc: ResultsDoc): Figure | null {
  const values = withSection(doc, 'e8').flatMap(({ m, s }) =>
    s.records.filter((r) => isNum(r.successRate)).map((r) => ({ model: m.name, layer: r.layer, alpha: r.alpha, success: r.successRate, sideEffect: r.sideEffect ?? null })),
  );
  if (values.length === 0) return null;
  return {
    id: 'e8-steering',
    experiment: 'E8',
    title: 'Steering by editing [EOI]',
    caption: 'Fraction of generations that name the target class after editing the [EOI] vector at one layer, against the edit strength alpha.',
    spec: baseSpec('E8 steering success', values, {
      facet: { column: modelColumn(doc) },
      spec: {
        width: 240,
        height: 200,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'alpha', type: 'quantitative', title: 'strength alpha' },
          y: { field: 'success', type: 'quantitative', title: 'success rate', scale: { domain: [0, 1] } },
          color: { field: 'layer', type: 'ordinal', title: 'edited layer' },
          tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'alpha' }, { field: 'success', format: '.3f' }, { field: 'sideEffect', format: '.3f', title: 'side effect' }],
        },
      },
    }),
  };
}

/** E8 robustness: each task metric with and without the edit. */
export function e8RobustnessFigure(doc: ResultsDoc): Figure | null {
  const values = doc.models.flatMap((m) =>
    (m.e8?.robustness ?? []).flatMap((r) => [
      ...(isNum(r.clean) ? [{ model: m.name, measure: `${r.task}: ${r.metric}`, run: 'unedited', value: r.clean }] : []),
      ...(isNum(r.edited) ? [{ model: m.name, measure: `${r.task}: ${r.metric}`, run: 'edited', value: r.edited }] : []),
    ]),
  );
  if (values.length === 0) return null;
  return {
    id: 'e8-robustness',
    experiment: 'E8',
    title: 'Task metrics after the [EOI] edit',
    caption: 'The evaluation suite with and without the steering edit, per task metric.',
    spec: baseSpec('E8 robustness after the edit', values, {
      facet: { column: modelColumn(doc) },
      spec: {
        width: 220,
        height: 180,
        mark: 'bar',
        encoding: {
          x: { field: 'measure', type: 'nominal', title: null, axis: { labelAngle: -30 } },
          xOffset: { field: 'run', type: 'nominal', sort: ['unedited', 'edited'] },
          y: { field: 'value', type: 'quantitative', title: 'value' },
          color: { field: 'run', type: 'nominal', title: 'run', sort: ['unedited', 'edited'] },
          tooltip: [{ field: 'model' }, { field: 'measure' }, { field: 'run' }, { field: 'value', format: '.3f' }],
        },
      },
    }),
  };
}

/** E9: the E6 metrics under none / [EOI] / image->text for each base model and its fine-tunes. */
export function e9Figure(doc: ResultsDoc): Figure | null {
  const tuned = doc.models.filter((m) => m.finetune);
  if (tuned.length === 0) return null;
  const group = new Set(tuned.flatMap((m) => [m.name, m.finetune!.of]));
  const members = doc.models.filter((m) => group.has(m.name));
  const conditions = ['none', 'eoi', 'image-to-text'];
  const values = members.flatMap((m) =>
    e6Values(m, conditions)
      .filter((v) => v.mode !== 'renormalize')
      .map((v) => ({ ...v, variant: m.finetune ? `${m.name} (${m.finetune.kind})` : `${m.name} (base)` })),
  );
  if (values.length === 0) return null;
  return {
    id: 'e9-finetune',
    experiment: 'E9',
    title: 'Fine-tunes that move the gate',
    caption: 'Each task metric of a base model and of its fine-tunes, without knockout and with [EOI] or all image->text edges knocked out (mode zero).',
    spec: baseSpec('E9 fine-tune comparison', values, {
      facet: { row: { field: 'measure', type: 'nominal', title: null } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 80 * members.length + 80,
        height: 150,
        mark: 'bar',
        encoding: {
          x: { field: 'variant', type: 'nominal', title: null, sort: members.map((m) => (m.finetune ? `${m.name} (${m.finetune.kind})` : `${m.name} (base)`)), axis: { labelAngle: -20, labelLimit: 240 } },
          xOffset: { field: 'condition', type: 'nominal', sort: conditions.map(conditionLabel) },
          y: { field: 'value', type: 'quantitative', title: 'value' },
          color: { field: 'condition', type: 'nominal', title: 'knocked out', sort: conditions.map(conditionLabel) },
          tooltip: [{ field: 'variant' }, { field: 'measure' }, { field: 'condition' }, { field: 'value', format: '.3f' }],
        },
      },
    }),
  };
}
