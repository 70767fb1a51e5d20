// The published declarations are the reference documentation: nothing internal may show in them,
// so autocomplete on `sup.` lists the public API only (tsconfig's stripInternal drops every
// member marked @internal; this keeps it that way).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';

const libDir = new URL('../lib/', import.meta.url);
const declarations = readdirSync(libDir).filter((file) => file.endsWith('.d.ts'));

describe('the published .d.ts files', () => {
  it('exist for every module', () => {
    assert.ok(declarations.includes('index.d.ts') && declarations.includes('supervisor.d.ts') && declarations.includes('testing.d.ts'));
  });

  it('have no underscore or @internal members, nor the internal calls between classes', () => {
    const leaks: string[] = [];
    for (const file of declarations) {
      readFileSync(new URL(file, libDir), 'utf8')
        .split('\n')
        .forEach((line, index) => {
          // `var _a` / `export { _a as with }` is how TypeScript declares `closeServer.with`.
          if (
            /^\s+(?:readonly |static |get |set )*_\w*[?(:]/.test(line) ||
            /@internal/.test(line) ||
            /\b(?:taskSettled|receiveSignal|receiveDump|exitNow)\(/.test(line)
          ) {
            leaks.push(`${file}:${index + 1}: ${line.trim()}`);
          }
        });
    }
    assert.deepEqual(leaks, []);
  });
});
