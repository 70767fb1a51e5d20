// Which explicit-resource-management built-ins the package exports, by Node major: the runtime's own
// on Node 24 and later, the ponyfill on Node 20 and 22. The matrix (scripts/matrix.mjs) runs this file
// on every supported major, so a Node release that adds or drops them is noticed here first. Also
// checks that this build of the tests is what it claims: `await using` native in dist-esnext (target
// ESNext, run on Node 24+), down-levelled by TypeScript in dist (target ES2022).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as api from '../lib/index.js';
import { AsyncDisposableStackPonyfill, DisposableStackPonyfill, SuppressedErrorPonyfill, nativeDisposables } from '../lib/ponyfill.js';

const major = Number(process.versions.node.split('.')[0]);
const globals = globalThis as Partial<Record<'AsyncDisposableStack' | 'DisposableStack' | 'SuppressedError', unknown>>;
const names = ['AsyncDisposableStack', 'DisposableStack', 'SuppressedError'] as const;
const ponyfills = {
  AsyncDisposableStack: AsyncDisposableStackPonyfill,
  DisposableStack: DisposableStackPonyfill,
  SuppressedError: SuppressedErrorPonyfill,
};

describe(`explicit resource management exports on Node ${process.versions.node}`, () => {
  if (major >= 24) {
    it('are the native constructors (Node 24+)', () => {
      assert.equal(nativeDisposables, true);
      for (const name of names) {
        assert.equal(typeof globals[name], 'function', `Node ${major} has a global ${name}`);
        assert.equal(api[name], globals[name], `${name} is the native one`);
        assert.notEqual(api[name], ponyfills[name]);
        assert.match(Function.prototype.toString.call(api[name]), /\[native code\]/);
      }
    });
  } else {
    it('are the ponyfill (Node 20 and 22), and globals are left alone', () => {
      assert.equal(nativeDisposables, false);
      for (const name of names) {
        assert.equal(globals[name], undefined, `Node ${major} has no global ${name}`);
        assert.equal(api[name], ponyfills[name], `${name} is the ponyfill`);
      }
    });
  }

  it('throw errors that are instances of the exported SuppressedError', () => {
    const stack = new api.DisposableStack();
    stack.defer(() => {
      throw new Error('first registered, disposed last');
    });
    stack.defer(() => {
      throw new Error('disposed first');
    });
    assert.throws(
      () => stack.dispose(),
      (error: unknown) => error instanceof api.SuppressedError && api.isSuppressedError(error),
    );
  });
});

describe('this build of the tests', () => {
  const esnext = new URL('..', import.meta.url).pathname.replace(/\/$/, '').endsWith('/dist-esnext');
  const example = readFileSync(new URL('../examples/readme.js', import.meta.url), 'utf8');
  const spec = readFileSync(new URL('./supervisor.test.js', import.meta.url), 'utf8');

  if (esnext) {
    it('keeps `await using` native (target ESNext)', () => {
      assert.ok(major >= 24, `the esnext build needs Node 24+, not ${process.versions.node}`);
      assert.match(example, /^await using sup = new Supervisor\(\);/m);
      assert.match(spec, /^\s*await using /m);
      assert.doesNotMatch(example + spec, /__addDisposableResource/);
    });
  } else {
    it('down-levels `await using` (target ES2022), so it runs on Node 20 and 22', () => {
      assert.doesNotMatch(example, /^\s*await using /m);
      assert.match(example, /__addDisposableResource/);
      assert.doesNotMatch(spec, /^\s*await using /m);
    });
  }
});
