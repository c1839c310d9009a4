/**
 * nodejs-polars (Rust Arrow) is the independent reader that checks our Arrow files. It is not a
 * package.json dependency: its platform packages cannot all be resolved from this registry, which
 * leaves the lock file unusable for `npm ci`. .ci/run installs it after `npm ci`; tests that need it
 * skip with this reason where it is absent.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Polars = any;

const specifier = 'nodejs-polars';

export async function loadPolars(): Promise<Polars | null> {
  try {
    const mod = await import(specifier);
    return mod.default ?? mod;
  } catch {
    return null;
  }
}

export const POLARS_MISSING = 'nodejs-polars is not installed (.ci/run installs nodejs-polars@0.26.1 and nodejs-polars-linux-x64-gnu@0.26.1)';
