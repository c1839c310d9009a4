/**
 * Shared plumbing for command modules: global options, --json output, and the error policy
 * (a UserError prints one sentence and exits 1; anything else is a bug: message, and the stack
 * with --verbose).
 */
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../util/errors.js';
import { isVerbose, setLogLevel } from '../util/log.js';

export interface GlobalArgs {
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  backend?: string;
}

export function globalOptions<T>(y: Argv<T>) {
  return y
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable JSON on stdout (logs stay on stderr)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'more logging, and stack traces on errors' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress or log lines on stderr' })
    .option('backend', {
      type: 'string',
      describe: 'TensorFlow.js backend: auto | tensorflow-gpu | tensorflow | wasm | cpu (default: $NARROWGATE_BACKEND or auto)',
    });
}

/** Prints a result: JSON on stdout with --json, otherwise the human text. */
export function emit(args: GlobalArgs, value: unknown, human: () => string): void {
  if (args.json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write(human() + '\n');
}

export function reportError(e: unknown): number {
  if (e instanceof UserError) {
    process.stderr.write(`narrowgate: ${e.message}\n`);
    if (isVerbose() && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`narrowgate: internal error: ${err.message}${isVerbose() ? '' : ' (run with --verbose for the stack trace)'}\n`);
  if (isVerbose() && err.stack) process.stderr.write(err.stack + '\n');
  return 2;
}

/**
 * Wraps a command handler: sets the log level from the global flags and turns thrown errors into
 * the exit policy above. Handlers do the work by calling one library function and printing.
 */
export function handler<A extends GlobalArgs>(fn: (args: A) => Promise<void> | void) {
  // yargs types a handler's argument as ArgumentsCamelCase<any>, which cannot carry each command's
  // own option types: the command's builder declares and validates them, so the cast is sound here.
  return async (raw: unknown): Promise<void> => {
    const args = raw as A;
    setLogLevel({ verbose: args.verbose, quiet: args.quiet });
    try {
      await fn(args);
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

// yargs' CommandModule generics are awkward across modules; commands are typed at their definition.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;
