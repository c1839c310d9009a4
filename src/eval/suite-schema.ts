/**
 * Evaluation suites: YAML files under eval/ that say which data, which tasks (each with its fixed
 * prompt), how to decode and which conditions to run. Unknown keys are errors; every error names the
 * file and the key.
 *
 *   name: shapes-quick
 *   dataset: data/shapes-32          # a dataset directory (relative to the working directory)
 *   split: test                      # optional; default every image
 *   limit: 64                        # optional; at most this many images of the split
 *   seed: 0                          # seeds @random-image:N (repetition r uses seed + r)
 *   decoding: {max_new_tokens: 32, batch_size: 16, text_only: true}   # greedy, cut at <eos>
 *   tasks:
 *     - {type: captioning, prompt: "", tokenize: whitespace}
 *     - {type: vqa, prompt: "{question}", max_new_tokens: 4, attributes: [color, count]}
 *     - {type: classification, name: shape, field: shape, prompt: "a picture of a {color}", method: next-token}
 *   conditions: [none]               # none | eoi | last-image | random-image:N | image-to-text
 *   modes: [zero]                    # knockout modes for the knockout conditions
 *   repetitions: 10                  # random-image:N conditions are run this many times
 *
 * Prompts are templates: {question} (VQA) and, for every label field of the dataset, {field} (the
 * image's class name in that field, e.g. {color}, {shape}; {label} for the default field).
 */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.js';

export const CONDITION_NAMES = ['none', 'eoi', 'last-image', 'image-to-text'] as const;
const CONDITION = /^(none|eoi|last-image|image-to-text|random-image:[1-9]\d*)$/;
export const KNOCKOUT_MODES = ['zero', 'renormalize'] as const;
export type KnockoutMode = (typeof KNOCKOUT_MODES)[number];

const maxNew = z.number().int().positive();

const captioningTask = z
  .object({
    type: z.literal('captioning'),
    name: z.string().min(1).default('captioning'),
    prompt: z.string().default(''),
    max_new_tokens: maxNew.optional(),
    tokenize: z.enum(['ptb', 'whitespace']).default('ptb'),
  })
  .strict();

const vqaTask = z
  .object({
    type: z.literal('vqa'),
    name: z.string().min(1).default('vqa'),
    prompt: z.string().default('{question}'),
    max_new_tokens: maxNew.optional(),
    /** Only questions of these attributes (the dataset's question categories); default all. */
    attributes: z.array(z.string().min(1)).nonempty().optional(),
  })
  .strict();

const classificationTask = z
  .object({
    type: z.literal('classification'),
    name: z.string().min(1).default('classification'),
    /** The label field whose class is predicted ("label" = the dataset's default field). */
    field: z.string().min(1).default('label'),
    prompt: z.string(),
    /** next-token: argmax over the first token of each class name; generate: the greedy answer must equal the class name. */
    method: z.enum(['next-token', 'generate']).default('next-token'),
    max_new_tokens: maxNew.optional(),
  })
  .strict();

export const taskSchema = z.discriminatedUnion('type', [captioningTask, vqaTask, classificationTask]);

export const suiteSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    dataset: z.string().min(1),
    split: z.string().min(1).optional(),
    limit: z.number().int().positive().optional(),
    seed: z.number().int().default(0),
    decoding: z
      .object({
        strategy: z.literal('greedy').default('greedy'),
        max_new_tokens: maxNew.default(32),
        batch_size: z.number().int().positive().default(16),
        text_only: z.boolean().default(true),
      })
      .strict()
      .default({}),
    tasks: z.array(taskSchema).nonempty(),
    conditions: z.array(z.string().regex(CONDITION, 'expected none, eoi, last-image, random-image:N or image-to-text')).nonempty().default(['none']),
    modes: z.array(z.enum(KNOCKOUT_MODES)).nonempty().default(['zero']),
    repetitions: z.number().int().positive().default(10),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.tasks.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tasks', i, 'name'], message: `task name "${t.name}" is used twice; give each task its own name` });
      seen.add(t.name);
    });
  });

export type Suite = z.infer<typeof suiteSchema>;
export type SuiteTask = z.infer<typeof taskSchema>;

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Validates a parsed suite document; `source` names it in messages. */
export function parseSuite(doc: unknown, source = 'suite'): Suite {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UserError(`Suite ${source} is not a YAML mapping; expected keys name, dataset, tasks (and optionally split, limit, seed, decoding, conditions, modes, repetitions).`);
  }
  const r = suiteSchema.safeParse(doc);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    throw new UserError(`Suite ${source}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${at ? `${at}.` : ''}${k}"`).join(', ')}; check the spelling against the suite format in src/eval/suite-schema.ts.`);
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') {
    throw new UserError(`Suite ${source}: missing key "${at}" (expected ${issue.expected}).`);
  }
  if (issue.code === 'invalid_union_discriminator') {
    throw new UserError(`Suite ${source}: ${at} is invalid; expected captioning, vqa or classification.`);
  }
  throw new UserError(`Suite ${source}: "${at}" is invalid: ${issue.message.replace(/\.+$/, '')}.`);
}

/** Parses suite YAML text. */
export function parseSuiteText(text: string, source = 'suite'): Suite {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new UserError(`Suite ${source} is not valid YAML (${(e as Error).message.split('\n')[0]}).`);
  }
  return parseSuite(doc, source);
}

/** Reads and validates a suite file. */
export async function loadSuite(path: string): Promise<Suite> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`Cannot read suite ${path}: the file does not exist or is not readable; expected a YAML file such as eval/shapes-quick.yaml.`);
  }
  return parseSuiteText(text, path);
}

/** Fills a prompt template: {name} -> vars[name]; an unknown name is a UserError naming the task. */
export function fillPrompt(template: string, vars: Record<string, string>, task: string): string {
  return template.replace(/\{([A-Za-z_][\w-]*)\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new UserError(`Task "${task}": prompt placeholder {${k}} is not available; expected one of ${Object.keys(vars).map((x) => `{${x}}`).join(', ') || '(none)'}.`);
    return v;
  });
}
