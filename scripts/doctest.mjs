#!/usr/bin/env node
// Documentation that runs: every ```ts block of README.md and docs/API.md, and every ```ts block
// under an `@example` tag in the JSDoc of lib/**/*.ts, is type-checked against the PUBLISHED
// declarations (the built dist/lib/*.d.ts: what users import as 'supervise' and
// 'supervise/testing'), strict, and the complete programs among them are run against the bundle users
// import (dist/bundle; tokio's doctests are the model). `npm test` runs it after the build.
//
//   node scripts/doctest.mjs                       every block of README.md, docs/API.md, lib/
//   node scripts/doctest.mjs --only=lib/task.ts    the blocks whose source path contains this
//   node scripts/doctest.mjs --dist=/tmp/d/lib     declarations and JS from another build (default dist/lib; JS from ../bundle if any)
//   node scripts/doctest.mjs --timeout=30000       the hang guard of each run, in ms (default 30 s)
//   node scripts/doctest.mjs --keep                keep the temp directory, and print its path
//   node scripts/doctest.mjs --list                print each block's location and kind (program, no_run, fragment)
//   node scripts/doctest.mjs --verbose             print what each program wrote, also when it passed
//   node scripts/doctest.mjs a.md lib/b.ts         these files instead of the default ones
//
// The rule, mechanical:
// - Checked: every fence whose info string starts with `ts` (```ts), in markdown, and in a JSDoc
//   comment after `@example` (the comment's leading ` * ` is stripped). An `@example` must hold a
//   ```ts fence. Other languages (```js, ```sh, ```yaml, none) are not checked.
// - Each block is its own ES module (.mts: top-level await, nothing shared between blocks). It may
//   import 'supervise', 'supervise/testing', Node's built-ins and the repository's dev
//   dependencies; never a relative path, 'lib/…', 'dist/…' or any other 'supervise/…' sub-path.
// - A PROGRAM is a block that type-checks on its own: it imports every name it uses. It is run
//   with `node` (its JS compiled by tsc, target ES2022) and must exit 0 within the hang guard.
//   Mark a program that must not run (it serves for ever, waits for Ctrl-C, needs a database...)
//   with `no_run` after the language: ```ts no_run. It is then type-checked only.
// - A FRAGMENT is a block that does not type-check on its own. It is checked again with the
//   prelude, scripts/doctest/prelude.d.ts (declared names such as `sup`, `work`, `db`, `app`, and
//   Node built-ins such as `http`, `once`), and with every name the package exports in scope, as if
//   imported from 'supervise' and 'supervise/testing'. It must type-check then; it is not run. (So a
//   program that forgets an import the prelude covers is only checked: `--list` shows which is which.)
// - Any other word in the info string is an error (a typo must not silently skip a block).
//
// One `tsc` compiles every block (no prelude) and emits their JS; a second checks the fragments
// with the prelude. Diagnostics are printed at their source (README.md:45:3, lib/task.ts:120:5),
// with the line. Exit code 1 when any block fails, 2 for bad usage or when no block was found.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const prelude = join(root, 'scripts', 'doctest', 'prelude.d.ts');
const tscBin = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const KNOWN_FLAGS = new Set(['no_run']);

// ---- arguments ----------------------------------------------------------------------------------

const args = { only: undefined, dist: join(root, 'dist', 'lib'), timeout: 30_000, keep: false, list: false, verbose: false, files: [] };
for (const arg of process.argv.slice(2)) {
  const [, key, value] = /^--([a-z]+)(?:=(.*))?$/.exec(arg) ?? [];
  if (key === 'only' && value) args.only = value;
  else if (key === 'dist' && value) args.dist = resolve(value);
  else if (key === 'timeout' && /^\d+$/.test(value ?? '')) args.timeout = Number(value);
  else if (key === 'keep' && value === undefined) args.keep = true;
  else if (key === 'list' && value === undefined) args.list = true;
  else if (key === 'verbose' && value === undefined) args.verbose = true;
  else if (key === undefined && !arg.startsWith('-')) args.files.push(resolve(arg));
  else usage(`unknown argument ${arg}`);
}

function usage(message) {
  console.error(
    `doctest: ${message}\nusage: node scripts/doctest.mjs [--only=<path substring>] [--dist=<dir>] [--timeout=<ms>] [--keep] [--list] [--verbose] [file...]`,
  );
  process.exit(2);
}

