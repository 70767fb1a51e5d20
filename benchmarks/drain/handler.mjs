// The request handler every drain server shares (benchmarks/drain.mjs): 200 and `hello\n`, answered
// synchronously, or after an async 50 ms wait with HANDLER=slow.
import { setTimeout as sleep } from 'node:timers/promises';

export const slow = process.env.HANDLER === 'slow';
export const BODY = 'hello\n';
export const SLOW_MS = 50;

/** For node:http servers (node, stoppable, supervise). */
export const handler = slow
  ? async (_req, res) => {
      await sleep(SLOW_MS);
      answer(res);
    }
  : (_req, res) => answer(res);

/** With Content-Length (set by `end(body)`), as fastify sends it, rather than chunked. */
function answer(res) {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/plain');
  res.end(BODY);
}

/** Prints the line benchmarks/drain.mjs waits for. */
export function announce(server) {
  console.log(`listening ${server.address().port}`);
}
