// supervise-nosignal with a subscriber on every `supervise:*` diagnostics channel: what a process
// that traces or meters supervise pays. Each subscriber only counts its messages; shutdown checks
// the counts against what this adapter spawned, so the channels provably published every message.
import diagnosticsChannel from 'node:diagnostics_channel';
import { Supervisor, channels } from '../lib/supervise.mjs';
import { layer } from './supervise.mjs';

export const name = 'supervise-observed';
export const describe =
  '`supervise-nosignal` with one subscriber (a counter) on every `supervise:*` diagnostics channel (`channels`); shutdown checks every spawn, settle and shutdown message arrived';
export const mode = 'nosignal';

export function create(env) {
  if (channels === undefined || typeof channels !== 'object') throw new Error('supervise-observed: this build of supervise exports no `channels`');
  const names = Object.entries(channels);
  if (names.length === 0 || !names.every(([, channel]) => channel.startsWith('supervise:')))
    throw new Error(`supervise-observed: unexpected channels ${JSON.stringify(channels)}`);
  // One counter per channel, one subscriber per channel; unsubscribed at shutdown, so that the
  // measured system (made after measure.mjs's warm-up system) has the only subscribers.
  const seen = Object.fromEntries(names.map(([key]) => [key, 0]));
  const subscribers = names.map(([key, channel]) => {
    const subscriber = () => void seen[key]++;
    diagnosticsChannel.subscribe(channel, subscriber);
    return [channel, subscriber];
  });

  const sup = new Supervisor({ signals: false, logger: false, shutdownTimeout: 600_000 });
  const inner = layer(sup, env, env.bodies.pendingNoSignal);
  let spawned = 0;
  return {
    ...inner,
    spawnPending(n) {
      spawned += n;
      inner.spawnPending(n);
    },
    spawnChurn(n) {
      spawned += n;
      inner.spawnChurn(n);
    },
    spawnSlow() {
      throw new Error('supervise-observed: not used for W4');
    },
    child() {
      throw new Error('supervise-observed: not used for W4');
    },
    async shutdown() {
      await inner.shutdown(); // checks a clean report and an empty registry
      for (const [channel, subscriber] of subscribers) diagnosticsChannel.unsubscribe(channel, subscriber);
      const expected = { taskSpawn: spawned, taskSettle: spawned, taskRestart: 0, shutdownStart: 1, shutdownPhase: 3, shutdownDispose: 0, shutdownEnd: 1 };
      const wrong = Object.keys(seen).filter((key) => key in expected && seen[key] !== expected[key]);
      if (spawned > 0 && !(seen.taskSettle > 0) && !wrong.includes('taskSettle')) wrong.push('taskSettle');
      if (wrong.length > 0) {
        throw new Error(`supervise-observed: messages seen ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)} (wrong: ${wrong.join(', ')})`);
      }
    },
  };
}
