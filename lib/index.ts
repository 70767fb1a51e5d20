export { Supervisor, type SupervisorState } from './supervisor.js';
export { run, type RunOptions } from './run.js';
export { Task, type TaskState, type TaskFunction, type SpawnOptions } from './task.js';
export type { ShutdownReport, ShutdownCause, Straggler } from './shutdown.js';
export type { SupervisorOptions, ChildOptions, TaskErrorPolicy, Logger } from './options.js';
export { SupervisorClosedError } from './errors.js';
export { AsyncDisposableStack, DisposableStack, SuppressedError, isSuppressedError } from './ponyfill.js';