for (const file of ['index.d.ts', 'testing.d.ts', 'index.js', 'testing.js']) {
  if (!existsSync(join(args.dist, file))) usage(`${join(args.dist, file)} is missing: run npm run build first (or pass --dist=<dir>)`);
}

/** A path as printed: relative to the repository when inside it. */
const display = (file) => {
  const rel = relative(root, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
};

// ---- extraction ---------------------------------------------------------------------------------

/**
 * @typedef {object} Block
 * @property {string} source     the file, as printed
 * @property {number} line       1-based line in `source` of the block's first code line
 * @property {number[]} columns  for each code line, how many characters were stripped before it
 * @property {string[]} flags    the words after `ts` in the fence's info string
 * @property {string} code
 * @property {string} name       its module's base name in the temp directory
 */

/** @type {Block[]} */
const blocks = [];
/** @type {{ where: string, message: string }[]} */
const failures = [];
const fail = (where, message) => failures.push({ where, message });
/** Sorts failures by file, then line and column, as `file:line:column` says them. */
const byLocation = (a, b) => {
  const [, fileA = a.where, lineA = 0, columnA = 0] = /^(.*?):(\d+)(?::(\d+))?$/.exec(a.where) ?? [];
  const [, fileB = b.where, lineB = 0, columnB = 0] = /^(.*?):(\d+)(?::(\d+))?$/.exec(b.where) ?? [];
  return fileA.localeCompare(fileB) || Number(lineA) - Number(lineB) || Number(columnA) - Number(columnB);
};

const FENCE = /^(`{3,}|~{3,})\s*(.*?)\s*$/;

/**
 * Fenced blocks of `lines` (already stripped of any comment prefix), as { start, info, body }, with
 * `start` the 0-based index of the first body line. Unterminated fences are reported.
 */
function fences(lines, from = 0, to = lines.length) {
  const found = [];
  for (let i = from; i < to; i++) {
    const open = FENCE.exec(lines[i].trimStart());
    if (!open) continue;
    const indent = lines[i].length - lines[i].trimStart().length;
    const marker = open[1];
    let end = i + 1;
    while (end < to && !new RegExp(`^${marker[0]}{${marker.length},}\\s*$`).test(lines[end].trim())) end++;
    found.push({ open: i, start: i + 1, end, indent, info: open[2], body: lines.slice(i + 1, end), closed: end < to });
    i = end;
  }
  return found;
}

/** Adds a block when its info string is ts, checking its flags. */
function addBlock(source, fence, lineOf, columnOf) {
  const [lang, ...flags] = fence.info.split(/\s+/).filter(Boolean);
  if (lang !== 'ts') return;
  if (!fence.closed) return fail(`${source}:${lineOf(fence.open)}`, 'a ```ts fence is never closed');
  const unknown = flags.filter((flag) => !KNOWN_FLAGS.has(flag));
  if (unknown.length > 0) return fail(`${source}:${lineOf(fence.open)}`, `unknown fence flag ${unknown.join(', ')} (known: ${[...KNOWN_FLAGS].join(', ')})`);
  const columns = [];
  const code = fence.body.map((text, k) => {
    const stripped = Math.min(fence.indent, text.length - text.trimStart().length);
    columns.push(columnOf(fence.start + k) + stripped);
    return text.slice(stripped);
  });
  blocks.push({ source, line: lineOf(fence.start), columns, flags, code: code.join('\n'), name: '' });
}

function extractMarkdown(file) {
  const source = display(file);
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const fence of fences(lines))
    addBlock(
      source,
      fence,
      (i) => i + 1,
      () => 0,
    );
}

