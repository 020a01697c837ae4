/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --cpu-prof DIR`):
 * where the process spent its time, by area (our modules, zongji, mysql2, kafkajs, Node,
 * GC, idle) and by function, self time.
 *
 *   npx tsx scripts/bench-profile.ts FILE.cpuprofile [--top N]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
if (positionals.length !== 1) {
  console.error('usage: npx tsx scripts/bench-profile.ts FILE.cpuprofile [--top N]');
  process.exit(2);
}

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const profile = JSON.parse(fs.readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}

/** The area a script belongs to. */
export function area(url: string, name: string): string {
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (program)';
  const m = /\/src\/([a-z-]+)\//.exec(url);
  if (m && !url.includes('node_modules')) return `src/${m[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:') || url === '') return 'node';
  return url.replace(/^file:\/\/.*\/work\/[^/]+\//, '');
}

const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const areas = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const { functionName, url, lineNumber } = n.callFrame;
  const a = area(url, functionName);
  areas.set(a, (areas.get(a) ?? 0) + us);
  const file = url.replace(/^file:\/\/.*\/(node_modules|src|scripts)\//, '$1/');
  const key = `${functionName || '(anonymous)'}  ${file}${url ? `:${lineNumber + 1}` : ''}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
}
const busy = total - (areas.get('idle') ?? 0);
const pct = (us: number, of: number) => `${((us / of) * 100).toFixed(1).padStart(5)}%`;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (not idle)`);
console.log('\nby area (self time; % of busy):');
for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1])) {
  if (a !== 'idle') console.log(`  ${pct(us, busy)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${a}`);
}
console.log(`\ntop ${args.top} functions (self time; % of busy):`);
for (const [f, us] of [...functions].sort((x, y) => y[1] - x[1]).slice(0, Number(args.top))) {
  if (!f.startsWith('(idle)')) console.log(`  ${pct(us, busy)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${f}`);
}
