// run() owns the process: it runs main as the task "main", turns SIGINT/SIGTERM into a graceful
// shutdown, turns a crash anywhere into a failed one, and exits with the report's exit code.
//
//   npm run build && node dist/examples/run.js      (then Ctrl-C)
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from 'supervise';

await run(
  async (sup) => {
    const queue = sup.adopt(['a', 'b', 'c', 'd', 'e'], (left) => console.log(`queue: closed with ${left.length} jobs left`));

    sup.spawn(
      async (signal) => {
        while (!signal.aborted && queue.length > 0) {
          const job = queue.shift();
          await sleep(100, undefined, { signal }).catch(() => queue.unshift(job!)); // put it back if cancelled
          if (!signal.aborted) console.log(`worker: finished job ${job}`);
        }
        console.log('worker: stopped');
      },
      { name: 'worker' },
    );

    console.log('main: started; press Ctrl-C to stop');
  },
  {
    shutdownTimeout: 5_000,
    onShutdown: () => console.log('onShutdown: tasks still running; deregister, flush metrics...'),
  },
);
