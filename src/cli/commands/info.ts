/** `narrowgate info`: versions, the active TensorFlow.js backend, and why other backends are unavailable. */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { systemInfo } from '../../backend/info.js';
import { describeHfCheckpoint, hfCheckpointInfo } from '../../hf/info.js';

interface InfoArgs extends GlobalArgs {
  $0?: string;
}

export const infoCommand: AnyCommand = {
  command: 'info',
  describe: 'show versions, the active TensorFlow.js backend and why other backends are unavailable',
  builder: (y: Argv) =>
    globalOptions(y)
      .option('checkpoint', { type: 'string', describe: 'a Hugging Face model folder (Chameleon or LLaVA-OneVision): print family, sizes, dtype, memory and special token ids' })
      .example('$0 info', 'versions and backend, human-readable')
      .example('$0 info --checkpoint ~/models/chameleon-7b', 'what a downloaded Hugging Face checkpoint is and what it needs')
      .example('$0 info --json --backend wasm', 'the same as JSON, forcing the wasm backend'),
  handler: handler<InfoArgs & { checkpoint?: string }>(async (a) => {
    if (a.checkpoint) {
      const ck = await hfCheckpointInfo(a.checkpoint);
      emit(a, ck, () => describeHfCheckpoint(ck));
      return;
    }
    const info = await systemInfo(a.backend);
    emit(a, info, () => {
      const lines = Object.entries(info.versions).map(([k, v]) => `  ${k.padEnd(18)} ${v ?? 'not installed'}`);
      const un = info.backend.unavailable.map((u) => `  ${u.name.padEnd(18)} ${u.reason}`);
      return [
        'versions:',
        ...lines,
        `backend: ${info.backend.active} (requested: ${info.backend.requested})`,
        ...(un.length ? ['unavailable backends:', ...un] : []),
      ].join('\n');
    });
  }),
};
