/**
 * An error caused by what the user gave us (a file, a flag, a spec), not by a bug.
 * The CLI prints only its message (one sentence: what was wrong, what is expected) and exits non-zero.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Throws a UserError when `cond` is false. */
export function require_(cond: unknown, message: string): asserts cond {
  if (!cond) throw new UserError(message);
}
