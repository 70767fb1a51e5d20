// stoppable (the engine behind terminus): stoppable(server, 10_000), then server.stop() on SIGTERM.
import http from 'node:http';
import stoppable from 'stoppable';
import { announce, handler } from './handler.mjs';

const server = stoppable(http.createServer(handler), 10_000);
server.listen(0, '127.0.0.1', () => announce(server));

process.once('SIGTERM', () => {
  server.stop((err) => process.exit(err ? 1 : 0));
});
