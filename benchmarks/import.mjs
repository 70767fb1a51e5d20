// What `import 'supervise'` costs a process at startup (issue: a small CLI pays it on every start),
// measured inside the process: `performance.now()` around a dynamic `import()` of the entry, in a
// fresh process each time, nothing else imported first. On each Node major, systems interleaved in
// a rotating order run by run, so that the shared machine's load falls on all alike.
//
//   node benchmarks/import.mjs [--runs=21] [--node=20,24] [--before=<git revision>] [--write]
//
// Systems:
// - supervise: the package's entry, the bundle (dist/bundle/index.js: `npm run build` makes it);
// - supervise-files: this build's dist/lib/index.js, file by file as tsc emits it (what the bundle saves);
// - supervise-before: with --before, that revision's dist/lib/index.js (built in a temporary git
//   worktree with the root's TypeScript, as compare.mjs does): the cost before this work;
// - effection: benchmarks/node_modules/effection, the peer the issue compares with;
// - empty-file: a file that exports nothing, in a package: the floor of importing any package from disk;
// - empty: a data: module that exports nothing, the floor of any dynamic import.
// Each probe also lists the public built-ins its import loaded (from `process.moduleLoadList`).
//
// With --write, the table replaces the section between <!-- import:start --> and <!-- import:end -->
// in RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { list, parseOptions } from './lib/cli.mjs';
import { gitCommit, packageVersion } from './lib/provenance.mjs';
import { median, writeSection } from './lib/results.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

const { args, usage } = parseOptions(
  process.argv.slice(2),
  ['runs', 'node', 'before', 'write', 'help'],
  'import.mjs',
  'usage: node benchmarks/import.mjs [--runs=21] [--node=20,24] [--before=<git revision>] [--write]',
);
const runs = Number(args.runs ?? 21);
if (!Number.isInteger(runs) || runs < 1) usage(`--runs must be a positive integer, not ${args.runs}`);
const majors = list(args.node ?? '20,24');

// The probe: one read of the clock first (in Node 20 the first read of `performance` loads
// perf_hooks: not the import's cost), then the timed import, then what it loaded. Nothing else runs
// before it. It is a file, as a program's entry is: the ES module loader has read one file from disk
// already when the program imports supervise, so the loader's own start (about 10 ms on Node 20,
// which `node -e` would charge to the first file it imports) is not counted as the import's cost.
const probe = `performance.now();
const before = new Set(process.moduleLoadList);
const t0 = performance.now();
await import(process.argv[2]);
const ms = performance.now() - t0;
const loaded = process.moduleLoadList.filter((entry) => !before.has(entry) && /^NativeModule (?!internal\\/)/.test(entry)).map((entry) => entry.slice(13));
console.log(JSON.stringify({ ms, loaded }));`;

for (const file of ['dist/bundle/index.js', 'dist/lib/index.js']) {
  if (!existsSync(join(root, file))) usage(`${file} is missing: run npm run build first`);
}
const probeFile = (() => {
  const dir = mkdtempSync(join(os.tmpdir(), 'supervise-import-probe-'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'probe.js'), `${probe}\n`);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'probe.js');
})();
const systems = {
  supervise: pathToFileURL(join(root, 'dist/bundle/index.js')).href,
  'supervise-files': pathToFileURL(join(root, 'dist/lib/index.js')).href,
  ...(args.before ? { 'supervise-before': pathToFileURL(join(buildRevision(String(args.before)), 'index.js')).href } : {}),
  effection: import.meta.resolve('effection'),
  'empty-file': pathToFileURL(emptyFile()).href,
  empty: 'data:text/javascript,export%20{}',
};
const describe = {
  supervise: 'the package entry: `dist/bundle/index.js` (esbuild: index.js + shared.js)',
  'supervise-files': "this build's `dist/lib/index.js`, file by file as tsc emits it",
  'supervise-before': `\`dist/lib/index.js\` at ${args.before} (before the bundle and the lazy built-ins)`,
  effection: `effection ${packageVersion(join(root, 'benchmarks/node_modules/effection/package.json'))} (\`import 'effection'\`)`,
  'empty-file': 'a file exporting nothing, in a `"type": "module"` package: the floor of importing any package from disk',
  empty: 'a `data:` module exporting nothing: the floor of one dynamic import',
};

