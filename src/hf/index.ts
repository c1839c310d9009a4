/**
 * Hugging Face checkpoints (Chameleon, LLaVA-OneVision) on narrowgate: API overview.
 *
 *   isHfModelDir(dir) -> boolean              config.json with a model_type (use it to dispatch --checkpoint)
 *   loadHfModel(dir, {weightsFile?, layerByLayer?: 'auto'|boolean, progress?}) -> HfModel (a VLModel)
 *   model.encode({prompt? | messages?, image? | pixelValues (+imageSizeHW), mode?}) -> HfExample
 *       {text, ids, spans, features? (LLaVA-OV packed [N, D]), codes? (Chameleon VQ codes)}
 *   model.batch(examples) -> {input: ModelInput, lengths, dispose()}   right-padded, spans, features
 *   model.forward(input, {hooks?, cache?, logitColumns?}) -> logits [B, T, V]  (runWithHooks / runWithCache /
 *       compile(specs, model) / generate(model, ...) all take the model as they are)
 *   greedyGenerate(model, examples, {maxNewTokens, hooks?, eos?}) -> number[][]
 *   hfCheckpointInfo(dir) / describeHfCheckpoint(info)   what `narrowgate info --checkpoint` prints
 *   model.special: {bos, eos, pad, boi, eoi, image, sep}   model.kind: 'chameleon' | 'llava_onevision'
 *
 * Spans: Chameleon bos = <s>, boi = <racm3:break>, image = the placeholders, eoi = <eoss>. LLaVA-OV: no
 * bos/boi, image = the placeholders with the image_newline rows as imageMarkers, eoi = the <|im_end|>
 * closing the user turn that holds the image (the paper's stand-in; the fixtures' knockout reference).
 * Hook names are the decoder's (hook_embed, blocks.{l}.*, ln_final.hook_normalized, unembed.hook_out);
 * hidden_states[L] of transformers is ln_final.hook_normalized, its last layer is blocks.{L-1}.hook_resid_post.
 */
export { isHfModelDir, readHfConfig, type HfConfig, type ChameleonHfConfig, type LlavaOvHfConfig, type HfDecoderSpec } from './config.js';
export { loadHfModel, needsLayerByLayer, type LoadHfOptions } from './load.js';
export { HfModel, FLOAT32_MIN, type HfExample, type HfEncodeRequest, type HfSpecialIds, type HfFamily } from './model.js';
export { greedyGenerate, type GreedyOptions } from './generate.js';
export { hfCheckpointInfo, describeHfCheckpoint, type HfCheckpointInfo } from './info.js';
export { openHfWeights, type HfWeights } from './weights.js';
export { loadHfTokenizer, type HfTokenizer } from './tokenizer.js';
export { renderChat, type ChatMessage } from './llava-ov-processor.js';
