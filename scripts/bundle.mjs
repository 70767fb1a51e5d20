#!/usr/bin/env node
// What `import 'supervise'` loads: lib/index.ts and lib/testing.ts bundled as ESM into dist/bundle/,
// which package.json's `exports` point at (the declarations stay tsc's, in dist/lib/). `npm run build`
// runs it after tsc; the specs keep importing tsc's dist/lib/*.js, file by file.
//
// Why a bundle: Node 20 pays for every ESM file it loads (resolve, read, compile, link), and lib/ is
// about fifty of them; three files cost a fraction of that (benchmarks/import.mjs measures it).
//
// One module state: code splitting puts every module both entries use (the signal registry, the ids,
// the spawn clock, the Supervisor class itself) into one shared chunk that both import, so
// `simulateSignal` from 'supervise/testing' reaches a Supervisor made from 'supervise'. A build that
// gives either entry a copy of its own fails here, as does any change in the set of files.
//
//   node scripts/bundle.mjs            bundle into dist/bundle/ (after tsc, which checks the types)
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, transform } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

rmSync(outdir, { recursive: true, force: true });
const { metafile, outputFiles } = await build({
  absWorkingDir: root,
  entryPoints: { index: 'lib/index.ts', testing: 'lib/testing.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // package.json's engines: what Node 20.19 runs natively (class fields, private methods) stays as written.
  target: 'node20.19',
  // One shared chunk by construction (two entries make at most one set that both share): a fixed
  // name, so that the tarball's file list is known.
  chunkNames: 'shared',
  // Without lib/'s comments, which are for its readers, not for Node to scan at every start (a
  // fifth of the bytes): whitespace minification drops them, and the transform below lays the code
  // out again. Identifiers and syntax stay as written: the bundle reads as the source does.
  minifyWhitespace: true,
  legalComments: 'none',
  // ASCII (esbuild escapes the rest): a source with one non-ASCII character is a two-byte string
  // for V8, twice the memory and a slower decode.
  charset: 'ascii',
  metafile: true,
  write: false,
  logLevel: 'warning',
});
mkdirSync(outdir, { recursive: true });
for (const file of outputFiles) {
  const { code } = await transform(file.text, { loader: 'js', target: 'node20.19', charset: 'ascii' });
  writeFileSync(file.path, keepFunctionNames(keepClassNames(code)));
}

/**
 * A bundled class that refers to itself becomes `var Supervisor = class _Supervisor {...}`, whose
 * name is `_Supervisor` (in `inspect`, in error messages). esbuild's `keepNames` mends it with a
 * `defineProperty` per function and class at load: measured, about a tenth of the import. Naming
 * the class expression as its variable costs nothing, and means the same: inside the class body
 * the name is the class either way, and `_Supervisor` is esbuild's, used nowhere else.
 */
/**
 * Two modules' top-level names that collide in the one scope of a bundle are renamed: a function
 * declared `SuppressedError` becomes `SuppressedError2`, and `SuppressedError.name` would say so.
 * Each such function declared in lib/ gets its name back with one `defineProperty` after its body
 * (esbuild's top-level functions end with a `}` of their own at the start of a line).
 */
function keepFunctionNames(code) {
  const declared = new Set(
    readdirSync(join(root, 'lib'))
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        [...readFileSync(join(root, 'lib', file), 'utf8').matchAll(/^(?:export )?(?:async )?function\*? ?(\w+)\(/gm)].map((match) => match[1]),
      ),
  );
  return code.replace(/^(?:async )?function\*? ?((\w+?)\d+)\([\s\S]*?\n\}\n/gm, (whole, renamed, name) =>
    declared.has(name) && !declared.has(renamed) ? `${whole}Object.defineProperty(${renamed}, "name", { value: ${JSON.stringify(name)} });\n` : whole,
  );
}

function keepClassNames(code) {
  let mended = code;
  for (const [, name] of code.matchAll(/\bvar (\w+) = class _\1\b/g)) mended = mended.replace(new RegExp(`\\b_${name}\\b`, 'g'), name);
  return mended;
}

const outputs = Object.keys(metafile.outputs)
  .map((path) => path.slice('dist/bundle/'.length))
  .sort();
const expected = ['index.js', 'shared.js', 'testing.js'];
if (JSON.stringify(outputs) !== JSON.stringify(expected)) fail(`the bundle is ${outputs.join(', ')}; expected ${expected.join(', ')}`);

for (const entry of ['index.js', 'testing.js']) {
  const imports = metafile.outputs[`dist/bundle/${entry}`].imports.filter((found) => !found.external).map((found) => found.path);
  if (!imports.includes('dist/bundle/shared.js')) fail(`${entry} does not import the shared chunk: it would carry its own module state`);
}

// Every lib/ module once, in one output: a module in two outputs would be two module states.
const owners = new Map();
for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
  for (const input of Object.keys(inputs)) owners.set(input, [...(owners.get(input) ?? []), output]);
}
for (const [input, outputsOf] of owners) if (outputsOf.length > 1) fail(`${input} is in ${outputsOf.join(' and ')}`);

// What only some paths need is fetched lazily (lib/builtins.ts): a static import of one of these
// would be paid by every process at startup.
const lazy = ['node:cluster', 'node:os', 'node:timers/promises', 'node:child_process', 'node:net', 'node:http'];
for (const entry of ['index.js', 'shared.js']) {
  const source = readFileSync(join(outdir, entry), 'utf8');
  for (const id of lazy) if (source.includes(`from "${id}"`)) fail(`${entry} imports ${id} statically; fetch it with builtin() (lib/builtins.ts)`);
}

// The same exports as tsc's files, each of the same kind and name.
for (const entry of ['index', 'testing']) {
  const bundled = await import(pathToFileURL(join(outdir, `${entry}.js`)).href);
  const compiled = await import(pathToFileURL(join(root, 'dist', 'lib', `${entry}.js`)).href);
  const describe = (module) => Object.keys(module).map((key) => `${key}: ${typeof module[key]} ${typeof module[key] === 'function' ? module[key].name : ''}`);
  const [want, got] = [describe(compiled), describe(bundled)];
  const differ = [...want.filter((line) => !got.includes(line)), ...got.filter((line) => !want.includes(line))];
  if (differ.length > 0) fail(`dist/bundle/${entry}.js and dist/lib/${entry}.js differ: ${differ.join('; ')}`);
}

function fail(message) {
  console.error(`bundle: ${message}`);
  process.exit(1);
}