function extractJsdoc(file) {
  const source = display(file);
  const text = readFileSync(file, 'utf8');
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    if (!comment[0].includes('@example')) continue;
    const firstLine = text.slice(0, comment.index).split('\n').length; // 1-based line of `/**`
    const raw = comment[0].split('\n');
    // Strip `/**`, `*/` and each line's leading `   * `; remember how much went, for columns.
    const prefix = [];
    const lines = raw.map((line, k) => {
      let body = line;
      if (k === raw.length - 1) body = body.replace(/\s*\*\/$/, '');
      const match = k === 0 ? /^\s*\/\*\*\s?/.exec(body) : (/^\s*\*(?!\/) ?/.exec(body) ?? /^\s*/.exec(body));
      prefix.push(match[0].length);
      return body.slice(match[0].length);
    });
    for (let k = 0; k < lines.length; k++) {
      if (!/^@example\b/.test(lines[k].trim())) continue;
      // The example runs to the next tag or the end of the comment.
      let end = k + 1;
      while (end < lines.length && !/^@\w/.test(lines[end].trim())) end++;
      const found = fences(lines, k + 1, end);
      if (!found.some((fence) => fence.info.split(/\s+/)[0] === 'ts')) {
        fail(`${source}:${firstLine + k}`, '@example without a ```ts fence');
      }
      for (const fence of found)
        addBlock(
          source,
          fence,
          (i) => firstLine + i,
          (i) => prefix[i],
        );
      k = end - 1;
    }
  }
}

function librarySources(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return librarySources(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
    });
}

const sources = args.files.length > 0 ? args.files : [join(root, 'README.md'), join(root, 'docs', 'API.md'), ...librarySources(join(root, 'lib'))];
for (const file of sources) {
  if (!existsSync(file) || !statSync(file).isFile()) usage(`no such file: ${file}`);
  if (args.only && !display(file).includes(args.only)) continue;
  if (/\.(md|markdown)$/i.test(file)) extractMarkdown(file);
  else if (/\.[cm]?tsx?$/.test(file)) extractJsdoc(file);
  else usage(`not a markdown or TypeScript file: ${file}`);
}
if (blocks.length === 0 && failures.length === 0) usage(`no \`\`\`ts block found${args.only ? ` in a source matching ${args.only}` : ''}`);

// ---- imports: the published package only -----------------------------------------------------

/** 1-based line of `index` in `code`. */
const lineAt = (code, index) => code.slice(0, index).split('\n').length;
const where = (block, line, column = 1) => `${block.source}:${block.line + line - 1}:${column + (block.columns[line - 1] ?? 0)}`;

