/**
 * The checks every options object goes through, so that bad input is a clear, typed error at
 * the call that passed it: unknown keys (naming the closest known one, since a typo such as
 * `idleGrase` would otherwise be ignored without a word) and millisecond values.
 *
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { maxTimeoutMs } from './long-timeout.js';

/** @internal Checks that `options` is an object, for `call`: an options argument of any other type is a caller's mistake. */
export function checkOptionsObject(options: unknown, call: string): asserts options is object {
  if (typeof options !== 'object' || options === null) throw invalidArgType(`${call}: options`, 'an object', options);
}

/** @internal Checks a timeout in milliseconds: 0 to 2^31 - 1, or Infinity for no deadline. */
export function checkTimeout<F extends number | undefined>(value: unknown, fallback: F, what = 'options.shutdownTimeout'): number | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(what, 'a number of milliseconds', value);
  if (value === Infinity) return value;
  if (!(value >= 0 && value <= maxTimeoutMs)) throw outOfRange(what, `>= 0 and <= ${maxTimeoutMs} (or Infinity)`, value);
  return value;
}

/** @internal `checkTimeout` for a wait that must end: Infinity is refused, and the message does not offer it. */
export function checkFiniteMs(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(what, 'a number of milliseconds', value);
  if (!(value >= 0 && value <= maxTimeoutMs)) throw outOfRange(what, `>= 0 and <= ${maxTimeoutMs}`, value);
  return value;
}

/**
 * @internal Checks a restart limit, `spawn`'s or a supervisor's `maxRestarts`: an integer >= 0,
 * or Infinity for none.
 */
export function checkMaxRestarts(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(what, 'a number', value);
  if (value !== Infinity && !(Number.isInteger(value) && value >= 0)) throw outOfRange(what, 'an integer >= 0, or Infinity', value);
  return value;
}

/** @internal Checks the window a restart limit is counted in, `within`: milliseconds > 0, or Infinity. */
export function checkWithin(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(what, 'a number of milliseconds', value);
  // One message for 0, -1 and NaN alike: the window must hold at least one restart.
  if (value !== Infinity && !(value > 0 && value <= maxTimeoutMs)) throw outOfRange(what, `> 0 and <= ${maxTimeoutMs} (or Infinity)`, value);
  return value;
}

/** @internal Refuses keys an options object does not know, naming the closest known one. */
export function checkKnownKeys(options: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = closestName(key, known);
    throw invalidArgValue(`${what}.${key}`, `one of the known options (${known.join(', ')})${closest ? `; did you mean ${closest}?` : ''}`, key);
  }
}

/** The known name at the smallest edit distance from `name`, if it is close enough to be a typo. */
function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) (best = candidate), (bestDistance = distance);
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
