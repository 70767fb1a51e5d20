export { Supervisor, type SupervisorState } from './supervisor.js';
export { run, type RunOptions } from './run.js';
export { Task, type TaskState, type TaskFunction, type SpawnOptions } from './task.js';
export type { ShutdownReport, ShutdownCause, Straggler } from './shutdown.js';
export type { SupervisorOptions, ChildOptions, TaskErrorPolicy, Logger } from './options.js';
export type { SupervisorTree, TaskInfo } from './task-tree.js';
export { SupervisorClosedError, RestartLimitError } from './errors.js';
export type { RestartMode, Backoff, BackoffOptions } from './restart.js';
export {
  channels,
  type TaskSpawnMessage,
  type TaskSettleMessage,
  type TaskRestartMessage,
  type ShutdownStartMessage,
  type ShutdownPhase,
  type ShutdownPhaseMessage,
  type ShutdownDisposeMessage,
  type ShutdownEndMessage,
} from './diagnostics.js';
export { closeServer, type CloseServerOptions } from './close-server.js';
export { stopChildProcess, type StopChildProcessOptions } from './child-process.js';
export { stopWorker, type StopWorkerOptions } from './worker.js';
export { closePool, type ClosablePool, type ClosePoolOptions } from './pool.js';
export { stopCluster, type StopClusterOptions } from './cluster.js';
export { shutdownOnMessage, SHUTDOWN_MESSAGE, type MessageSource } from './messages.js';
export type { GracePeriodOptions } from './graceful.js';
export { AsyncDisposableStack, DisposableStack, SuppressedError, isSuppressedError } from './ponyfill.js';
