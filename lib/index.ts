export { Supervisor } from './supervisor.js';
export type { SupervisorState } from './lifecycle.js';
export { run, type RunOptions } from './run.js';
export { Task, type TaskState } from './task.js';
export type { TaskFunction, SpawnOptions, RestartMode, Backoff, BackoffOptions } from './spawn-options.js';
export type { ShutdownReport, ShutdownCause, Straggler } from './report.js';
export type { SupervisorOptions, ChildOptions, ScopeOptions, TaskErrorPolicy, RootTaskErrorPolicy, Logger, RestartStrategy } from './options.js';
export type { SupervisorTree, TaskInfo } from './task-tree.js';
export type { Subtree, SubtreeOptions } from './subtree.js';
export { SupervisorClosedError, RestartLimitError } from './errors.js';
export { channels } from './channels.js';
export type {
  TaskSpawnMessage,
  TaskSettleMessage,
  TaskRestartMessage,
  ShutdownStartMessage,
  ShutdownPhase,
  ShutdownPhaseMessage,
  ShutdownDisposeMessage,
  ShutdownEndMessage,
} from './diagnostics.js';
export { closeServer, type CloseServerOptions } from './close-server.js';
export { stopChildProcess, type StopChildProcessOptions } from './child-process.js';
export { stopWorker, type StopWorkerOptions } from './worker.js';
export { closePool, type ClosablePool, type ClosePoolOptions } from './pool.js';
export { stopCluster, type StopClusterOptions } from './cluster.js';
export { shutdownOnMessage, type MessageSource } from './shutdown-on-message.js';
export { readinessHandler, livenessHandler, type HealthHandler } from './health.js';
export { serveHealth, type HealthServer, type HealthServerOptions } from './health-server.js';
export { SHUTDOWN_MESSAGE } from './messages.js';
export type { GracePeriodOptions } from './graceful.js';
export { AsyncDisposableStack, DisposableStack, SuppressedError, isSuppressedError } from './ponyfill.js';
