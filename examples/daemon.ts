// A small real service: an HTTP server with a readiness endpoint and a slow endpoint, a
// background job worker, a periodic task and a database-like resource with an async close.
// It runs until Ctrl-C (SIGINT) or SIGTERM, then prints each shutdown step with its timing.
//
//   npm install && npm run demo          then: curl localhost:8080/slow, curl localhost:8080/ready
//   PORT=0 DRAIN_DELAY=200 node dist/examples/daemon.js      (any free port, a shorter drain)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeServer, run } from 'supervise';

const started = performance.now();
const step = (text: string) => console.log(`${`+${Math.round(performance.now() - started)} ms`.padStart(9)}  ${text}`);

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

await run(
  async (sup) => {
    sup.defer(() => step('deferred: registered first, so it runs last'));
    const db = sup.use(await Database.open());

    // Serves until disposal reaches it: readiness turns 503 the moment shutdown begins, so the load
    // balancer stops sending traffic during drainDelay; then closeServer drains what is in flight.
    const server = sup.adopt(
      http.createServer((req, res) => {
        if (req.url === '/ready') {
          res.writeHead(sup.signal.aborted ? 503 : 200).end(sup.signal.aborted ? 'draining\n' : 'ready\n');
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('slow response\n'), 2_000);
        } else {
          db.rows.push(`request ${req.url}`);
          res.end('hello\n');
        }
      }),
      closeServer,
    );
    sup.defer(() => step('http: closing the server, in-flight requests finish'));

    // A worker pulling jobs until its signal aborts; it finishes the job in hand before it stops.
    sup.spawn(
      async (signal) => {
        let job = 0;
        while (!signal.aborted) {
          await sleep(200, undefined, { signal }).catch(() => {});
          if (!signal.aborted) db.rows.push(`job ${++job}`);
        }
        step(`worker: stopped after ${job} jobs`);
      },
      { name: 'worker' },
    );

    // A periodic task: it rejects with its abort reason, which counts as cancelled, not failed.
    sup.spawn(async function heartbeat(signal) {
      try {
        for (;;) await sleep(1_000, undefined, { signal });
      } finally {
        step('heartbeat: stopped');
      }
    });

    sup.signal.addEventListener('abort', () => step('shutdown began: /ready answers 503, still serving during drainDelay'));
    await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', resolve));
    step(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port} with ${sup.size} tasks; press Ctrl-C to stop`);
  },
  {
    name: 'daemon',
    drainDelay: Number(process.env.DRAIN_DELAY ?? 1_000),
    shutdownTimeout: 5_000,
    onShutdown: () => step('onShutdown: deregistering from service discovery'),
  },
);
