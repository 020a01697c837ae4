import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script without type declarations
import { outsideReferences } from '../../../scripts/check-self-contained.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('no tracked file refers to a path outside the repository', () => {
  // Throws (exit 1) with the references when there are any.
  execFileSync(process.execPath, ['scripts/check-self-contained.mjs'], { cwd: ROOT, stdio: 'pipe' });
});

// Spelled in pieces so that this file does not hold the references it tests.
const UP = '..';
test('the check finds paths that climb above the root, and machine paths, and passes paths inside', () => {
  const find = (file: string, text: string) => (outsideReferences as (f: string, t: string) => string[])(file, text);
  assert.deepEqual(find('test/unit/dts/x.test.ts', `readFileSync('${UP}/shared/dts/Record.avsc')`), [`test/unit/dts/x.test.ts:1: ${UP}/shared/dts/Record.avsc`]);
  assert.deepEqual(find('README.md', `see [the format](${UP}/shared/dts/FORMAT.md)`), [`README.md:1: ${UP}/shared/dts/FORMAT.md`]);
  const machine = ['', 'work', 'main', 'scripts', 'lab'].join('/');
  assert.deepEqual(find('docs/a.md', `x\nrun ${machine}`), [`docs/a.md:2: ${machine}`]);
  assert.deepEqual(find('test/unit/dts/x.test.ts', "import x from '../../../src/dts/encoder.ts'"), []);
  assert.deepEqual(find('docs/a.md', `see [sources](${UP}/README.md)`), []);
});
