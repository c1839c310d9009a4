/**
 * narrowgate model engine: API overview (read this first).
 *
 * Backend:  `await initBackend(pref?)` from src/backend (auto: tensorflow-gpu > tensorflow > wasm > cpu).
 *
 * Config:   decoderConfig({vocabSize, dModel, nLayers, nHeads, nKvHeads?, headDim?, dMlp?, ropeTheta?,
 *           rmsNormEps?, qkNorm?, qkNormEps?, qkvBias?, normPlacement?: 'pre'|'swin', tieEmbeddings?})
 *           NativeConfig {family:'native', decoder, special:{bos,eos,pad,boi,eoi}, imageCodeStart, imageCodeCount}
 *           AdapterConfig {family:'adapter', decoder, special, vision: VisionConfig|null, projector}
 *
 * Models:   new NativeModel(cfg, {seed}) / new AdapterModel(cfg, {seed}); createModel(cfg, opts).
 *           model.forward({ids [B,T] int32, attentionMask?: number[][], spans?, pixels?, features?},
 *                         {hooks?: NamedHook[], cache?: KVCache, blockWeights?, logitColumns?}) -> logits [B,T,V]
 *           model.namedParameters(): Map<string, tf.Variable>   model.hookNames(): string[]
 *           model.newCache(B): KVCache (dispose() it)             model.dispose()
 *           variablesInGroups(model, ['projector']) -> tf.Variable[] (groups: embed, decoder, vision, projector)
 *
 * Parameter names (linear weights stored [in, out]; transformers' weight transposed):
 *   embed.W_E [V,D]; blocks.{l}.ln1.w [D]; blocks.{l}.attn.W_Q [D,H*Dh], W_K/W_V [D,Hkv*Dh], W_O [H*Dh,D],
 *   attn.b_Q/b_K/b_V (qkvBias), attn.q_norm.w|b [H,Dh], attn.k_norm.w|b [Hkv,Dh] (qkNorm);
 *   blocks.{l}.ln2.w; blocks.{l}.mlp.W_gate [D,F], W_in [D,F], W_out [F,D]; ln_final.w; unembed.W_U [D,V] (untied).
 *   Adapter adds vision.patch.W [p*p*C,Dv], vision.patch.b, vision.pos.W_pos [N,Dv], vision.blocks.{l}.* (same
 *   block names), vision.ln_final.w, projector.W_1 [dIn,Dh], projector.b_1, projector.W_2 [Dh,D], projector.b_2.
 *
 * Padding: right padding by default (spans keep their indices); attentionMask marks real tokens; rotary
 *   positions = number of real tokens before a column, so left padding works too. Rows at padded
 *   query positions are garbage: ignore them.
 *
 * Layer by layer (large HF models): build the decoder with {externalBlocks: true} and pass
 *   forward(..., {blockWeights: (l) => WeightSet}) with local names from blockParamSpecs(cfg)
 *   ("ln1.w", "attn.W_Q", ...). Each block runs in its own tf.tidy: tensors created inside blockWeights are
 *   released right after that layer. Or drive the steps yourself: decoder.embedTokens, block.forward,
 *   decoder.head (see decoder.ts).
 *
 * Generation: await generate(model, {prompts: number[][], spans?, pixels?, features?}, {maxNewTokens, strategy?:
 *   'greedy'|'sample', temperature?, topK?, seed?, eos?, allowedIds?, forbiddenIds?, constrain?(step, b), hooks?,
 *   returnScores?}) -> {tokens, stopped, scores?}; await generateImageCodes(nativeModel, {prompts}, {nCodes})
 *   -> {codes (0-based code indices), tokens}. Ragged prompts are right-padded internally.
 *
 * Hooks (src/hooks): runWithHooks(model, input, hooks, opts) -> logits; runWithCache(model, input,
 *   {names|filter}, opts) -> {logits, cache: ActivationCache (get, getAll per call, names, dispose)};
 *   cachingHooks(names, cache) to cache during generate(); knockoutHooks({layers, heads?, query(b, pos),
 *   key(b, pos), mode: 'zero'|'renormalize', prefix?}) -> NamedHook[]. Hooks live for one call only (a
 *   per-call table; nothing is registered on the model). A hook is (act, ctx) => tensor|void, synchronous,
 *   inside tf.tidy; ctx.offset = absolute column of the first query row (cached generation), ctx.layer,
 *   ctx.spans. Unknown names -> UserError with close matches. Layouts: src/hooks/types.ts.
 */
export * from './config.js';
export { Decoder, type DecoderCallOptions, type DecoderOptions } from './decoder.js';
export { Block, blockParamSpecs } from './block.js';
export { HookPoint, type HookTable, closeMatches } from './hookpoint.js';
export { type ModelInput, type ForwardOptions, type VLModel, hookTable, variablesInGroups } from './model.js';
export { NativeModel } from './native.js';
export { AdapterModel, splice } from './adapter.js';
export { VisionEncoder } from './vision.js';
export { Projector } from './projector.js';
export { createModel } from './factory.js';
export {
  generate,
  generateImageCodes,
  choose,
  type GenerateInput,
  type GenerateOptions,
  type GenerateResult,
  type StepConstraint,
  type ImageGenerationOptions,
} from './generate.js';
export { KVCache, MASK_VALUE } from './state.js';
export { type ParamSpec, type WeightSet, type ParamGroup, parameterGroup } from './params.js';
export { matMul2d, bmm, linear, embedding } from './ops.js';
