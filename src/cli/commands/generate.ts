/** `narrowgate generate`: greedy output for one image (+ prompt), without and with an intervention spec. */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { initBackend } from '../../backend/index.js';
import { generateWithEdit } from '../../interventions/commands.js';
import { UserError } from '../../util/errors.js';

interface GenerateArgs extends GlobalArgs {
  $0?: string;
  checkpoint?: string;
  image?: string;
  prompt?: string;
  edit?: string;
  'max-tokens'?: number;
}

export const generateCommand: AnyCommand = {
  command: 'generate',
  describe: 'generate text for an image with a trained checkpoint, without and with an intervention (--edit SPEC.json)',
  builder: (y: Argv) =>
    globalOptions(y)
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint directory (model.safetensors, config.json, tokenizer.json, ...)' })
      .option('image', { type: 'string', demandOption: true, describe: 'image file (PNG, JPEG, WebP); resized to the model input' })
      .option('prompt', { type: 'string', describe: 'text after the image, e.g. a question' })
      .option('edit', { type: 'string', describe: 'intervention spec JSON (knockout, patch, steer, ablate; one object or a list)' })
      .option('max-tokens', { type: 'number', default: 20, describe: 'most tokens to generate' })
      .example('$0 generate --checkpoint checkpoints/native-shapes --image red-circle.png', 'caption an image')
      .example('$0 generate --checkpoint checkpoints/native-shapes --image x.png --prompt "what colour?" --edit eoi-knockout.json', 'answer with and without cutting text->[EOI] attention'),
  handler: handler<GenerateArgs>(async (a) => {
    if (!a.checkpoint || !a.image) throw new UserError('generate needs --checkpoint DIR and --image FILE.');
    const maxNewTokens = a['max-tokens'] ?? 20;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new UserError(`--max-tokens ${maxNewTokens} is invalid; expected a positive integer.`);
    await initBackend(a.backend);
    const r = await generateWithEdit({ checkpoint: a.checkpoint, image: a.image, prompt: a.prompt, edit: a.edit, maxNewTokens });
    emit(a, r, () =>
      [`output:      ${r.output}`, ...(r.edited !== null ? [`with edit:   ${r.edited}`, `edit:        ${r.specs.map((s) => s.type).join(' + ')} (${a.edit})`] : [])].join('\n'),
    );
  }),
};
