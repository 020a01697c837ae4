#!/usr/bin/env node
// Fails when a tracked file refers to a path outside the repository: a relative path that
// climbs above the repository's root from the file's folder (or from the root, for paths
// written relative to it), or a machine's absolute path (/work/..., /home/..., /root/...).
// A clone from anywhere must pass `npm test` and read every doc it links.
//   node scripts/check-self-contained.mjs      (exit 1 and a line per reference found)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const TEXT = /\.(ts|mts|mjs|js|json|md|yaml|yml|sh|sql|env|txt)$|(^|\/)(run|lab|demo|Dockerfile)$/;
const RELATIVE = /(?:^|[\s'"`(<=:])((?:\.\.\/)+[\w@.-][\w@./-]*)/g;
const ABSOLUTE = /(?:^|[\s'"`(<=:])(\/(?:work|home|root|Users|tmp\/sync-it)\/[\w@./-]+)/g;

export function outsideReferences(file, text) {
  const found = [];
  const dir = path.dirname(path.join(root, file));
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(RELATIVE)) {
      const rel = m[1];
      // Tests resolve some paths from the root (new URL(rel, repoRoot)), most from their own
      // folder: outside when it climbs above the root from the folder, or from the root
      // when nothing inside answers to it from the folder.
      const fromFile = path.resolve(dir, rel);
      const outsideFromFile = path.relative(root, fromFile).startsWith('..');
      const outsideFromRoot = path.relative(root, path.resolve(root, rel)).startsWith('..');
      if (outsideFromFile || (outsideFromRoot && !existsSync(fromFile))) found.push(`${file}:${i + 1}: ${rel}`);
    }
    for (const m of line.matchAll(ABSOLUTE)) found.push(`${file}:${i + 1}: ${m[1]}`);
  });
  return found;
}

function main() {
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && TEXT.test(f) && !f.startsWith('node_modules/') && f !== 'package-lock.json' && f !== 'scripts/check-self-contained.mjs');
  const found = files.flatMap((f) => outsideReferences(f, readFileSync(path.join(root, f), 'utf8')));
  if (found.length > 0) {
    console.error(`these files refer to paths outside the repository (a clone elsewhere has none of them):\n${found.join('\n')}`);
    process.exit(1);
  }
  console.log(`self-contained: ${files.length} tracked files refer to no path outside the repository`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
