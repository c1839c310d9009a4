/**
 * Reads the metric parity fixtures (eval/fixtures/metrics/): inputs plus the values pycocoevalcap,
 * vrama91/cider and the official VQA evaluation return for them (see that folder's README).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root, from the sources (test/helpers) and from the build (dist/test/helpers). */
export const REPO_ROOT = here.includes(join('dist', 'test')) ? join(here, '..', '..', '..') : join(here, '..', '..');
export const METRIC_FIXTURES = join(REPO_ROOT, 'eval', 'fixtures', 'metrics');

export function metricFixturePath(name: string): string {
  return join(METRIC_FIXTURES, name);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readMetricFixture(name: string): any {
  return JSON.parse(readFileSync(metricFixturePath(name), 'utf8'));
}

/** Fixture metric keys (pycocoevalcap's names) -> ours. */
export const FIXTURE_KEYS = {
  'CIDEr-D': 'CIDEr-D', CIDEr: 'CIDEr', Bleu_1: 'BLEU-1', Bleu_2: 'BLEU-2', Bleu_3: 'BLEU-3', Bleu_4: 'BLEU-4', ROUGE_L: 'ROUGE-L',
} as const;
