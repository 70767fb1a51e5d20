// The drain end to end: closeServer in a real process, stopped by a real SIGTERM (or a cluster
// reload), under keep-alive load from raw counting clients (spec/load-clients.ts). The one figure
// that must always be 0 is `lost`: a request written on a connection the server had already
// answered on, which never got its answer. Every run must also answer every request its handler
// received.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { type Fixture, killFixtures, startFixture, sendSignal, needs } from './helpers.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Http1LoadCounts, type Http2LoadCounts, type LoadRun, startHttp1Load, startHttp2Load } from './load-clients.js';

after(killFixtures);

const guard = { timeout: 300_000, concurrency: false };
const ca = readFileSync(new URL('../../spec/fixtures/tls-cert.pem', import.meta.url));
const connections = 64;
/**
 * How many shutdowns each HTTP case repeats (5 for HTTP/1.1, 3 for HTTP/2): DRAIN_SHUTDOWNS, when
 * set, caps both, for runs that must be shorter (scripts/runtimes.mjs sets 2).
 */
const shutdowns = (usual: number): number => Math.min(usual, Number(process.env.DRAIN_SHUTDOWNS ?? usual));

async function startServer(env: Record<string, string>): Promise<{ server: Fixture; port: number }> {
  const server = startFixture('drain-server', env);
  await server.waitFor('listening ');
  return { server, port: Number(/listening (\d+)/.exec(server.stdout())![1]) };
}

/** What the server said on its way out: every request its handler received was answered. */
function assertServedAll(stdout: string): void {
  const accepted = Number(/accepted (\d+)/.exec(stdout)?.[1]);
  const served = Number(/served (\d+)/.exec(stdout)?.[1]);
  assert.ok(accepted > 0, stdout);
  assert.equal(served, accepted, 'the server answered every request it accepted');
}

interface Http1Case {
  readonly title: string;
  readonly env: Record<string, string>;
  readonly tls?: boolean;
  /** Where the case cannot hold: node:test's skip reason. */
  readonly skip?: string | false;
}

/**
 * Resolves once each of the first `connections` connections has been answered at least twice, so
 * that a request lost on any of them counts as lost, not as a reset before a first response.
 */
async function everyConnectionAnswered(load: LoadRun<Http1LoadCounts>): Promise<void> {
  for (let wait = 0; wait < 3_000; wait++) {
    const { perConnection } = load.counts();
    if (perConnection.length >= connections && perConnection.slice(0, connections).every((c) => c.answered >= 2)) return;
    await sleep(10);
  }
  throw new Error(`not every connection was answered within 30 s: ${JSON.stringify(load.counts().perConnection.map((c) => c.answered))}`);
}

/** One shutdown under load: start, load until every connection has been answered, SIGTERM, count. */
async function http1Shutdown(env: Record<string, string>, tls: boolean): Promise<Http1LoadCounts> {
  const { server, port } = await startServer(env);
  const load = startHttp1Load({ port, connections, ...(tls ? { tls: { ca } } : {}) });
  try {
    await everyConnectionAnswered(load);
  } catch (error) {
    await load.stop(0);
    throw error;
  }
  sendSignal(server.child, 'SIGTERM');
  const { code, stdout, stderr } = await server.exited(60_000);
  const counts = await load.stop(2_000);
  assert.equal(code, 0, stderr);
  assertServedAll(stdout);
  return counts;
}

describe('HTTP/1.1 keep-alive: a SIGTERM under load loses no request', { ...guard, skip: needs('posixSignals') }, () => {
  const cases: Http1Case[] = [
    { title: 'http, drainDelay 0, synchronous handler', env: { HANDLER: 'sync' } },
    { title: 'http, drainDelay 0, async handler (50 ms)', env: { HANDLER: 'slow' } },
    { title: 'http, drainDelay 150 ms, synchronous handler', env: { HANDLER: 'sync', DRAIN_DELAY: '150' } },
    { title: 'http, drainDelay 150 ms, async handler (50 ms)', env: { HANDLER: 'slow', DRAIN_DELAY: '150' } },
    { title: 'https, drainDelay 0, synchronous handler', env: { PROTOCOL: 'https', HANDLER: 'sync' }, tls: true, skip: needs('tlsIdleDrain') },
    {
      title: 'https, drainDelay 150 ms, async handler (50 ms)',
      env: { PROTOCOL: 'https', HANDLER: 'slow', DRAIN_DELAY: '150' },
      tls: true,
      skip: needs('tlsIdleDrain'),
    },
  ];
  // 5 shutdowns each (unless DRAIN_SHUTDOWNS is lower): 10 per drainDelay over http, 10 over https, 15 per handler kind.
  for (const { title, env, tls = false, skip = false } of cases) {
    it(`${title}: ${shutdowns(5)} shutdowns of ${connections} connections, 0 lost`, { skip: needs('httpCloseGrace') || skip }, async () => {
      const runs: Http1LoadCounts[] = [];
      for (let run = 0; run < shutdowns(5); run++) runs.push(await http1Shutdown(env, tls));
      const summary = runs.map((c) => `${c.answered} answered, ${c.closeResponses} close, ${c.lost} lost, ${c.resetBeforeFirst} reset before first`);
      console.log(`${title}:\n  ${summary.join('\n  ')}`);
      for (const counts of runs) {
        assert.equal(counts.lost, 0, summary.join('; '));
        assert.deepEqual(counts.anomalies, []);
        assert.ok(counts.closeResponses >= connections, 'every connection was told to close, or was closed idle');
        assert.equal(counts.non2xx, 0);
      }
    });
  }
});

