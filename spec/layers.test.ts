// The house rule of lib/: layers point one way. Every import between lib/ files, type-only imports
// included, goes from a higher layer to a lower one, so the files can be ordered in layers and no
// file depends, however indirectly, on one that depends on it. Read from the sources themselves.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';

const lib = new URL('../../lib/', import.meta.url);
const files = readdirSync(lib).filter((file) => file.endsWith('.ts'));

/** The lib/ files `file` imports (value and type imports, and re-exports alike). */
function importsOf(file: string): string[] {
  // Comments out first: an `@example` may show an import, which is not one of the file's.
  const source = readFileSync(new URL(file, lib), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const found = new Set<string>();
  for (const [, target] of source.matchAll(/(?:import|export)\s[^;]*?from\s+'\.\/([\w-]+)\.js'/g)) found.add(`${target}.ts`);
  return [...found];
}

const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** The files in layers, lowest first: each imports only from layers below it. Throws on a cycle, naming it. */
function layers(): string[][] {
  const layerOf = new Map<string, number>();
  const visiting: string[] = [];
  const visit = (file: string): number => {
    const known = layerOf.get(file);
    if (known !== undefined) return known;
    const at = visiting.indexOf(file);
    if (at >= 0) throw new Error(`import cycle: ${[...visiting.slice(at), file].join(' -> ')}`);
    visiting.push(file);
    let layer = 0;
    for (const target of graph.get(file) ?? []) layer = Math.max(layer, visit(target) + 1);
    visiting.pop();
    layerOf.set(file, layer);
    return layer;
  };
  for (const file of files) visit(file);
  const result: string[][] = [];
  for (const [file, layer] of layerOf) (result[layer] ??= []).push(file);
  return result;
}

describe('lib/ layers', () => {
  it('has no import cycle, type-only imports included: every file sits above all it imports', () => {
    const ordered = layers();
    assert.ok(ordered.length > 3, 'layers found');
    // The entry points on top: what users import, and what no file of lib/ imports.
    const imported = new Set([...graph.values()].flat());
    assert.deepEqual([...graph.keys()].filter((file) => !imported.has(file)).sort(), ['index.ts', 'testing.ts']);
    assert.ok(ordered.at(-1)?.includes('testing.ts'));
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    graph.set('task.ts', [...(graph.get('task.ts') ?? []), 'supervisor.ts']);
    try {
      assert.throws(() => layers(), /import cycle: .*supervisor\.ts.*task\.ts|import cycle: .*task\.ts.*supervisor\.ts/);
    } finally {
      graph.set('task.ts', importsOf('task.ts'));
    }
  });

  it('keeps the modules below the class away from it: they take the SupervisorCore interface', () => {
    const below = [
      'shutdown.ts',
      'failure-policy.ts',
      'task-tree.ts',
      'root-listener.ts',
      'stuck-report.ts',
      'registry.ts',
      'restart.ts',
      'restart-strategy.ts',
      'messages.ts',
      'lifecycle.ts',
    ];
    for (const file of below) assert.ok(!graph.get(file)?.includes('supervisor.ts'), `${file} imports supervisor.ts`);
  });
});
