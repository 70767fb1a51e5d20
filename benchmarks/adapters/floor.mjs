// The floor: a Set of { AbortController, promise }; shutdown calls `abort()` on each (a new
// AbortError per task) and awaits `Promise.allSettled`.
import { signalFloor } from '../lib/floor.mjs';

export const name = 'floor';
export const describe = 'hand-written: `Set` of `{ AbortController, promise }`, `abort()` each (a new reason per task), `Promise.allSettled`';
export const mode = 'signal';

export function create(env) {
  return signalFloor(env, { sharedReason: false });
}