/** A package of one empty ES module, in a temporary directory removed at exit. */
function emptyFile() {
  const dir = mkdtempSync(join(os.tmpdir(), 'supervise-import-empty-'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'index.js'), 'export {};\n');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'index.js');
}

/** Builds `revision` in a temporary worktree (the root's node_modules and tsc) and returns a copy of its dist/lib. */
function buildRevision(revision) {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${revision}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const temp = mkdtempSync(join(os.tmpdir(), 'supervise-import-'));
  const tree = join(temp, 'tree');
  console.error(`import.mjs: building ${revision} (${sha.slice(0, 7)}) in a temporary worktree...`);
  execFileSync('git', ['worktree', 'add', '--detach', '-f', tree, sha], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: tree, stdio: 'inherit' });
    cpSync(join(tree, 'dist/lib'), join(temp, 'lib'), { recursive: true });
    cpSync(join(tree, 'package.json'), join(temp, 'package.json'));
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
  }
  process.on('exit', () => rmSync(temp, { recursive: true, force: true }));
  return join(temp, 'lib');
}

function nodeBinary(major) {
  if (major === process.versions.node.split('.')[0]) return process.execPath;
  return execFileSync(process.execPath, [join(root, 'scripts', 'ensure-node.mjs'), major], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

const started = performance.now();
const loads = [];
const results = {};
for (const major of majors) {
  const binary = nodeBinary(major);
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const names = Object.keys(systems);
  const figures = Object.fromEntries(names.map((name) => [name, { ms: [], loaded: [] }]));
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + run) % names.length];
      const result = spawnSync(binary, [probeFile, systems[name]], { encoding: 'utf8', cwd: root });
      if (result.status !== 0) throw new Error(`${name} on Node ${major} failed: ${result.stderr}`);
      const { ms, loaded } = JSON.parse(result.stdout.trim().split('\n').at(-1));
      figures[name].ms.push(ms);
      figures[name].loaded = loaded;
    }
    loads.push(os.loadavg()[0]);
    process.stderr.write(`Node ${major}: run ${run + 1}/${runs}\n`);
  }
  results[version] = figures;
}

const fmt = (value) => value.toFixed(2);
const command = `node benchmarks/import.mjs --runs=${runs} --node=${majors.join(',')}${args.before ? ` --before=${args.before}` : ''}${args.write ? ' --write' : ''}`;
const lines = [
  '<!-- import:start -->',
  "## Import: what `import 'supervise'` costs at startup",
  '',
  `Written by \`${command}\` on ${new Date().toISOString()} (${Math.round((performance.now() - started) / 1000)} s), commit ${gitCommit(root)}; do not edit by hand. Machine: ${os.cpus().length} cores, 1-minute load average ${fmt(Math.min(...loads))} - ${fmt(Math.max(...loads))} during the run.`,
  '',
  `Method: \`performance.now()\` around \`await import(entry)\`, the first thing the entry file of a fresh \`node\` process does (so the ES module loader has started, as in any program); ${runs} processes per system and Node version, interleaved in a rotating order; median, min and max. "built-ins loaded" are the public Node modules the import added to \`process.moduleLoadList\`.`,
  '',
  '| system | what |',
  '| --- | --- |',
  ...Object.keys(systems).map((name) => `| \`${name}\` | ${describe[name]} |`),
  '',
];
for (const [version, figures] of Object.entries(results)) {
  lines.push(`### Node ${version}`, '', '| system | ms (median) | min | max | built-ins loaded |', '| --- | ---: | ---: | ---: | --- |');
  for (const [name, { ms, loaded }] of Object.entries(figures)) {
    lines.push(`| ${name} | ${fmt(median(ms))} | ${fmt(Math.min(...ms))} | ${fmt(Math.max(...ms))} | ${loaded.join(', ') || 'none'} |`);
  }
  lines.push('');
}
lines.push('<!-- import:end -->');
const section = lines.join('\n');
console.log(section);

if (args.write) writeSection(root, 'import', section, 'restart');
