// Where the adapters get supervise from: the built library (`npm run build`), or the snapshot of it
// that run.mjs takes when it starts (SUPERVISE_DIST), so that a rebuild during a run changes nothing.
// `channels` names supervise's diagnostics_channel channels (supervise-observed subscribes to them).
import { pathToFileURL } from 'node:url';

const where = process.env.SUPERVISE_DIST ? pathToFileURL(process.env.SUPERVISE_DIST).href : new URL('../../dist/lib/index.js', import.meta.url).href;
export const { Supervisor, channels } = await import(where);