const SPECIFIERS = [
  /\b(?:import|export)\s+(?:type\s+)?[\w$*{}\s,]*?\s*from\s*(['"])([^'"]+)\1/g,
  /\bimport\s*(['"])([^'"]+)\1/g,
  /\bimport\s*\(\s*(['"])([^'"]+)\1/g,
  /\brequire\s*\(\s*(['"])([^'"]+)\1/g,
];
for (const block of blocks) {
  for (const pattern of SPECIFIERS) {
    for (const match of block.code.matchAll(pattern)) {
      const specifier = match[2];
      const bad =
        /^(\.|\/|file:)/.test(specifier) ||
        /(^|\/)(lib|dist|src)(\/|$)/.test(specifier) ||
        /\.[cm]?ts$/.test(specifier) ||
        (/^supervise(\/|$)/.test(specifier) && specifier !== 'supervise' && specifier !== 'supervise/testing');
      if (bad) {
        fail(
          where(block, lineAt(block.code, match.index)),
          `imports '${specifier}': examples import the published package, 'supervise' or 'supervise/testing', never a source file`,
        );
      }
    }
  }
}

// ---- the package's exported names, for fragments ------------------------------------------------

/** Every name a .d.ts module exports, following `export * from` (as spec/docs.test.ts reads them). */
function exportedNames(file, seen = new Set()) {
  const names = new Set();
  if (seen.has(file) || !existsSync(file)) return names;
  seen.add(file);
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  for (const [, list] of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of list.split(',')) {
      const name = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()
        .trim();
      if (name !== '') names.add(name);
    }
  }
  for (const [, name] of text.matchAll(
    /export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|function|const|let|var|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/g,
  ))
    names.add(name);
  for (const [, from] of text.matchAll(/export\s+\*\s+from\s+['"]([^'"]+)['"]/g)) {
    for (const name of exportedNames(resolve(dirname(file), from.replace(/\.js$/, '.d.ts')), seen)) names.add(name);
  }
  return names;
}
const mainExports = exportedNames(join(args.dist, 'index.d.ts'));
const testingExports = [...exportedNames(join(args.dist, 'testing.d.ts'))].filter((name) => !mainExports.has(name));

/** The names a block declares at any level (imports, declarations, destructured bindings): never auto-imported. */
function declaredNames(code) {
  const names = new Set();
  for (const [, clause] of code.matchAll(/\bimport\s+(?:type\s+)?([^'";]*?)\s+from\s*['"]/g)) {
    for (const part of clause.replace(/[{}]/g, ',').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .replace(/^\*\s+as\s+/, '')
        .split(/\s+as\s+/)
        .pop()
        .trim();
      if (/^[A-Za-z_$][\w$]*$/.test(name)) names.add(name);
    }
  }
  for (const [, name] of code.matchAll(/\b(?:const|let|var|function\*?|class|interface|type|enum|using)\s+([A-Za-z_$][\w$]*)/g)) names.add(name);
  for (const [, pattern] of code.matchAll(/\b(?:const|let|var)\s+([{[][^=]*?[}\]])\s*=/g)) {
    for (const [, name] of pattern.matchAll(/(?:^|[{[,:]\s*|\.\.\.)([A-Za-z_$][\w$]*)\s*(?=[,}\]=]|$)/g)) names.add(name);
  }
  return names;
}

/** Identifiers a block uses outside comments, strings and property names. */
function usedNames(code) {
  const bare = code
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
  return new Set([...bare.matchAll(/(?<![.\w$])([A-Za-z_$][\w$]*)/g)].map((match) => match[1]));
}

function autoImports(code) {
  const used = usedNames(code);
  const declared = declaredNames(code);
  const pick = (names) => [...names].filter((name) => used.has(name) && !declared.has(name)).sort();
  const lines = [];
  const main = pick(mainExports);
  const testing = pick(testingExports);
  if (main.length > 0) lines.push(`import { ${main.join(', ')} } from 'supervise';`);
  if (testing.length > 0) lines.push(`import { ${testing.join(', ')} } from 'supervise/testing';`);
  return lines;
}

// ---- compile ------------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'supervise-doctest-'));
/** Programs running now, stopped with their process groups if this script is interrupted. */
const running = new Set();
const cleanup = () => {
  for (const child of running) killGroup(child);
  if (args.keep) console.log(`doctest: kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

// Run time: node_modules/supervise is a package whose exports map to the chosen build's JS, and every
// dev dependency of the repository is linked next to it. The JS is the build's bundle (dist/bundle
// beside dist/lib: what the published package's exports point at) when it has one, else the files
// of the chosen directory (a dist-esnext build has no bundle).
const bundle = join(args.dist, '..', 'bundle');
const runtime = ['index.js', 'testing.js', 'shared.js'].every((file) => existsSync(join(bundle, file))) ? bundle : args.dist;
const modules = join(tmp, 'node_modules');
mkdirSync(join(modules, 'supervise'), { recursive: true });
writeFileSync(
  join(modules, 'supervise', 'package.json'),
  JSON.stringify({ name: 'supervise', type: 'module', exports: { '.': './js/index.js', './testing': './js/testing.js' } }),
);
symlinkSync(runtime, join(modules, 'supervise', 'js'), 'dir');
for (const entry of readdirSync(join(root, 'node_modules'))) {
  if (entry.startsWith('.') || entry === 'supervise') continue;
  symlinkSync(join(root, 'node_modules', entry), join(modules, entry), 'dir');
}

const srcDir = join(tmp, 'src');
const fragDir = join(tmp, 'fragments');
const outDir = join(tmp, 'out');
mkdirSync(srcDir);
mkdirSync(fragDir);
blocks.forEach((block, i) => {
  block.name = `block${String(i + 1).padStart(3, '0')}`;
  writeFileSync(join(srcDir, `${block.name}.mts`), `${block.code}\n`);
});

const compilerOptions = {
  target: 'ES2022',
  lib: ['ES2022', 'esnext.disposable'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  moduleDetection: 'force',
  strict: true,
  types: ['node'],
  typeRoots: [join(root, 'node_modules', '@types')],
  skipLibCheck: true,
  paths: { supervise: [join(args.dist, 'index.d.ts')], 'supervise/testing': [join(args.dist, 'testing.d.ts')] },
};

function tsc(config) {
  const file = join(tmp, config.name);
  writeFileSync(file, JSON.stringify({ compilerOptions: config.compilerOptions, files: config.files }, null, 2));
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [tscBin, '-p', file, '--pretty', 'false'], { cwd: tmp, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolvePromise({ code: error ? error.code : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** tsc's diagnostics, `file(line,col): error TSn: message` plus indented continuation lines. */
function parseDiagnostics(output) {
  const diagnostics = [];
  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/.exec(line);
    if (match) diagnostics.push({ file: resolve(tmp, match[1]), line: Number(match[2]), column: Number(match[3]), code: match[5], message: match[6] });
    else if (/^\s+\S/.test(line) && diagnostics.length > 0) diagnostics.at(-1).message += `\n    ${line.trim()}`;
    else if (line.trim() !== '') diagnostics.push({ file: undefined, line: 0, column: 0, code: '', message: line.trim() });
  }
  return diagnostics;
}

const byFile = new Map(blocks.map((block) => [block.name, block]));
const blockOf = (file) =>
  file && (dirname(file) === srcDir || dirname(file) === fragDir) ? byFile.get(file.slice(dirname(file).length + 1).replace(/\.mts$/, '')) : undefined;

function report(diagnostic) {
  const block = blockOf(diagnostic.file);
  if (!block) {
    const at = diagnostic.file ? `${display(diagnostic.file)}:${diagnostic.line}:${diagnostic.column}` : 'tsc';
    return fail(at, `${diagnostic.code ? `${diagnostic.code} ` : ''}${diagnostic.message}`);
  }
  const codeLines = block.code.split('\n');
  if (diagnostic.line > codeLines.length) {
    // The auto-import appended to a fragment.
    return fail(
      `${block.source}:${block.line}`,
      `${diagnostic.code} ${diagnostic.message}\n    (in the import of the package's names the checker adds to a fragment: import them explicitly instead)`,
    );
  }
  const text = codeLines[diagnostic.line - 1];
  fail(where(block, diagnostic.line, diagnostic.column), `${diagnostic.code} ${diagnostic.message}\n    | ${text}`);
}

const started = performance.now();
// Pass 1: every block on its own, emitting JS (with source maps, for the stacks of failed runs).
const first = await tsc({
  name: 'tsconfig.blocks.json',
  compilerOptions: { ...compilerOptions, outDir, rootDir: srcDir, sourceMap: true, noEmitOnError: false },
  files: blocks.map((block) => join(srcDir, `${block.name}.mts`)),
});
const firstDiagnostics = parseDiagnostics(first.output);
const unplaced = firstDiagnostics.filter((diagnostic) => !blockOf(diagnostic.file));
for (const diagnostic of unplaced) report(diagnostic);
const dirty = new Set(firstDiagnostics.map((diagnostic) => blockOf(diagnostic.file)).filter(Boolean));
if (first.code !== 0 && firstDiagnostics.length === 0) fail('tsc', `exited with code ${first.code}:\n${first.output}`);

// Pass 2: the fragments, with the prelude and the package's names in scope.
const fragments = blocks.filter((block) => dirty.has(block));
for (const block of fragments) {
  writeFileSync(join(fragDir, `${block.name}.mts`), [block.code, ...autoImports(block.code)].join('\n') + '\n');
}
if (fragments.length > 0) {
  const second = await tsc({
    name: 'tsconfig.fragments.json',
    compilerOptions: { ...compilerOptions, noEmit: true },
    files: [prelude, ...fragments.map((block) => join(fragDir, `${block.name}.mts`))],
  });
  const diagnostics = parseDiagnostics(second.output);
  for (const diagnostic of diagnostics) report(diagnostic);
  if (second.code !== 0 && diagnostics.length === 0) fail('tsc', `exited with code ${second.code}:\n${second.output}`);
}
const checkMs = performance.now() - started;

// ---- run the programs ---------------------------------------------------------------------------

const programs = blocks.filter((block) => !dirty.has(block) && !block.flags.includes('no_run'));
const noRun = blocks.filter((block) => !dirty.has(block) && block.flags.includes('no_run'));

/** Replaces temp-file locations in a run's output by the block's source location. */
function relocate(block, text) {
  const file = join(srcDir, `${block.name}.mts`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text
    .replace(new RegExp(`(?:file://)?${file}:(\\d+)(?::(\\d+))?`, 'g'), (_, line, column) => where(block, Number(line), Number(column ?? 1)))
    .replace(new RegExp(`(?:file://)?${join(outDir, `${block.name}.mjs`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g'), `${block.source} (compiled)`);
}

/** Kills what is left of a program's process group (its children too: forks, cluster workers). */
function killGroup(child) {
  try {
    if (process.platform === 'win32') child.kill('SIGKILL');
    else process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function runProgram(block) {
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    const env = { ...process.env };
    delete env.NODE_V8_COVERAGE; // a program's coverage is not the library's tests'
    const child = spawn(process.execPath, ['--enable-source-maps', join(outDir, `${block.name}.mjs`)], {
      cwd: tmp,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32', // its own process group, so the guard can stop all of it
    });
    running.add(child);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let timedOut = false;
    let exit;
    const guard = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, args.timeout);
    child.on('exit', (code, signal) => {
      exit ??= { code, signal };
      killGroup(child); // a program that exited leaves nothing running behind it
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      running.delete(child);
      ({ code, signal } = exit ?? { code, signal });
      const ms = Math.round(performance.now() - t0);
      const shown = relocate(block, output).trimEnd().split('\n');
      if (code === 0 && !timedOut) {
        if (args.verbose)
          console.log(`doctest: ${block.source}:${block.line} ran in ${ms} ms${output.trim() ? `:\n${shown.map((line) => `    > ${line}`).join('\n')}` : ''}`);
        return resolvePromise(ms);
      }
      const why = timedOut
        ? `did not exit within ${args.timeout} ms (mark it \`\`\`ts no_run if it must run for ever)`
        : signal
          ? `was killed by ${signal}`
          : `exited with code ${code}`;
      const limit = 25;
      const head = shown.slice(0, limit).map((line) => `    > ${line}`);
      if (shown.length > limit) head.push(`    > … ${shown.length - limit} more lines (--verbose shows passing programs' output; --keep keeps ${tmp})`);
      fail(`${block.source}:${block.line}`, `the program ${why}${output.trim() ? `; its output:\n${head.join('\n')}` : ''}`);
      resolvePromise(ms);
    });
  });
}

if (args.list) {
  for (const block of blocks) {
    const kind = dirty.has(block) ? 'fragment' : block.flags.includes('no_run') ? 'no_run' : 'program';
    console.log(`doctest: ${`${block.source}:${block.line}`.padEnd(36)} ${kind.padEnd(8)} ${block.name}`);
  }
}

const runStarted = performance.now();
const queue = [...programs];
await Promise.all(
  Array.from({ length: Math.max(1, Math.min(4, availableParallelism())) }, async () => {
    while (queue.length > 0) await runProgram(queue.shift());
  }),
);
const runMs = performance.now() - runStarted;

// ---- summary ------------------------------------------------------------------------------------

const perSource = new Map();
for (const block of blocks) {
  const counts = perSource.get(block.source) ?? { checked: 0, run: 0, noRun: 0, fragments: 0 };
  counts.checked++;
  if (dirty.has(block)) counts.fragments++;
  else if (block.flags.includes('no_run')) counts.noRun++;
  else counts.run++;
  perSource.set(block.source, counts);
}
const width = Math.max(...[...perSource.keys()].map((source) => source.length), 6);
console.log(`doctest: ${'source'.padEnd(width)}  checked  run  no_run  fragments`);
for (const [source, counts] of perSource) {
  console.log(
    `doctest: ${source.padEnd(width)}  ${String(counts.checked).padStart(7)}  ${String(counts.run).padStart(3)}  ${String(counts.noRun).padStart(6)}  ${String(counts.fragments).padStart(9)}`,
  );
}
console.log(
  `doctest: ${blocks.length} blocks type-checked against ${display(args.dist)} in ${Math.round(checkMs)} ms; ` +
    `${programs.length} programs run in ${Math.round(runMs)} ms, ${noRun.length} no_run, ${fragments.length} fragments; they import ${display(runtime)}`,
);
if (failures.length > 0) {
  const text = failures.sort(byLocation).map(({ where, message }) => `${where}: ${message}`);
  console.error(`\n${text.join('\n\n')}\n\ndoctest: ${failures.length} failure${failures.length === 1 ? '' : 's'}`);
  process.exitCode = 1;
}
