// A small daemon: a job worker, a periodic task, a shielded flush and a database-like resource.
// It runs until Ctrl-C (SIGINT) or SIGTERM, then prints each shutdown step with its timing.
//
//   npm install && npm run demo
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from 'supervise';

const started = performance.now();
const at = () => `+${Math.round(performance.now() - started)} ms`.padStart(9);
const step = (text: string) => console.log(`${at()}  ${text}`);

/** Stands in for a database client: opening and closing take a little while. */
class Database {
  static async open(): Promise<Database> {
    await sleep(20);
    step('database: connected');
    return new Database();
  }
  readonly rows: string[] = [];
  async [Symbol.asyncDispose](): Promise<void> {
    step(`database: closing (${this.rows.length} rows written)`);
    await sleep(50);
    step('database: closed');
  }
}

const sup = new Supervisor({ name: 'daemon', shutdownTimeout: 5_000 });
sup.defer(() => step('deferred: registered first, so it runs last'));
const db = sup.use(await Database.open());

// A worker pulling jobs until its signal aborts; it finishes the job in hand before it stops.
sup.spawn(async (signal) => {
  let job = 0;
  while (!signal.aborted) {
    await sleep(200, undefined, { signal }).catch(() => {});
    if (signal.aborted) break;
    db.rows.push(`job ${++job}`);
  }
  step(`worker: stopped after ${job} jobs`);
}, { name: 'worker' });

// A periodic task: it rejects with its abort reason, which counts as cancelled, not failed.
sup.spawn(async function heartbeat(signal) {
  try {
    for (;;) await sleep(1_000, undefined, { signal });
  } finally {
    step('heartbeat: stopped');
  }
});

// Shielded: shutdown waits for it but does not abort it, so the last batch is written.
sup.spawn(async () => {
  await once(sup.signal, 'abort');
  step('flush: shutdown began, writing the last batch (shielded)');
  await sleep(100);
  db.rows.push('final batch');
  step('flush: done');
}, { name: 'flush', shield: true });

step(`running with ${sup.size} tasks; press Ctrl-C (or send SIGTERM to ${process.pid}) to stop`);

const report = await sup.done;
step(
  `stopped (${report.cause}${report.signal ? ` ${report.signal}` : ''}) in ${Math.round(report.durationMs)} ms: ` +
    `${report.cancelled} cancelled, ${report.stragglers.length} stragglers, ${report.errors.length} errors, exit ${report.exitCode}`,
);
process.exitCode = report.exitCode;