describe('HTTP/2: the GOAWAY drops no stream the server accepted', { ...guard, skip: needs('posixSignals') }, () => {
  const cases: { title: string; env: Record<string, string>; tls: boolean }[] = [
    { title: 'h2c, async handler (50 ms)', env: { PROTOCOL: 'h2c', HANDLER: 'slow' }, tls: false },
    { title: 'h2c, synchronous handler', env: { PROTOCOL: 'h2c', HANDLER: 'sync' }, tls: false },
    { title: 'h2 over TLS, async handler (50 ms), drainDelay 150 ms', env: { PROTOCOL: 'h2', HANDLER: 'slow', DRAIN_DELAY: '150' }, tls: true },
  ];
  for (const { title, env, tls } of cases) {
    it(`${title}: ${shutdowns(3)} shutdowns of 16 sessions x 10 streams`, async () => {
      const runs: Http2LoadCounts[] = [];
      for (let run = 0; run < shutdowns(3); run++) {
        const { server, port } = await startServer(env);
        const load = startHttp2Load({ port, sessions: 16, streamsPerSession: 10, ...(tls ? { tls: { ca } } : {}) });
        await load.answeredAtLeast(500);
        sendSignal(server.child, 'SIGTERM');
        const { code, stdout, stderr } = await server.exited(60_000);
        const counts = await load.stop(2_000);
        assert.equal(code, 0, stderr);
        assertServedAll(stdout);
        runs.push(counts);
      }
      const summary = runs.map((c) => `${c.answered} answered, ${c.refused} refused, ${c.dropped} dropped, ${c.goaways} GOAWAYs`);
      console.log(`${title}:\n  ${summary.join('\n  ')}`);
      for (const counts of runs) {
        assert.equal(counts.dropped, 0, summary.join('; '));
        assert.deepEqual(counts.anomalies, []);
        assert.ok(counts.goaways > 0);
      }
    });
  }
});

describe('node:cluster rolling reload (what PM2 reload does) loses no request', { ...guard, skip: needs('posixSignals') }, () => {
  it(`3 reloads of 2 workers under ${connections} keep-alive connections, 0 lost`, { skip: needs('httpCloseGrace') }, async () => {
    const primary = startFixture('drain-cluster', { WORKERS: '2' });
    await primary.waitFor('listening ');
    const port = Number(/listening (\d+)/.exec(primary.stdout())![1]);
    const load = startHttp1Load({ port, connections });
    let counts: Http1LoadCounts;
    try {
      await everyConnectionAnswered(load);
      for (let reload = 1; reload <= 3; reload++) {
        sendSignal(primary.child, 'SIGHUP');
        await primary.waitFor(`reloaded ${reload}`, 60_000);
      }
    } finally {
      counts = await load.stop(2_000);
    }
    sendSignal(primary.child, 'SIGTERM');
    const { code, stdout, stderr } = await primary.exited(60_000);
    console.log(
      `cluster reload: ${counts.answered} answered, ${counts.closeResponses} close, ${counts.lost} lost, ${counts.resetBeforeFirst} reset before first`,
    );
    assert.equal(code, 0, stderr);
    assert.equal(counts.lost, 0);
    assert.deepEqual(counts.anomalies, []);
    const workers = [...stdout.matchAll(/accepted (\d+), served (\d+)/g)];
    assert.equal(workers.length, 8, 'six replaced workers and the last two each reported');
    for (const [, accepted, served] of workers) assert.equal(served, accepted);
  });
});
