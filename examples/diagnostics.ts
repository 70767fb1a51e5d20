// supervise's diagnostics channels as structured log lines: one JSON object per event on stdout,
// ready for a log shipper. The same subscriptions could start and end OpenTelemetry spans (a span
// per task from spawn to settle, one per shutdown phase); nothing here needs a package.
//
//   npm run build && node dist/examples/diagnostics.js      (then Ctrl-C)
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  type ShutdownDisposeMessage,
  type ShutdownEndMessage,
  type ShutdownPhaseMessage,
  type ShutdownStartMessage,
  type TaskRestartMessage,
  type TaskSettleMessage,
  type TaskSpawnMessage,
  channels,
  run,
} from 'supervise';

/** Writes one JSON line per supervise event until the returned function is called. */
export function logSuperviseEvents(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): () => void {
  const log = (event: string, fields: Record<string, unknown>) => write(JSON.stringify({ event, ...fields }));
  const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : error === undefined ? undefined : String(error));
  const handlers: [string, (message: unknown) => void][] = [
    [
      channels.taskSpawn,
      (m) => {
        const { supervisor, task } = m as TaskSpawnMessage;
        log('task.spawn', { supervisor: supervisor.name, task: task.name, id: task.id });
      },
    ],
    [
      channels.taskSettle,
      (m) => {
        const { supervisor, task, state, error, durationMs } = m as TaskSettleMessage;
        log('task.settle', {
          supervisor: supervisor.name,
          task: task.name,
          id: task.id,
          state,
          durationMs,
          error: state === 'rejected' ? errorText(error) : undefined,
        });
      },
    ],
    [
      channels.taskRestart,
      (m) => {
        const { supervisor, task, restart, delayMs, error } = m as TaskRestartMessage;
        log('task.restart', { supervisor: supervisor.name, task: task.name, restart, delayMs: Math.round(delayMs), error: errorText(error) });
      },
    ],
    [
      channels.shutdownStart,
      (m) => {
        const { supervisor, cause, signal, pending } = m as ShutdownStartMessage;
        log('shutdown.start', { supervisor: supervisor.name, cause, signal, pending });
      },
    ],
    [
      channels.shutdownPhase,
      (m) => {
        const { supervisor, phase, durationMs } = m as ShutdownPhaseMessage;
        log('shutdown.phase', { supervisor: supervisor.name, phase, durationMs: Math.round(durationMs) });
      },
    ],
    [
      channels.shutdownDispose,
      (m) => {
        const { supervisor, name, kind, outcome, error } = m as ShutdownDisposeMessage;
        log('shutdown.dispose', { supervisor: supervisor.name, name, kind, outcome, error: errorText(error) });
      },
    ],
    [
      channels.shutdownEnd,
      (m) => {
        const { supervisor, report } = m as ShutdownEndMessage;
        log('shutdown.end', {
          supervisor: supervisor.name,
          exitCode: report.exitCode,
          cancelled: report.cancelled,
          stragglers: report.stragglers.map((straggler) => straggler.name),
          errors: report.errors.length,
          durationMs: Math.round(report.durationMs),
        });
      },
    ],
  ];
  for (const [name, handler] of handlers) diagnosticsChannel.subscribe(name, handler);
  return () => {
    for (const [name, handler] of handlers) diagnosticsChannel.unsubscribe(name, handler);
  };
}

logSuperviseEvents();

await run(
  async (sup) => {
    sup.defer(function closeDatabase() {});
    let attempts = 0;
    // Fails twice, as a consumer does while its broker restarts; its restart policy brings it back.
    sup.spawn(
      async (signal) => {
        if (++attempts < 3) throw new Error(`connection refused (attempt ${attempts})`);
        process.stderr.write('consumer: connected; press Ctrl-C to stop\n');
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        signal.throwIfAborted();
      },
      { name: 'consumer', restart: 'on-failure', backoff: { initialMs: 20, maxMs: 100 } },
    );
  },
  { name: 'app', logger: false },
);
