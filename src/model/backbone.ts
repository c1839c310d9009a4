/**
 * A frozen pretrained vision backbone for the adapter family: the MobileNetV3 of the CenterNet
 * object detector (trained on COCO) that ships inside the npm package @vladmandic/human 3.3.6 as a
 * 4 MB TensorFlow.js graph model (models/centernet.json + centernet.bin, float16-quantised weights).
 *
 * We read the files from disk with our own IOHandler (pure @tensorflow/tfjs has no file:// handler),
 * never import the package's code (it would pull in tfjs-node), and run the graph only up to the
 * backbone's last feature map, `tower_0/extern1/hard_swish/mul_1`: a 1x1 conv 120 -> 480 with
 * hard-swish on the stride-32 map. At 256 x 256 input that is 8 x 8 x 480, i.e. 64 patch features of
 * width 480 (row-major over the 8 x 8 grid), which the adapter's projector maps into the decoder.
 *
 * Input convention (as the detector is fed by the package): RGB pixel values 0..255 as float32,
 * resized bilinearly to the backbone's input size. Grey images are repeated over three channels.
 * The subgraph up to that node (381 nodes) uses only _FusedConv2D, FusedDepthwiseConv2dNative, Add,
 * Mul, Relu6 and Mean (plus our ResizeBilinear/Tile): all have wasm kernels, so no cpu fallback is
 * needed; wasm and cpu agreed to about 1e-6 on a test batch.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../util/errors.js';

/** The graph node whose output is the 8 x 8 x 480 feature map (at 256 px). */
export const BACKBONE_FEATURE_NODE = 'tower_0/extern1/hard_swish/mul_1';
export const BACKBONE_INPUT_NODE = 'tower_0/images';
export const BACKBONE_DIM = 480;
export const BACKBONE_STRIDE = 32;
export const BACKBONE_PACKAGE = '@vladmandic/human';

export interface BackboneImages {
  /** Uint8 values 0..255, or Float32 values in [0, 1]. */
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  /** [B, H, W, C], C = 1 or 3. */
  shape: [number, number, number, number];
}

/** Path of centernet.json inside the installed @vladmandic/human package. */
export function defaultBackbonePath(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(BACKBONE_PACKAGE);
  } catch {
    throw new UserError(`The frozen backbone needs the npm package ${BACKBONE_PACKAGE} (3.3.6); it is not installed (run npm install).`);
  }
  return join(dirname(dirname(entry)), 'models', 'centernet.json');
}

interface GraphNode { name: string; op: string; attr?: { shape?: { shape?: { dim?: { size: string }[] } } } }

/**
 * Makes the batch and spatial sizes of a placeholder dynamic (-1): the converted detector declares
 * [1, 512, 512, 3] and the graph executor enforces it, but the backbone is fully convolutional.
 */
function relaxPlaceholder(topology: unknown, name: string): void {
  const nodes = (topology as { node?: GraphNode[] }).node ?? [];
  const dims = nodes.find((n) => n.name === name && n.op === 'Placeholder')?.attr?.shape?.shape?.dim;
  if (dims) for (let i = 0; i < dims.length - 1; i++) (dims[i] as { size: string }).size = '-1';
}

/**
 * An IOHandler that reads a tfjs graph model (model.json + weight shards) from the local disk;
 * `dynamicInputs` names placeholders whose batch and spatial sizes become dynamic.
 */
export function fileHandler(modelJsonPath: string, dynamicInputs: readonly string[] = []): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      let json: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string; generatedBy?: string; convertedBy?: string; signature?: unknown };
      try {
        json = JSON.parse(await fsp.readFile(modelJsonPath, 'utf8'));
      } catch {
        throw new UserError(`Cannot read the backbone graph ${modelJsonPath}; expected a TensorFlow.js model.json.`);
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new UserError(`${modelJsonPath} is not a TensorFlow.js graph model (no modelTopology or weightsManifest).`);
      }
      for (const name of dynamicInputs) relaxPlaceholder(json.modelTopology, name);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Buffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const file = join(dirname(modelJsonPath), p);
          try {
            buffers.push(await fsp.readFile(file));
          } catch {
            throw new UserError(`Cannot read the backbone weight file ${file}; the package installation looks incomplete.`);
          }
        }
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        // the signature repeats the fixed input shape; the executor checks inputs against the graph nodes
        signature: dynamicInputs.length ? undefined : (json.signature as tf.io.ModelArtifacts['signature']),
      };
    },
  };
}

