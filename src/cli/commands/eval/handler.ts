/**
 * yargs types a command handler's argument as ArgumentsCamelCase<any>, which cannot carry each
 * command's own option types; this adapts run.ts's handler() to that signature. The options are
 * declared (and validated) by the command's builder.
 */
import type { ArgumentsCamelCase } from 'yargs';
import { handler, type GlobalArgs } from '../../run.js';

export function evalHandler<A extends GlobalArgs>(fn: (args: A) => Promise<void> | void) {
  const run = handler<A>(fn);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (args: ArgumentsCamelCase<any>): Promise<void> => run(args as unknown as A);
}
