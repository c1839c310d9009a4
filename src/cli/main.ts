#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { globalOptions, reportError } from './run.js';
import { UserError } from '../util/errors.js';

export async function main(argv: string[]): Promise<void> {
  let cli = globalOptions(yargs(argv))
    .scriptName('narrowgate')
    .usage('$0 <command> [options]\n\nTrain, hook, measure and steer small vision-language models.')
    .strict()
    .demandCommand(1, 'Name a command; see narrowgate --help.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg ?? 'Invalid command line; see narrowgate --help.');
    });
  for (const c of commands) cli = cli.command(c);
  await cli.parseAsync();
}

main(hideBin(process.argv)).catch((e) => {
  process.exitCode = reportError(e);
});
