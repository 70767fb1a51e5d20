// The floor that shares one abort reason: like floor.mjs, but every controller is aborted with
// the same DOMException, as supervise does. The reference for the 1.1x targets.
import { signalFloor } from '../lib/floor.mjs';

export const name = 'floor-shared-reason';
export const describe = 'hand-written, as `floor`, but every `abort(reason)` shares one reason (what supervise does)';
export const mode = 'signal';

export function create(env) {
  return signalFloor(env, { sharedReason: true });
}
