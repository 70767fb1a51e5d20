// fastify: one GET route, `await app.close()` on SIGTERM; default forceCloseConnections ('idle' where
// the server has closeIdleConnections) and default return503OnClosing (true).
import Fastify from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { BODY, SLOW_MS, announce, slow } from './handler.mjs';

const app = Fastify({ logger: false });
app.get(
  '/',
  slow
    ? async (_request, reply) => {
        await sleep(SLOW_MS);
        return reply.code(200).type('text/plain').send(BODY);
      }
    : (_request, reply) => {
        reply.code(200).type('text/plain').send(BODY);
      },
);
await app.listen({ port: 0, host: '127.0.0.1' });
announce(app.server);

process.once('SIGTERM', async () => {
  await app.close();
  process.exit(0);
});
