/** `narrowgate ship RUN_DIR --name NAME`: evaluates a finished run on held-out data and ships it as checkpoints/NAME with its card. */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { initBackend } from '../../backend/index.js';
import { ship } from '../../training/ship.js';
import { cell } from '../../training/ship-card.js';
import { createProgress, noProgress } from '../../util/progress.js';
import { UserError } from '../../util/errors.js';
import { typedCommandLine } from '../command-line.js';

/** The metrics printed (every metric is in the card and eval.json). */
const HEADLINE = new Set(['CIDEr-D', 'accuracy', 'object_count', 'psnr_db', 'codes_used']);

interface ShipArgs extends GlobalArgs {
  run?: string;
  name?: string;
  suite?: string;
  into?: string;
  dtype?: string;
  samples?: number;
  force?: boolean;
}

export const shipCommand: AnyCommand = {
  command: 'ship <run>',
  describe: 'evaluate a finished run on held-out data and ship its final/ as INTO/NAME with a model card (numbers beside chance levels, samples, commands, wall time)',
  builder: (y: Argv) =>
    globalOptions(y)
      .positional('run', { type: 'string', describe: 'run directory of narrowgate train (its final/ ships)' })
      .option('name', { type: 'string', demandOption: true, describe: 'name of the shipped checkpoint directory, e.g. native-shapes' })
      .option('suite', { type: 'string', default: 'eval/shapes-quick.yaml', describe: 'evaluation suite (its split, limit, tasks; the dataset is the recipe\'s)' })
      .option('into', { type: 'string', default: 'checkpoints', describe: 'parent directory of the shipped checkpoint' })
      .option('dtype', { type: 'string', default: 'f16', choices: ['f16', 'f32'], describe: 'storage type of the shipped weights (f16: half the size; evaluated as shipped)' })
      .option('samples', { type: 'number', default: 4, describe: 'sample outputs (and, for native models, images drawn from their captions) in the card' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing INTO/NAME' })
      .example('$0 ship runs/native-shapes --name native-shapes', 'evaluate on the test split and write checkpoints/native-shapes')
      .example('$0 ship runs/vq-shapes --name vq-shapes --force', 'ship an image tokenizer (PSNR, codes used) over an older copy'),
  handler: handler<ShipArgs>(async (a) => {
    if (!a.run || !a.name) throw new UserError('Name a run directory and a checkpoint name, e.g. narrowgate ship runs/native-shapes --name native-shapes.');
    const samples = a.samples ?? 4;
    if (!Number.isInteger(samples) || samples < 0) throw new UserError(`--samples ${samples} is invalid; expected a whole number of at least 0.`);
    await initBackend(a.backend);
    const command = typedCommandLine('ship', () => [a.run!, '--name', a.name!, '--suite', a.suite!, '--into', a.into!, '--dtype', a.dtype!, '--samples', String(samples), ...(a.force ? ['--force'] : [])]);
    const { dir, doc } = await ship({
      run: a.run, name: a.name, suite: a.suite, into: a.into, dtype: a.dtype === 'f32' ? 'F32' : 'F16', samples, drawn: samples,
      force: a.force, command, progress: a.quiet ? noProgress : createProgress,
    });
    emit(a, doc, () =>
      [
        `shipped ${a.run} as ${dir}${doc.weights ? ` (${doc.weights.dtype}, ${doc.weights.bytes.toLocaleString('en-US')} bytes)` : ''}`,
        ...doc.held_out.rows.filter((r) => HEADLINE.has(r.metric)).map((r) => `  ${r.task} ${r.metric}: ${cell(r.value)} (chance ${cell(r.chance)})`),
        `card: ${dir}/README.md`,
      ].join('\n'),
    );
  }),
};
