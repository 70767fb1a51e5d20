// supervise: run() owns the process and turns SIGTERM into a shutdown; the server is adopted with
// closeServer. DRAIN_DELAY (ms, default 0) is run()'s drainDelay.
//
// The library is dist/lib (`npm run build`), or the snapshot of it that benchmarks/drain.mjs takes when
// it starts (SUPERVISE_DIST), so that a rebuild during a run changes nothing; same as benchmarks/lib/supervise.mjs.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { announce, handler } from './handler.mjs';

const where = process.env.SUPERVISE_DIST ? pathToFileURL(process.env.SUPERVISE_DIST).href : new URL('../../dist/lib/index.js', import.meta.url).href;
/** @type {typeof import('../../dist/lib/index.js')} */
const { closeServer, run } = await import(where);

await run(
  async (sup) => {
    const server = sup.adopt(http.createServer(handler), closeServer);
    server.listen(0, '127.0.0.1', () => announce(server));
  },
  { name: 'drain-bench', logger: false, drainDelay: Number(process.env.DRAIN_DELAY ?? 0) },
);
