/**
 * A supervisor's life, as one field: the phase it is in. Each phase says what the supervisor
 * still takes, so `spawn`, `child`, `use` and the shutdown all read the same field.
 *
 * | phase | `sup.state` | `spawn`, `child` | `use`, `adopt`, `defer` |
 * | --- | --- | --- | --- |
 * | running | `running` | yes | yes |
 * | draining: `sup.signal` aborted, the drain delay and `run()`'s `onShutdown` | `stopping` | yes | yes |
 * | cancelling: tasks aborted and awaited | `stopping` | throw | yes |
 * | disposing: resources and children, newest first | `stopping` | throw | throw |
 * | stopped: the report is made | `stopped` | throw | throw |
 *
 * @module
 */

/**
 * Where a supervisor is in its life.
 *
 * @example
 * ```ts
 * if (sup.state === 'running') sup.spawn(work);
 * ```
 */
export type SupervisorState = 'running' | 'stopping' | 'stopped';

/** @internal */ export const RUNNING = 0;
/** @internal */ export const DRAINING = 1;
/** @internal */ export const CANCELLING = 2;
/** @internal */ export const DISPOSING = 3;
/** @internal */ export const STOPPED = 4;
/** @internal One of the constants above, in the order a supervisor goes through them. */
export type Phase = typeof RUNNING | typeof DRAINING | typeof CANCELLING | typeof DISPOSING | typeof STOPPED;

const states: readonly SupervisorState[] = ['running', 'stopping', 'stopping', 'stopping', 'stopped'];
/** @internal The names of the phases, for messages. */
export const phaseNames: readonly string[] = ['running', 'draining', 'cancelling', 'disposing', 'stopped'];

/** @internal The public state of a phase. */
export function stateOf(phase: Phase): SupervisorState {
  return states[phase] as SupervisorState;
}
