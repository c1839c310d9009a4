/** Figures of the geometry and attention analyses (E1-E4): one builder per figure, null when no model has the data. */
import { DEPTH_X, baseSpec, isNum, modelColor, modelColumn, positionRank, sortedLabels, withSection, type Figure } from './figure-common.js';
import { depthOf, type ResultsDoc } from './results.js';

/** E1: median cross-modal cosine with the interquartile band against depth, one line per model. */
export function e1Figure(doc: ResultsDoc): Figure | null {
  const values = withSection(doc, 'e1').flatMap(({ m, s }) =>
    s.records.filter((r) => isNum(r.median)).map((r) => ({ model: m.name, layer: r.layer, depth: r.depth, median: r.median, q25: r.q25 ?? r.median, q75: r.q75 ?? r.median })),
  );
  if (values.length === 0) return null;
  const color = modelColor(doc);
  return {
    id: 'e1-modality-gap-cosine',
    experiment: 'E1',
    title: 'Cross-modal cosine similarity (median, IQR band)',
    caption: 'Median cosine between text and image residual vectors of different items at each depth; the band spans the 25th to 75th percentile.',
    spec: baseSpec('E1 cross-modal cosine similarity', values, {
      width: 380,
      height: 240,
      layer: [
        { mark: { type: 'area', opacity: 0.2 }, encoding: { x: DEPTH_X, y: { field: 'q25', type: 'quantitative', title: 'cosine (text vs image)' }, y2: { field: 'q75' }, color: { ...color, legend: null } } },
        { mark: { type: 'line', point: true }, encoding: { x: DEPTH_X, y: { field: 'median', type: 'quantitative' }, color, tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'median', format: '.3f' }] } },
      ],
    }),
  };
}

/** E2: homogeneity of the density-peak clusters with respect to modality against depth. */
export function e2Figure(doc: ResultsDoc): Figure | null {
  const values = withSection(doc, 'e2').flatMap(({ m, s }) =>
    s.records.filter((r) => isNum(r.homogeneity)).map((r) => ({ model: m.name, layer: r.layer, depth: r.depth, homogeneity: r.homogeneity, id: r.id, clusters: r.nClusters })),
  );
  if (values.length === 0) return null;
  return {
    id: 'e2-modality-gap-homogeneity',
    experiment: 'E2',
    title: 'Homogeneity of density-peak clusters',
    caption: 'Homogeneity = 1 - H(modality | cluster) / H(modality) of the ADP clusters of the pooled text and image vectors: 1 means every cluster holds one modality.',
    spec: baseSpec('E2 cluster homogeneity (modality)', values, {
      width: 380,
      height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: DEPTH_X,
        y: { field: 'homogeneity', type: 'quantitative', title: 'homogeneity', scale: { domain: [0, 1] } },
        color: modelColor(doc),
        tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'homogeneity', format: '.3f' }, { field: 'id', format: '.1f', title: 'intrinsic dim.' }, { field: 'clusters' }],
      },
    }),
  };
}

/** E3: stacked share of text->image attention per layer; layer 0 faded (there [EOI] is only its embedding). */
export function e3Figure(doc: ResultsDoc): Figure | null {
  const values = withSection(doc, 'e3').flatMap(({ m, s }) =>
    s.records.filter((r) => isNum(r.share)).map((r) => ({ model: m.name, layer: r.layer, label: r.label, share: r.share, rank: positionRank(r.label), layer0: r.layer === 0 })),
  );
  if (values.length === 0) return null;
  const x = { field: 'layer', type: 'ordinal', title: 'layer' };
  return {
    id: 'e3-attention-flow',
    experiment: 'E3',
    title: 'Where text attention to the image goes',
    caption:
      'Share of the attention that text positions after the image pay to [EOI], the last image token, single image positions above 1 %, and the other image tokens, per layer (BOS and BOI left out). Layer 0 is faded and marked "emb.": there [EOI] is only its embedding and carries no image information.',
    spec: baseSpec('E3 attention share from text to image positions', values, {
      facet: { column: modelColumn(doc) },
      resolve: { scale: { x: 'independent' } },
      spec: {
        width: 220,
        height: 220,
        layer: [
          {
            mark: 'bar',
            encoding: {
              x,
              y: { field: 'share', type: 'quantitative', stack: 'zero', title: 'share of text->image attention', scale: { domain: [0, 1.08] } },
              color: { field: 'label', type: 'nominal', title: 'key position', sort: sortedLabels(values.map((v) => v.label)), scale: { scheme: 'tableau20' } },
              order: { field: 'rank', type: 'quantitative' },
              opacity: { condition: { test: 'datum.layer0', value: 0.35 }, value: 1 },
              tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'label' }, { field: 'share', format: '.3f' }],
            },
          },
          {
            transform: [{ filter: 'datum.layer0' }, { aggregate: [{ op: 'count', as: 'n' }], groupby: ['model', 'layer'] }],
            mark: { type: 'text', dy: -6, fontSize: 10, fontStyle: 'italic' },
            encoding: { x, y: { datum: 1 }, text: { value: 'emb.' } },
          },
        ],
      },
    }),
  };
}

/** E4: neighbourhood overlap with the labels against depth, one line per position kind, chance as a dashed rule. */
export function e4Figure(doc: ResultsDoc): Figure | null {
  const values = withSection(doc, 'e4').flatMap(({ m, s }) =>
    s.records
      .filter((r) => isNum(r.overlap))
      .map((r) => ({ model: m.name, layer: r.layer, depth: depthOf(r.layer, m.numLayers), position: r.positionKind, overlap: r.overlap, recall: r.recall ?? null, chance: s.chance })),
  );
  if (values.length === 0) return null;
  return {
    id: 'e4-overlap',
    experiment: 'E4',
    title: 'Neighbourhood overlap with the class labels',
    caption: 'chi^{l,gt}: the fraction of each vector\'s k nearest neighbours that share its label, per position kind; the dashed line is chance (1 / #classes).',
    spec: baseSpec('E4 neighbourhood overlap with labels', values, {
      facet: { column: modelColumn(doc) },
      spec: {
        width: 240,
        height: 220,
        layer: [
          {
            mark: { type: 'line', point: true },
            encoding: {
              x: DEPTH_X,
              y: { field: 'overlap', type: 'quantitative', title: 'overlap chi (label agreement)', scale: { domain: [0, 1] } },
              color: { field: 'position', type: 'nominal', title: 'position', sort: sortedLabels(values.map((v) => v.position)) },
              tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'position' }, { field: 'overlap', format: '.3f' }, { field: 'recall', format: '.3f', title: 'recall@k' }],
            },
          },
          { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { aggregate: 'mean', field: 'chance', type: 'quantitative' } } },
        ],
      },
    }),
  };
}
