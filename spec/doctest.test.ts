// scripts/doctest.mjs, the checker of the documentation's examples (`npm run test:docs`), can fail:
// on fixtures written here, against this build's declarations (dist/lib or dist-esnext/lib), it
// passes good blocks (a program it runs, a no_run program it does not, a fragment, a JSDoc example)
// and fails each kind of bad one at its source location: a type error in a fragment, a type error in
// a JSDoc example (line and column mapped through the ` * ` prefix), a program that throws, one that
// hangs, an import of a source file and an unknown fence flag.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { needs } from './helpers.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const script = join(repo, 'scripts', 'doctest.mjs');
const dist = fileURLToPath(new URL('../lib/', import.meta.url));
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_V8_COVERAGE'));
const fence = '```';

interface Result {
  readonly code: number | null;
  readonly output: string;
}

function doctest(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, `--dist=${dist}`, ...args], { cwd: repo, env, timeout: 120_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(Object.assign(error, { stdout, stderr }));
      else resolve({ code: error ? (error.code as number) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('scripts/doctest.mjs', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'supervise-doctest-spec-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes good blocks: runs a program, not a no_run one, and checks a fragment with the prelude', async () => {
    const markdown = file(
      'good.md',
      [
        '# Good',
        '',
        `${fence}ts`,
        "import { Supervisor } from 'supervise';",
        'const sup = new Supervisor({ signals: false });',
        "sup.spawn((signal) => new Promise((resolve) => signal.addEventListener('abort', resolve)), { name: 'waiter' });",
        'const report = await sup.shutdown();',
        "console.log('program ran, exit code', report.exitCode);",
        fence,
        '',
        `${fence}ts no_run`,
        "import { setTimeout as sleep } from 'node:timers/promises';",
        'await sleep(10 * 60_000);   // would outlast the hang guard: only type-checked',
        fence,
        '',
        `${fence}ts`,
        "sup.spawn(work, { name: 'fragment', restart: 'on-failure' });   // sup and work: the prelude's",
        fence,
        '',
        `${fence}js`,
        'not checked {{{',
        fence,
        '',
      ].join('\n'),
    );
    const source = file(
      'good.ts',
      [
        '/**',
        ' * A constant.',
        ' *',
        ' * @example',
        ' * ```ts',
        " * import { SuppressedError } from 'supervise';",
        " * console.log('jsdoc ran', new SuppressedError(1, 2).name);",
        ' * ```',
        ' */',
        'export const constant = 1;',
        '',
      ].join('\n'),
    );
    const { code, output } = await doctest('--verbose', '--timeout=20000', markdown, source);
    assert.equal(code, 0, output);
    assert.match(output, /program ran, exit code 0/);
    assert.match(output, /jsdoc ran SuppressedError/);
    assert.match(output, /4 blocks type-checked .*; 2 programs run in \d+ ms, 1 no_run, 1 fragments/);
  });

  it('fails each kind of bad block, at its source location', { skip: needs('sourceMappedStacks') }, async () => {
    const markdown = file(
      'bad.md',
      [
        '# Bad', //                                                    1
        '', //                                                         2
        `${fence}ts`, //                                               3
        'sup.spawn(42);', //                                           4: not a function
        fence, //                                                      5
        `${fence}ts`, //                                               6
        "import { Supervisor } from 'supervise';", //                  7
        'throw new Error(`boom from ${Supervisor.name}`);', //          8: a program that fails
        fence, //                                                      9
        `${fence}ts`, //                                               10
        "import { setTimeout as sleep } from 'node:timers/promises';", // 11
        'await sleep(10 * 60_000);', //                                12: a program that hangs
        fence, //                                                      13
        `${fence}ts`, //                                               14
        "import { Supervisor } from '../lib/supervisor.js';", //       15: a source file
        'new Supervisor();', //                                        16
        fence, //                                                      17
        `${fence}ts norun`, //                                         18: a typo
        'sup.size;', //                                                19
        fence, //                                                      20
        '',
      ].join('\n'),
    );
    const source = file(
      'bad.ts',
      [
        '/**', //                                  1
        ' * A constant.', //                       2
        ' *', //                                   3
        ' * @example', //                          4
        ' * ```ts', //                             5
        ' * const name: number = sup.name;', //    6: a string
        ' * ```', //                               7
        ' */', //                                  8
        'export const constant = 1;', //           9
        '',
      ].join('\n'),
    );
    const { code, output } = await doctest('--timeout=3000', markdown, source);
    assert.equal(code, 1, output);
    const at = (name: string, location: string) => `${join(dir, name)}:${location}`;
    assert.ok(output.includes(`${at('bad.md', '4:11')}: TS2345`), `the fragment's type error at bad.md:4:11\n${output}`);
    assert.ok(output.includes(`${at('bad.ts', '6:10')}: TS2322`), `the JSDoc example's type error at bad.ts:6:10\n${output}`);
    assert.ok(output.includes(`${at('bad.md', '7')}: the program exited with code 1`), output);
    assert.ok(output.includes('boom from Supervisor'), output);
    assert.ok(output.includes(at('bad.md', '8:7')), `the stack points into bad.md\n${output}`);
    assert.ok(output.includes(`${at('bad.md', '11')}: the program did not exit within 3000 ms`), output);
    assert.ok(output.includes(`${at('bad.md', '15:1')}: imports '../lib/supervisor.js'`), output);
    assert.ok(output.includes(`${at('bad.md', '18')}: unknown fence flag norun`), output);
    assert.match(output, /doctest: 7 failures/); // and TS2307 for the source file's import
  });

  it('refuses to check nothing', async () => {
    const { code, output } = await doctest(file('empty.md', '# No code here\n'));
    assert.equal(code, 2, output);
    assert.match(output, /no ```ts block found/);
  });
});
