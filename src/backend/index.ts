/**
 * Picks the TensorFlow.js backend. `auto` tries, in order: tensorflow-gpu (@tensorflow/tfjs-node-gpu),
 * tensorflow (@tensorflow/tfjs-node), wasm (@tensorflow/tfjs-backend-wasm), cpu. The preference comes
 * from the argument (the CLI's --backend), else $NARROWGATE_BACKEND, else `auto`. Every backend that
 * could not be used is recorded with the reason. An explicitly requested backend that fails is a
 * UserError. The choice is verified with the boolean of tf.setBackend and with tf.getBackend().
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface UnavailableBackend {
  name: BackendName;
  reason: string;
}

export interface BackendInfo {
  /** The backend now active (our name). */
  name: BackendName;
  /** tf.getBackend() after the switch ('tensorflow', 'wasm', 'cpu'). */
  tfName: string;
  /** What was asked for: 'auto' or a backend name. */
  requested: string;
  /** Backends tried (or skipped) before the active one, with the reason each was not used. */
  unavailable: UnavailableBackend[];
}

/** The tfjs backend name registered by each of our backend names. */
const TF_NAME: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

const MODULE: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

function describeImportError(mod: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') {
    // the package itself is missing, or a native library it needs
    if (String(err.message ?? '').includes(`'${mod}'`)) return `module ${mod} not installed`;
  }
  const msg = String(err?.message ?? e).split('\n')[0] ?? '';
  return `module ${mod} failed to load: ${msg}`;
}

/** Loads the module that registers `name` (if any); returns a reason string on failure. */
async function load(name: BackendName): Promise<string | null> {
  const mod = MODULE[name];
  if (!mod) return null;
  if (name === 'tensorflow-gpu' && loadedTfNode === '@tensorflow/tfjs-node') {
    return 'the CPU build @tensorflow/tfjs-node is already loaded in this process';
  }
  if (name === 'tensorflow' && loadedTfNode === '@tensorflow/tfjs-node-gpu') return null;
  try {
    await import(mod);
    if (name !== 'wasm') loadedTfNode = mod;
    return null;
  } catch (e) {
    return describeImportError(mod, e);
  }
}
let loadedTfNode: string | null = null;

/** Switches to one backend; returns null on success or the reason it failed. */
async function trySwitch(name: BackendName): Promise<string | null> {
  const why = await load(name);
  if (why) return why;
  const tfName = TF_NAME[name];
  if (!tf.engine().registryFactory[tfName]) return `backend '${tfName}' is not registered after loading its module`;
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    return `tf.setBackend('${tfName}') threw: ${(e as Error).message ?? String(e)}`;
  }
  if (!ok) return `tf.setBackend('${tfName}') returned false (initialisation failed)`;
  if (tf.getBackend() !== tfName) return `tf.getBackend() is '${tf.getBackend()}' after asking for '${tfName}'`;
  if (tfName === 'cpu') silenceCpuBanner();
  return null;
}

/** The cpu backend prints a one-off "install tfjs-node" banner on its first write; we already know. */
function silenceCpuBanner(): void {
  const b = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (b && 'firstUse' in b) b.firstUse = false;
}

export function parseBackendPreference(pref: string | undefined): 'auto' | BackendName {
  const p = (pref ?? process.env.NARROWGATE_BACKEND ?? 'auto').trim().toLowerCase();
  if (p === '' || p === 'auto') return 'auto';
  if ((BACKENDS as readonly string[]).includes(p)) return p as BackendName;
  throw new UserError(`Unknown backend '${pref ?? process.env.NARROWGATE_BACKEND}'; expected one of auto, ${BACKENDS.join(', ')}.`);
}

let current: BackendInfo | null = null;

/**
 * Selects and activates a backend (see the file comment). Calling it again with the same preference
 * returns the recorded result; a different preference switches.
 */
export async function initBackend(pref?: string): Promise<BackendInfo> {
  const requested = parseBackendPreference(pref);
  if (current && current.requested === requested && tf.getBackend() === current.tfName) return current;
  const unavailable: UnavailableBackend[] = [];
  const order: readonly BackendName[] = requested === 'auto' ? BACKENDS : [requested];
  for (const name of order) {
    const why = await trySwitch(name);
    if (why === null) {
      current = { name, tfName: tf.getBackend(), requested, unavailable };
      return current;
    }
    if (requested !== 'auto') throw new UserError(`Backend '${name}' was requested but cannot be used: ${why}.`);
    unavailable.push({ name, reason: why });
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${unavailable.map((u) => `${u.name}: ${u.reason}`).join('; ')}`);
}

/** The last result of initBackend, or null before the first call. */
export function backendInfo(): BackendInfo | null {
  return current;
}
