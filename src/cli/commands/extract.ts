/** `narrowgate extract`: activations of a dataset at named positions into an Arrow store. */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { initBackend } from '../../backend/index.js';
import { extractDataset } from '../../interventions/commands.js';
import { UserError } from '../../util/errors.js';
import { createProgress, noProgress } from '../../util/progress.js';

interface ExtractArgs extends GlobalArgs {
  $0?: string;
  checkpoint?: string;
  data?: string;
  hooks?: string;
  layers?: string;
  positions?: string;
  edit?: string;
  out?: string;
  split?: string;
  limit?: number;
  prompt?: string;
  'with-caption'?: boolean;
  'batch-size'?: number;
  seed?: number;
  'run-id'?: string;
  'shard-by-layer'?: boolean;
  'shard-rows'?: number;
}

function parseLayers(text: string): 'all' | number[] {
  if (text.trim() === 'all') return 'all';
  const parts = text.split(',').map((s) => s.trim());
  const out: number[] = [];
  for (const p of parts) {
    const range = /^(\d+)-(\d+)$/.exec(p);
    if (range) for (let l = Number(range[1]); l <= Number(range[2]); l++) out.push(l);
    else if (/^\d+$/.test(p)) out.push(Number(p));
    else throw new UserError(`--layers "${text}" is invalid; expected all, or a list like 0,2,5 or 0-3.`);
  }
  return out;
}

export const extractCommand: AnyCommand = {
  command: 'extract',
  describe: 'write activations at named positions (e.g. @eoi, @last-image) of a dataset into an Arrow store',
  builder: (y: Argv) =>
    globalOptions(y)
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint directory' })
      .option('data', { type: 'string', demandOption: true, describe: 'dataset directory (made by narrowgate data ...)' })
      .option('hooks', { type: 'string', default: 'resid_post', describe: 'comma-separated hooks: resid_pre, resid_mid, resid_post, attn_out, mlp_out, attn.hook_z, hook_embed, ...' })
      .option('layers', { type: 'string', default: 'all', describe: 'all, or layers like 0,2,5 or 0-3' })
      .option('positions', { type: 'string', default: '@eoi,@last-image', describe: 'comma-separated selectors: @bos @boi @eoi @first-image @last-image @all-image @all-text @text-after-image @all @random-image:N, indices, ranges' })
      .option('edit', { type: 'string', describe: 'intervention spec JSON applied while extracting (recorded in the store metadata)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output .arrow file (or directory with --shard-by-layer / --shard-rows)' })
      .option('split', { type: 'string', describe: 'only this split (train, val, test); default all images' })
      .option('limit', { type: 'number', describe: 'at most this many images' })
      .option('prompt', { type: 'string', describe: 'text after the image for every example' })
      .option('with-caption', { type: 'boolean', default: false, describe: "append each image's first caption (text positions after the image)" })
      .option('batch-size', { type: 'number', default: 16, describe: 'examples per forward pass' })
      .option('seed', { type: 'number', default: 0, describe: 'seed for @random-image:N' })
      .option('run-id', { type: 'string', describe: 'run id stored in every row (default: the output name)' })
      .option('shard-by-layer', { type: 'boolean', default: false, describe: 'one file per layer in a directory with a manifest' })
      .option('shard-rows', { type: 'number', describe: 'start a new shard file every N rows' })
      .example('$0 extract --checkpoint checkpoints/native-shapes --data data/shapes --positions @eoi,@last-image --out acts.arrow', 'residual stream at [EOI] and the last image token, every layer')
      .example('$0 extract --checkpoint ck --data data/shapes --hooks resid_post,attn_out --layers 0-3 --positions @random-image:4 --split test --out acts', 'four random image positions per example'),
  handler: handler<ExtractArgs>(async (a) => {
    if (!a.checkpoint || !a.data || !a.out) throw new UserError('extract needs --checkpoint DIR, --data DIR and --out FILE.arrow.');
    for (const [flag, v] of [['--limit', a.limit], ['--batch-size', a['batch-size']], ['--shard-rows', a['shard-rows']]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UserError(`${flag} ${v} is invalid; expected a positive integer.`);
    }
    const backend = await initBackend(a.backend);
    const r = await extractDataset({
      checkpoint: a.checkpoint,
      data: a.data,
      hooks: (a.hooks ?? 'resid_post').split(',').map((s) => s.trim()).filter(Boolean),
      layers: parseLayers(a.layers ?? 'all'),
      positions: a.positions ?? '@eoi,@last-image',
      out: a.out,
      edit: a.edit,
      split: a.split,
      limit: a.limit,
      prompt: a.prompt,
      withCaption: a['with-caption'],
      batchSize: a['batch-size'],
      seed: a.seed,
      runId: a['run-id'],
      shardByLayer: a['shard-by-layer'],
      shardRows: a['shard-rows'],
      backend: backend.name,
      progress: a.quiet ? noProgress : createProgress,
    });
    emit(a, r, () => `wrote ${r.rows} rows (${r.examples} examples, hooks ${r.hooks.join(', ')}, layers ${r.layers.join(',')}, d ${r.d}) to ${r.out}`);
  }),
};
