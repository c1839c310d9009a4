/** Logs go to stderr so that --json output on stdout stays machine-readable. */
let quiet = false;
let verbose = false;

export function setLogLevel(opts: { quiet?: boolean; verbose?: boolean }): void {
  quiet = opts.quiet ?? quiet;
  verbose = opts.verbose ?? verbose;
}

export function isVerbose(): boolean {
  return verbose;
}

export function log(message: string): void {
  if (!quiet) process.stderr.write(message + '\n');
}

export function debug(message: string): void {
  if (verbose && !quiet) process.stderr.write(message + '\n');
}
