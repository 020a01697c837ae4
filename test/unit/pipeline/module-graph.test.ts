/**
 * The module graph of src/: no import cycle between files or between folders, and the
 * folders of the record path import only what docs/architecture.md's folder table lets them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return fs.statSync(p).isDirectory() ? sourceFiles(p) : /\.(ts|mjs)$/.test(n) ? [p] : [];
  });
}

const graph = new Map<string, string[]>();
for (const f of sourceFiles(src)) {
  const text = fs.readFileSync(f, 'utf8');
  const deps = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => path.resolve(path.dirname(f), m[1]!));
  graph.set(f, deps.filter((d) => graph.has(d) || fs.existsSync(d)));
}
const folderOf = (f: string) => path.relative(src, f).split(path.sep)[0]!.replace(/\.ts$/, '');

function cycles<T>(edges: Map<T, Iterable<T>>): T[][] {
  const state = new Map<T, 1 | 2>();
  const found: T[][] = [];
  const visit = (n: T, stack: T[]) => {
    state.set(n, 1);
    stack.push(n);
    for (const d of edges.get(n) ?? []) {
      if (state.get(d) === 1) found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d, stack);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of edges.keys()) if (!state.has(n)) visit(n, []);
  return found;
}

test('no import cycle between files, nor between folders', () => {
  assert.deepEqual(cycles(graph).map((c) => c.map((f) => path.relative(src, f)).join(' -> ')), []);
  const folders = new Map<string, Set<string>>();
  for (const [f, deps] of graph) {
    for (const d of deps) if (folderOf(d) !== folderOf(f)) (folders.get(folderOf(f)) ?? folders.set(folderOf(f), new Set()).get(folderOf(f))!).add(folderOf(d));
  }
  assert.deepEqual(cycles(folders).map((c) => c.join(' -> ')), []);
});

// The "may import" column of docs/architecture.md's module table: the doc is the rule.
const doc = fs.readFileSync(fileURLToPath(new URL('../../../docs/architecture.md', import.meta.url)), 'utf8');
const allowed: Record<string, string[]> = {};
for (const m of doc.matchAll(/^\| `src\/([^`]+?)(?:\.ts)?` \| .* \| ([^|]*) \|$/gm)) {
  allowed[m[1]!] = m[2]!.trim() === '—' ? [] : m[2]!.split(',').map((x) => x.trim());
}

test('docs/architecture.md has a row for every folder and top-level file of src/', () => {
  const tops = fs.readdirSync(src).map((n) => n.replace(/\.ts$/, '')).sort();
  assert.deepEqual(Object.keys(allowed).sort(), tops);
});

test('every folder imports only what docs/architecture.md\'s table lets it', () => {
  const wrong: string[] = [];
  for (const [f, deps] of graph) {
    const from = folderOf(f);
    const may = allowed[from] ?? [];
    for (const d of deps) if (folderOf(d) !== from && !may.includes(folderOf(d))) wrong.push(`${path.relative(src, f)} imports ${path.relative(src, d)}`);
  }
  assert.deepEqual(wrong, []);
});

test('no file in src/ over 500 lines', () => {
  const long = [...graph.keys()]
    .map((f) => [path.relative(src, f), fs.readFileSync(f, 'utf8').split('\n').length] as const)
    .filter(([, n]) => n > 500);
  assert.deepEqual(long, []);
});