export class FrozenBackbone {
  private constructor(
    private readonly model: tf.GraphModel,
    /** Side the images are resized to (a multiple of 32); 256 gives an 8 x 8 grid. */
    readonly inputSize: number,
  ) {}

  /** Loads the graph (from the installed package unless `path` names a model.json). */
  static async load(opts: { path?: string; inputSize?: number } = {}): Promise<FrozenBackbone> {
    const inputSize = opts.inputSize ?? 256;
    if (!Number.isInteger(inputSize) || inputSize < BACKBONE_STRIDE || inputSize % BACKBONE_STRIDE !== 0) {
      throw new UserError(`Backbone input size ${inputSize} is invalid; expected a multiple of ${BACKBONE_STRIDE} (256 gives 8 x 8 patches).`);
    }
    const model = await tf.loadGraphModel(fileHandler(opts.path ?? defaultBackbonePath(), [BACKBONE_INPUT_NODE]));
    return new FrozenBackbone(model, inputSize);
  }

  /** Patches per side and per image. */
  get gridSize(): number {
    return this.inputSize / BACKBONE_STRIDE;
  }

  get numTokens(): number {
    return this.gridSize * this.gridSize;
  }

  get dim(): number {
    return BACKBONE_DIM;
  }

  /**
   * Patch features [B, gridSize^2, 480] (default [B, 64, 480]) for a batch of images, processed in
   * chunks of `chunk` images. The returned tensor is owned by the caller; nothing else is left behind.
   */
  extractFeatures(images: BackboneImages | tf.Tensor4D, chunk = 16): tf.Tensor3D {
    return tf.tidy(() => {
      const x = toPixels255(images);
      const B = x.shape[0];
      const parts: tf.Tensor3D[] = [];
      for (let s = 0; s < B; s += chunk) {
        const n = Math.min(chunk, B - s);
        const part = x.slice([s, 0, 0, 0], [n, -1, -1, -1]);
        const resized = part.shape[1] === this.inputSize && part.shape[2] === this.inputSize
          ? part
          : tf.image.resizeBilinear(part, [this.inputSize, this.inputSize]);
        const feat = this.model.execute({ [BACKBONE_INPUT_NODE]: resized }, BACKBONE_FEATURE_NODE) as tf.Tensor4D;
        parts.push(feat.reshape([n, this.numTokens, BACKBONE_DIM]));
      }
      return parts.length === 1 ? (parts[0] as tf.Tensor3D) : tf.concat(parts, 0);
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Images as a float32 [B, H, W, 3] tensor with values 0..255 (inside a tidy). */
function toPixels255(images: BackboneImages | tf.Tensor4D): tf.Tensor4D {
  let x: tf.Tensor4D;
  if (images instanceof tf.Tensor) {
    if (images.rank !== 4) throw new UserError(`Backbone input must be [B, H, W, C], got shape [${images.shape}].`);
    x = images.toFloat();
  } else {
    const [B, H, W, C] = images.shape;
    if (images.data.length !== B * H * W * C) throw new UserError(`The image batch holds ${images.data.length} values but its shape [${images.shape}] needs ${B * H * W * C}.`);
    x = images.data instanceof Float32Array ? tf.mul(tf.tensor4d(images.data, images.shape), 255) : tf.tensor4d(Float32Array.from(images.data), images.shape);
  }
  const C = x.shape[3];
  if (C === 1) return tf.tile(x, [1, 1, 1, 3]);
  if (C !== 3) throw new UserError(`Backbone images must have 1 or 3 channels, got ${C}.`);
  return x;
}
