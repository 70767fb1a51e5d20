// The no-signal floor: a Set of promises; tasks take no parameter and wait on one shared promise
// released as shutdown begins; shutdown awaits `Promise.allSettled`.
import { noSignalFloor } from '../lib/floor.mjs';

export const name = 'floor-nosignal';
export const describe = 'hand-written: `Set` of promises; no-parameter tasks wait on one shared promise; `Promise.allSettled`';
export const mode = 'nosignal';

export function create(env) {
  return noSignalFloor(env);
}
