// supervise, like for like with fibers: task functions declare NO parameter, so no AbortController
// is made; they wait on one shared promise that settles when shutdown begins.
import { Supervisor } from '../lib/supervise.mjs';
import { layer } from './supervise.mjs';

export const name = 'supervise-nosignal';
export const describe = '`sup.spawn(async () => …)`: no parameter, so no AbortController; tasks wait on one shared promise released as shutdown begins';
export const mode = 'nosignal';

export function create(env) {
  return layer(new Supervisor({ signals: false, logger: false, shutdownTimeout: 600_000 }), env, env.bodies.pendingNoSignal);
}
