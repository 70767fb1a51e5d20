/**
 * supervise's `node:diagnostics_channel` channels (see `diagnostics.ts` for what each publishes).
 * Each is published only when someone subscribes: a process that subscribes to none pays one
 * property read per spawn and settle, and allocates nothing.
 *
 * @module
 */
import { builtin } from './builtins.js';

const diagnosticsChannel = builtin('node:diagnostics_channel');

/**
 * The names of supervise's channels, to subscribe with `diagnostics_channel.subscribe`.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * import { channels } from 'supervise';
 * diagnostics_channel.subscribe(channels.shutdownEnd, (message) => console.log((message as ShutdownEndMessage).report));
 * ```
 */
export const channels = Object.freeze({
  taskSpawn: 'supervise:task:spawn',
  taskSettle: 'supervise:task:settle',
  taskRestart: 'supervise:task:restart',
  shutdownStart: 'supervise:shutdown:start',
  shutdownPhase: 'supervise:shutdown:phase',
  shutdownDispose: 'supervise:shutdown:dispose',
  shutdownEnd: 'supervise:shutdown:end',
} as const);

/** @internal */ export const taskSpawnChannel = diagnosticsChannel.channel(channels.taskSpawn);
/** @internal */ export const taskSettleChannel = diagnosticsChannel.channel(channels.taskSettle);
/** @internal */ export const taskRestartChannel = diagnosticsChannel.channel(channels.taskRestart);
/** @internal */ export const shutdownStartChannel = diagnosticsChannel.channel(channels.shutdownStart);
/** @internal */ export const shutdownPhaseChannel = diagnosticsChannel.channel(channels.shutdownPhase);
/** @internal */ export const shutdownDisposeChannel = diagnosticsChannel.channel(channels.shutdownDispose);
/** @internal */ export const shutdownEndChannel = diagnosticsChannel.channel(channels.shutdownEnd);
