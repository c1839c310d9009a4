/**
 * The command line of this invocation as the user typed it, for model cards: "narrowgate" followed by
 * the process arguments after the script (node's own flags such as --import tsx are not among them),
 * each shell-quoted where needed so the line can be pasted back into a shell.
 */

/** POSIX shell quoting: the argument bare when it has only safe characters, else in single quotes. */
export function shellQuote(a: string): string {
  if (a !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(a)) return a;
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * `narrowgate <args>` from process.argv when this process was started as `narrowgate <command> ...`;
 * otherwise (a command module run in-process, e.g. by a test) the line rebuilt from `fallback()`,
 * the parsed arguments in their canonical form.
 */
export function typedCommandLine(command: string, fallback: () => string[], argv: readonly string[] = process.argv): string {
  const args = argv.slice(2);
  return ['narrowgate', ...(args[0] === command ? args : [command, ...fallback()])].map((a, i) => (i === 0 ? a : shellQuote(a))).join(' ');
}
