import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecipe, parseSet, recipeToYaml, deepMerge } from '../../src/training/recipe.js';
import { UserError } from '../../src/util/errors.js';

const BASE = join(process.cwd(), 'recipes', 'base.yaml');

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ng-recipe-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Asserts a UserError whose message matches every pattern. */
function throwsUser(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('base.yaml is complete and valid on its own', () => {
  const { recipe, files } = loadRecipe(BASE);
  assert.equal(files.length, 1);
  assert.equal(recipe.model.d_model, 128);
  assert.equal(recipe.image.size / recipe.image.patch, 8);
});

test('every shipped recipe resolves against its base', () => {
  const dir = join(process.cwd(), 'recipes');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const { recipe } = loadRecipe(join(dir, f));
    assert.equal(recipe.name, f.replace(/\.yaml$/, ''), `${f}: name should match the file name`);
  }
});

test('a recipe overrides its base: objects merge, lists and scalars replace', () => {
  withDir((dir) => {
    const p = write(dir, 'child.yaml', `extends: ${BASE}\nname: child\nmodel:\n  d_model: 64\nfreeze: [vision]\n`);
    const { recipe, files } = loadRecipe(p);
    assert.equal(recipe.model.d_model, 64);
    assert.equal(recipe.model.n_layers, 4); // from the base
    assert.deepEqual(recipe.freeze, ['vision']);
    assert.equal(files.length, 2);
  });
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } }), { a: { b: 1, c: [3] } });
});

test('an unknown key is an error naming the key and the file that has it', () => {
  withDir((dir) => {
    const p = write(dir, 'typo.yaml', `extends: ${BASE}\nname: typo\noptim:\n  learning_rate: 0.1\n`);
    throwsUser(() => loadRecipe(p), /typo\.yaml/, /unknown key "optim\.learning_rate"/, /expected one of: lr, beta1/);
    const top = write(dir, 'top.yaml', `extends: ${BASE}\nname: top\nepochs: 3\n`);
    throwsUser(() => loadRecipe(top), /top\.yaml/, /unknown key "epochs"/);
  });
});

test('a wrong type is an error naming the key, the file and what was given', () => {
  withDir((dir) => {
    const p = write(dir, 'bad.yaml', `extends: ${BASE}\nname: bad\ntrain:\n  steps: many\n`);
    throwsUser(() => loadRecipe(p), /bad\.yaml/, /"train\.steps" must be a number, got string "many"/);
    const q = write(dir, 'bad2.yaml', `extends: ${BASE}\nname: bad2\nmodel:\n  family: hybrid\n`);
    throwsUser(() => loadRecipe(q), /bad2\.yaml/, /"model\.family" must be one of native \| adapter/);
    const r = write(dir, 'bad3.yaml', `extends: ${BASE}\nname: bad3\ntrain:\n  steps: 2.5\n`);
    throwsUser(() => loadRecipe(r), /bad3\.yaml/, /"train\.steps"/, /integer/);
  });
});

test('a recipe without a base is told which keys are missing', () => {
  withDir((dir) => {
    const p = write(dir, 'alone.yaml', 'name: alone\n');
    throwsUser(() => loadRecipe(p), /alone\.yaml/, /missing key "model"/, /extends: base\.yaml/);
  });
});

test('YAML syntax errors, non-mappings and extends cycles are clear errors', () => {
  withDir((dir) => {
    const p = write(dir, 'broken.yaml', 'name: x\nmodel: [1, 2\n');
    throwsUser(() => loadRecipe(p), /broken\.yaml is not valid YAML/);
    const l = write(dir, 'list.yaml', '- 1\n- 2\n');
    throwsUser(() => loadRecipe(l), /list\.yaml must be a YAML mapping/);
    write(dir, 'a.yaml', 'extends: b.yaml\n');
    write(dir, 'b.yaml', 'extends: a.yaml\n');
    throwsUser(() => loadRecipe(join(dir, 'a.yaml')), /extends itself/);
    throwsUser(() => loadRecipe(join(dir, 'missing.yaml')), /Cannot read recipe/);
  });
});

test('--set coerces values to the type of the key', () => {
  const { recipe } = loadRecipe(BASE, [
    'optim.lr=1e-3',
    'train.steps=7',
    'model.qk_norm=true',
    'model.family=adapter',
    'name=123',
    'optim.clip=null',
    'freeze=[vision, projector]',
    'init.from=runs/x',
  ]);
  assert.equal(recipe.optim.lr, 0.001);
  assert.equal(recipe.train.steps, 7);
  assert.equal(recipe.model.qk_norm, true);
  assert.equal(recipe.model.family, 'adapter');
  assert.equal(recipe.name, '123'); // a string key keeps the text
  assert.equal(recipe.optim.clip, null);
  assert.deepEqual(recipe.freeze, ['vision', 'projector']);
  assert.equal(recipe.init.from, 'runs/x');
  // later --set wins
  assert.equal(loadRecipe(BASE, ['train.steps=5', 'train.steps=9']).recipe.train.steps, 9);
  // a whole knockout spec through YAML flow syntax
  const k = loadRecipe(BASE, [
    'intervention.knockouts=[{type: knockout, queries: "@text-after-image", keys: "@eoi", mode: renormalize}]',
    'intervention.probability=0.5',
  ]).recipe.intervention;
  assert.equal(k.knockouts[0]?.mode, 'renormalize');
  assert.equal(k.probability, 0.5);
});

test('--set errors name the assignment and the key', () => {
  throwsUser(() => parseSet('optim.lrr=1'), /--set optim\.lrr=1/, /unknown key "optim\.lrr"/, /lr, beta1/);
  throwsUser(() => parseSet('optim.lr=fast'), /"optim\.lr" must be a number, got "fast"/);
  throwsUser(() => parseSet('model.qk_norm=yes'), /"model\.qk_norm" must be true or false/);
  throwsUser(() => parseSet('model.family=hybrid'), /"model\.family" must be one of native \| adapter/);
  throwsUser(() => parseSet('nokey'), /expected key=value/);
  throwsUser(() => parseSet('model.d_model.x=1'), /unknown key|"model\.d_model"/);
  throwsUser(() => loadRecipe(BASE, ['optim.lr=-1']), /"optim\.lr"/, /greater than 0/);
});

test('cross-field rules: too few image tokens, soft training knockouts, text->image without image loss', () => {
  throwsUser(() => loadRecipe(BASE, ['image.patch=8']), /16 image tokens; at least 36/);
  throwsUser(() => loadRecipe(BASE, ['image.patch=5']), /multiple of "image\.patch"/);
  throwsUser(
    () => loadRecipe(BASE, ['intervention.knockouts=[{type: knockout, queries: "@all-text", keys: "@eoi"}]', 'intervention.probability=1']),
    /hard blocks/,
  );
  throwsUser(() => loadRecipe(BASE, ['data.mixture.text_to_image=1', 'loss.image=false']), /"loss\.image" is false/);
  throwsUser(() => loadRecipe(BASE, ['model.family=adapter', 'data.mixture.text_to_image=1']), /needs "model\.family: native"/);
  throwsUser(() => loadRecipe(BASE, ['model.n_heads=3']), /divisible/);
});

test('the resolved recipe YAML loads back to the same recipe', () => {
  withDir((dir) => {
    const loaded = loadRecipe(BASE, ['train.steps=11', 'model.d_model=32']);
    const p = write(dir, 'recipe.resolved.yaml', recipeToYaml(loaded));
    assert.deepEqual(loadRecipe(p).recipe, loaded.recipe);
  });
});
