// supervise-nosignal with a name for every task: `sup.spawn(body, { name: 'job' })`, a fresh
// options literal each time as application code writes it. What spawn's options cost, the
// check of their names included (benchmarks/spawn-options.mjs compares builds).
import { Supervisor } from '../lib/supervise.mjs';
import { layer } from './supervise.mjs';

export const name = 'supervise-named';
export const describe = "`sup.spawn(async () => …, { name: 'job' })`: supervise-nosignal, with a spawn options literal naming each task";
export const mode = 'nosignal';

export function create(env) {
  const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 600_000 });
  const named = {
    spawn(fn) {
      return sup.spawn(fn, { name: 'job' });
    },
    child(options) {
      return sup.child(options);
    },
    shutdown() {
      return sup.shutdown();
    },
    get size() {
      return sup.size;
    },
  };
  return layer(named, env, env.bodies.pendingNoSignal);
}
