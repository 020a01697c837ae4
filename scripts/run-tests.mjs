#!/usr/bin/env node
// `npm test`: unit and integration tests in one run of node's test runner.
// Integration tests need the lab; when it is not running, this starts it and stops it
// again at the end, so a developer's own running lab is left as it was.
//   node scripts/run-tests.mjs [unit|integration] [extra file filters...]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const [which = 'all', ...filters] = process.argv.slice(2);
if (!['all', 'unit', 'integration'].includes(which)) {
  console.error(`usage: run-tests.mjs [unit|integration] [filters...] (got '${which}')`);
  process.exit(2);
}

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out.sort();
}

// A fresh clone has no node_modules yet: `npm test` is one of the README's two commands.
if (!existsSync(path.join(root, 'node_modules/.bin/tsx'))) {
  console.log('# installing npm dependencies (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const suites = which === 'all' ? ['unit', 'integration'] : [which];
const files = suites
  .flatMap((s) => testFiles(path.join(root, 'test', s)))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const ports = Object.fromEntries(
  readFileSync(path.join(root, 'scripts/lab.d/ports.env'), 'utf8')
    .split('\n')
    .map((l) => /^([A-Z0-9_]+)=(\d+)/.exec(l))
    .filter(Boolean)
    .map((m) => [m[1], Number(m[2])]),
);
const portOpen = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

const lab = (cmd) => spawnSync('bash', [path.join(root, 'scripts/lab'), cmd], { stdio: 'inherit' });

let startedLab = false;
if (files.some((f) => f.startsWith(`test${path.sep}integration`))) {
  const open = await Promise.all([ports.MARIADB_PORT, ports.MYSQL_PORT, ports.KAFKA39_PORT, ports.KAFKA10_PORT].map(portOpen));
  if (!open.every(Boolean)) {
    console.log('# starting the lab for the integration tests (scripts/lab up)');
    const r = lab('up');
    if (r.status !== 0) {
      console.error('the lab did not start; integration tests cannot run (see .lab/logs)');
      lab('down');
      process.exit(1);
    }
    startedLab = true;
  }
}

// One file at a time: the integration tests share two cores with the lab's servers.
const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=900000', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' } },
);

if (startedLab) {
  console.log('# stopping the lab this run started (scripts/lab down)');
  lab('down');
}
process.exit(run.status ?? 1);
