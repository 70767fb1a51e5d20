// Node's own drain, as most hand-written shutdowns do it: server.close() and closeIdleConnections();
// exit when close's callback fires, with closeAllConnections() after 10 s as the bound.
import http from 'node:http';
import { announce, handler } from './handler.mjs';

const server = http.createServer(handler);
server.listen(0, '127.0.0.1', () => announce(server));

process.once('SIGTERM', () => {
  const bound = setTimeout(() => server.closeAllConnections(), 10_000);
  server.close(() => {
    clearTimeout(bound);
    process.exit(0);
  });
  server.closeIdleConnections();
});
