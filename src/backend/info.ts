/**
 * What `narrowgate info` reports: versions of narrowgate, Node and the main dependencies, the active
 * backend and the backends that could not be used (with reasons). Versions are read from the
 * packages' package.json files, without loading native modules.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from './index.js';

export interface SystemInfo {
  versions: Record<string, string | null>;
  backend: { active: string; tfName: string; requested: string; unavailable: BackendInfo['unavailable'] };
}

/** The nearest package.json named `name` at or above `dir`. */
function findPackageJson(dir: string, name: string): string | null {
  let d = dir;
  for (;;) {
    const p = join(d, 'package.json');
    if (existsSync(p)) {
      try {
        const j = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (j.name === name) return j.version ?? null;
      } catch {
        /* unreadable: keep climbing */
      }
    }
    if (d === parse(d).root) return null;
    d = dirname(d);
  }
}

/** Installed version of a dependency, or null when it is not installed. */
export function packageVersion(name: string): string | null {
  const require = createRequire(import.meta.url);
  try {
    return findPackageJson(dirname(require.resolve(name)), name);
  } catch {
    // packages whose "exports" hide the main entry from require: look in node_modules directly
    for (const base of require.resolve.paths(name) ?? []) {
      const v = findPackageJson(join(base, name), name);
      if (v) return v;
    }
    return null;
  }
}

export async function systemInfo(backendPref?: string): Promise<SystemInfo> {
  const b = await initBackend(backendPref);
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    versions: {
      narrowgate: findPackageJson(here, 'narrowgate'),
      node: process.versions.node,
      tfjs: tf.version.tfjs,
      'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
      'tfjs-node': packageVersion('@tensorflow/tfjs-node'),
      'tfjs-node-gpu': packageVersion('@tensorflow/tfjs-node-gpu'),
      'apache-arrow': packageVersion('apache-arrow'),
      'hnswlib-node': packageVersion('hnswlib-node'),
      sharp: packageVersion('sharp'),
    },
    backend: { active: b.name, tfName: b.tfName, requested: b.requested, unavailable: b.unavailable },
  };
}
