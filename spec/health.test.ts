// Health probes: readinessHandler, livenessHandler and serveHealth. What is asserted is what a
// probe answers at each point of a shutdown, and the order things close in, never how long
// anything takes: every point the tests look at is held open by the test (an onShutdown gate, a
// deferred callback), and each wait has a generous hang guard.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Supervisor, type SupervisorClosedError, closeServer, livenessHandler, readinessHandler, serveHealth } from '../lib/index.js';
import { runForTest, simulateSignal } from '../lib/testing.js';
import { deferred, killFixtures, needs, quiet, recordUnexpected, recordingLogger, sendSignal, startFixture } from './helpers.js';

after(killFixtures);
const unexpected = recordUnexpected();

const guard = { timeout: 120_000, concurrency: false };

interface Answer {
  readonly status?: number;
  readonly body?: string;
  readonly headers?: http.IncomingHttpHeaders;
  readonly error?: string;
}

/** One request on a fresh connection; never rejects: the answer says what happened. */
function probe(port: number, path: string, method = 'GET', agent: http.Agent | false = false): Promise<Answer> {
  return new Promise((resolve) => {
    const request = http.request({ host: '127.0.0.1', port, path, method, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body, headers: response.headers }));
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    request.setTimeout(30_000, () => request.destroy(new Error('client timeout')));
    request.end();
  });
}

/** Status and body, for compact assertions. */
async function answer(port: number, path: string, method = 'GET'): Promise<string> {
  const { status, body, error } = await probe(port, path, method);
  return error ?? `${status} ${body!.trimEnd()}`;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A server outside any supervisor that answers both probes of `sup`, to ask them after everything closed. */
async function observer(sup: Supervisor): Promise<{ port: number; close(): Promise<void> }> {
  const ready = readinessHandler(sup);
  const live = livenessHandler(sup);
  const server = http.createServer((req, res) => (req.url === '/readyz' ? ready(req, res) : live(req, res)));
  const port = await listen(server);
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('readinessHandler and livenessHandler, mounted in an app server', guard, () => {
  it('readiness turns 503 when a signal shutdown begins and stays so through drainDelay, while the app serves; liveness holds until stopped', async () => {
    const seen: string[] = [];
    const drain = deferred();
    let appPort = 0;
    let lastWord: { port: number; close(): Promise<void> } | undefined;
    const program = runForTest(
      async (sup) => {
        lastWord = await observer(sup);
        // Registered before the app server: disposed after it, when it no longer accepts.
        sup.defer(async () => {
          seen.push(
            `app closed: app ${await answer(appPort, '/')}, ready ${await answer(lastWord!.port, '/readyz')}, live ${await answer(lastWord!.port, '/livez')}`,
          );
        });
        const ready = readinessHandler(sup);
        const live = livenessHandler(sup);
        const app = sup.adopt(
          http.createServer((req, res) => {
            if (req.url === '/readyz') ready(req, res);
            else if (req.url === '/livez') live(req, res);
            else res.end('app');
          }),
          closeServer,
        );
        appPort = await listen(app);
      },
      { name: 'app', logger: false, drainDelay: 50, onShutdown: () => drain.promise },
    );
    await program.main;
    seen.push(`running: ready ${await answer(appPort, '/readyz')}, live ${await answer(appPort, '/livez')}`);
    simulateSignal(program.supervisor, 'SIGTERM');
    // The state changed in the signal's own call: the very next probe sees it.
    seen.push(`draining: ready ${await answer(appPort, '/readyz')}, live ${await answer(appPort, '/livez')}, app ${await answer(appPort, '/')}`);
    drain.resolve();
    assert.equal(await program.exitCode, 0);
    seen.push(`stopped: ready ${await answer(lastWord!.port, '/readyz')}, live ${await answer(lastWord!.port, '/livez')}`);
    await lastWord!.close();
    assert.deepEqual(seen, [
      'running: ready 200 ready, live 200 alive',
      'draining: ready 503 shutting down, live 200 alive, shutting down, app 200 app',
      'app closed: app ECONNREFUSED, ready 503 shutting down, live 200 alive, shutting down',
      'stopped: ready 503 stopped, live 503 stopped',
    ]);
  });

  it('readiness fails at the first moment of any shutdown, before anything awaited', async () => {
    const sup = quiet();
    const held = deferred();
    sup.defer(() => held.promise); // holds the shutdown open, in its disposal, until the probe has answered
    const ready = readinessHandler(sup);
    const { port, close } = await observer(sup);
    const server = http.createServer(ready);
    const appPort = await listen(server);
    try {
      assert.equal(await answer(appPort, '/'), '200 ready');
      const done = sup.shutdown();
      assert.equal(sup.state, 'stopping');
      assert.equal(await answer(appPort, '/'), '503 shutting down'); // the app server is not the supervisor's: still open
      held.resolve();
      await done;
      assert.equal(await answer(appPort, '/'), '503 stopped');
      assert.equal(await answer(port, '/livez'), '503 stopped');
    } finally {
      held.resolve();
      server.close();
      await close();
    }
  });

  it('answers with text/plain, no-store and a content-length; HEAD gets the headers without a body; other methods 405', async () => {
    const sup = quiet();
    const server = http.createServer(readinessHandler(sup));
    const port = await listen(server);
    try {
      const get = await probe(port, '/');
      assert.equal(get.status, 200);
      assert.equal(get.body, 'ready\n');
      assert.equal(get.headers!['content-type'], 'text/plain; charset=utf-8');
      assert.equal(get.headers!['cache-control'], 'no-store');
      assert.equal(get.headers!['content-length'], '6');
      const head = await probe(port, '/', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal(head.headers!['content-length'], '6');
      const post = await probe(port, '/', 'POST');
      assert.equal(post.status, 405);
      assert.equal(post.headers!.allow, 'GET, HEAD');
      void sup.shutdown();
      const headStopping = await probe(port, '/', 'HEAD');
      assert.equal(headStopping.status, 503);
      assert.equal(headStopping.body, '');
    } finally {
      server.close();
      await sup.done;
    }
  });

  it('mounts as express mounts a handler: (req, res, next), never calling next', async () => {
    const sup = quiet();
    // What express does with app.get('/readyz', handler): the route calls it with (req, res, next).
    const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => void>();
    const app = {
      get: (path: string, handler: (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => void) => routes.set(path, handler),
    };
    app.get('/readyz', readinessHandler(sup));
    app.get('/livez', livenessHandler(sup));
    let nextCalled = 0;
    const server = http.createServer((req, res) => {
      const route = routes.get(req.url ?? '');
      if (route === undefined) return res.writeHead(404).end();
      route(req, res, () => nextCalled++);
    });
    const port = await listen(server);
    try {
      assert.deepEqual([await answer(port, '/readyz'), await answer(port, '/livez')], ['200 ready', '200 alive']);
      assert.equal(nextCalled, 0);
    } finally {
      server.close();
      await sup.shutdown();
    }
  });

  it('a child supervisor is not ready once its root is shutting down, though its own state changes only at its turn', async () => {
    const sup = quiet();
    const held = deferred();
    sup.spawn(() => held.promise, { name: 'holds the tasks phase' }); // the child is disposed after the tasks
    const child = sup.child({ name: 'web' });
    const server = http.createServer(readinessHandler(child));
    const port = await listen(server);
    try {
      assert.equal(await answer(port, '/'), '200 ready');
      void sup.shutdown();
      assert.equal(child.state, 'running');
      assert.equal(await answer(port, '/'), '503 shutting down');
      held.resolve();
      await child.done;
      assert.equal(await answer(port, '/'), '503 stopped');
    } finally {
      held.resolve();
      server.close();
      await sup.done;
    }
  });

  it('never throws: a response already ended, a destroyed one, or look-alike request and response objects', async () => {
    const sup = quiet();
    const ready = readinessHandler(sup);
    const live = livenessHandler(sup);
    const outcomes: string[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/ended') {
        res.end('first');
        ready(req, res);
        live(req, res);
        outcomes.push(`ended: ${res.statusCode}`);
      } else if (req.url === '/destroyed') {
        res.destroy();
        ready(req, res);
        outcomes.push(`destroyed: headersSent ${res.headersSent}`);
      } else {
        res.writeHead(202);
        ready(req, res); // headers already sent by the app: left as they are
        res.end('app');
        outcomes.push(`headers sent: ${res.statusCode}`);
      }
    });
    const port = await listen(server);
    try {
      assert.equal(await answer(port, '/ended'), '200 first');
      assert.equal((await probe(port, '/destroyed')).error, 'ECONNRESET');
      assert.equal(await answer(port, '/other'), '202 app');
      for (const [req, res] of [
        [{}, {}],
        [null, null],
        [{ method: 'GET' }, { writeHead: () => assert.fail('not called: headersSent is unknown') }],
        [
          { method: 'GET' },
          {
            get headersSent(): boolean {
              throw new Error('hostile getter');
            },
          },
        ],
      ] as const) {
        assert.doesNotThrow(() => ready(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse));
      }
      assert.deepEqual(outcomes, ['ended: 200', 'destroyed: headersSent false', 'headers sent: 202']);
    } finally {
      server.close();
      await sup.shutdown();
    }
  });
});

describe('serveHealth', guard, () => {
  it('answers /readyz and /livez on its own port (404 elsewhere, query strings ignored), and closes after every other resource, those registered after it included', async () => {
    const sup = quiet({ name: 'daemon' });
    const seen: string[] = [];
    let port = 0;
    const look = async (when: string) => seen.push(`${when}: ready ${await answer(port, '/readyz')}, live ${await answer(port, '/livez?verbose')}`);
    sup.defer(() => look('registered before it'));
    const health = await serveHealth(sup, { port: 0, host: '127.0.0.1' });
    port = health.port;
    assert.equal(health.address, '127.0.0.1');
    assert.equal(health.server.listening, true);
    sup.defer(() => look('registered after it'));
    const layer = sup.child({ name: 'layer' });
    layer.defer(() => look('in a child created after it'));
    assert.equal(await answer(port, '/readyz'), '200 ready');
    assert.equal(await answer(port, '/livez'), '200 alive');
    assert.equal(await answer(port, '/'), '404 not found');
    assert.equal(await answer(port, '/readyz/'), '404 not found');
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.deepEqual(seen, [
      'in a child created after it: ready 503 shutting down, live 200 alive, shutting down',
      'registered after it: ready 503 shutting down, live 200 alive, shutting down',
      'registered before it: ready 503 shutting down, live 200 alive, shutting down',
    ]);
    assert.equal(health.server.listening, false);
    assert.equal(await answer(port, '/livez'), 'ECONNREFUSED');
  });

  it('takes other paths, and serves every interface by default', async () => {
    const sup = quiet();
    const health = await serveHealth(sup, { port: 0, readinessPath: '/health/ready', livenessPath: '/health/live' });
    try {
      assert.ok(['::', '0.0.0.0'].includes(health.address), health.address);
      assert.equal(await answer(health.port, '/health/ready'), '200 ready');
      assert.equal(await answer(health.port, '/health/live'), '200 alive');
      assert.equal(await answer(health.port, '/readyz'), '404 not found');
    } finally {
      await sup.shutdown();
    }
  });

  it('does not load node:http until it is called', { skip: needs('builtinModuleLoads') }, async () => {
    // A fresh process: this one has loaded it long ago. The fixture observes loading as its runtime allows.
    const { code, stdout, stderr } = await startFixture('health-lazy-http').exited(60_000);
    assert.equal(code, 0, stderr);
    const [how, onImport, afterServe] = stdout.trim().split('\n');
    assert.match(how!, /^observed by (process\.moduleLoadList|module\.registerHooks)$/);
    assert.equal(onImport, 'on import: none');
    // Seen once serveHealth loads it: the observation can see node:http at all.
    assert.match(afterServe!, /^after serveHealth: (.*,)?(node:)?http(,|$)/);
  });

  it('does not keep the process alive by itself', async () => {
    // The fixture returns with the health server listening and its supervisor never shut down.
    const { code, stdout, stderr } = await startFixture('health-lazy-http').exited(60_000);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim().split('\n').at(-1), 'listening true');
  });

  it('rejects when it cannot listen, and the shutdown is still clean', async () => {
    const taken = net.createServer();
    const port = await listen(taken);
    const sup = quiet();
    try {
      await assert.rejects(serveHealth(sup, { port, host: '127.0.0.1' }), { code: 'EADDRINUSE' });
      const report = await sup.shutdown();
      assert.equal(report.exitCode, 0);
    } finally {
      taken.close();
    }
  });

  it('a shutdown that reaches it while it starts closes it once it listens', async () => {
    const sup = quiet();
    const started = serveHealth(sup, { port: 0, host: '127.0.0.1' });
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    const outcome = await started.then(
      (health) => `listened, then closed: ${health.server.listening}`,
      (error: SupervisorClosedError) => `refused: ${error.name}`,
    );
    assert.match(outcome, /^(listened, then closed: false|refused: SupervisorClosedError)$/);
  });

  it('an error of its listening socket after the start is logged, not thrown', async () => {
    const logger = recordingLogger();
    const sup = quiet({ name: 'daemon', logger });
    const health = await serveHealth(sup, { port: 0, host: '127.0.0.1' });
    health.server.emit('error', Object.assign(new Error('accept failed'), { code: 'EMFILE' }));
    assert.deepEqual(logger.lines, ['supervise: "daemon" health server: Error: accept failed']);
    assert.equal(await answer(health.port, '/livez'), '200 alive');
    assert.equal((await sup.shutdown()).exitCode, 0);
  });

  it('10 000 concurrent probes on keep-alive connections through a shutdown: each is answered 200 or 503, or refused once it closed; nothing is left behind', async () => {
    const sup = quiet({ shutdownTimeout: 60_000 });
    const health = await serveHealth(sup, { port: 0, host: '127.0.0.1' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const held = deferred();
    const disposing = deferred();
    // Holds the disposal until the probes are under way: the health server answers throughout.
    sup.defer(async () => {
      disposing.resolve();
      await held.promise;
    });
    try {
      const probes: Promise<Answer>[] = [];
      for (let i = 0; i < 10_000; i++) probes.push(probe(health.port, i % 2 === 0 ? '/readyz' : '/livez', i % 7 === 0 ? 'HEAD' : 'GET', agent));
      const first = await Promise.race(probes);
      assert.ok(first.status === 200 || first.status === 503, JSON.stringify(first));
      const shutdown = sup.shutdown();
      await disposing.promise;
      held.resolve();
      const report = await shutdown;
      const answers = await Promise.all(probes);
      const counts = new Map<string, number>();
      for (const a of answers) {
        const key = a.error ?? String(a.status);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const summary = JSON.stringify([...counts]);
      for (const key of counts.keys()) assert.ok(['200', '503', 'ECONNREFUSED', 'ECONNRESET'].includes(key), summary);
      // Bun's server.close() closes each keep-alive connection that is between requests at once, so
      // a probe already sent on one is reset, not answered 503 (needs('httpCloseGrace') says more).
      if (needs('httpCloseGrace') === false) assert.ok((counts.get('503') ?? 0) > 0, `some were answered during the shutdown: ${summary}`);
      assert.equal(report.exitCode, 0, summary);
      assert.deepEqual(report.stragglers, []);
      assert.equal(health.server.listening, false);
      const open = await new Promise<number>((resolve) => health.server.getConnections((_, count) => resolve(count)));
      assert.equal(open, 0);
    } finally {
      held.resolve();
      agent.destroy();
    }
  });

  it('a client that never reads its answers does not hold the shutdown, nor make it report a straggler', async () => {
    const sup = quiet({ shutdownTimeout: 60_000 });
    const health = await serveHealth(sup, { port: 0, host: '127.0.0.1' });
    const socket = net.connect(health.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause(); // never reads: the answers pile up until the server stops reading too
    const request = 'GET /livez HTTP/1.1\r\nhost: x\r\n\r\n';
    const burst = request.repeat(1_000);
    // Pipelined requests until the server has answered enough to fill both socket buffers.
    let answered = 0;
    health.server.on('request', () => answered++);
    for (let i = 0; i < 200 && answered < 50_000; i++) {
      socket.write(burst);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(answered > 0);
    const report = await sup.shutdown();
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.stragglers, []);
    assert.equal(health.server.listening, false);
    socket.destroy();
  });

  it('refuses what is not a Supervisor, bad options and a closed supervisor, at the call', async () => {
    const sup = quiet();
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const hostileChain = Object.create(
      new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('trap');
          },
        },
      ),
    );
    const fake = Object.create(Supervisor.prototype);
    const throwing = Object.create(Supervisor.prototype, {
      _life: {
        get() {
          throw new Error('getter');
        },
      },
    });
    const hostile: unknown[] = [
      undefined,
      null,
      42,
      'sup',
      {},
      () => {},
      new Proxy(sup, {}),
      revoked.proxy,
      hostileChain,
      fake,
      throwing,
      { _life: {}, state: 'running' },
      // A real supervisor whose internals were redefined: refused too, never read through at a probe.
      Object.defineProperty(quiet(), '_life', {
        get() {
          throw new Error('getter');
        },
      }),
      Object.defineProperty(quiet(), '_life', { value: { phase: 0 } }),
    ];
    for (const value of hostile) {
      for (const make of [readinessHandler, livenessHandler]) {
        assert.throws(() => make(value as Supervisor), {
          name: 'TypeError',
          code: 'ERR_INVALID_ARG_TYPE',
          message: new RegExp(`^${make.name}\\(sup\\) must be a Supervisor`),
        });
      }
      assert.throws(() => serveHealth(value as Supervisor, { port: 0 }), {
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
        message: /^serveHealth\(sup\) must be a Supervisor/,
      });
    }
    const bad: Array<[unknown, { name: string; code: string; message?: RegExp }]> = [
      [undefined, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
      [null, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
      [9000, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
      [{}, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /options\.port must be a number, got undefined/ }],
      [{ port: '9000' }, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }],
      [{ port: -1 }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }],
      [{ port: 65536 }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }],
      [{ port: 1.5 }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }],
      [{ port: Number.NaN }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }],
      [{ port: Infinity }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }],
      [{ prot: 9000 }, { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /options\.prot .*did you mean port\?/ }],
      [
        { port: 0, host: '' },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' },
      ],
      [
        { port: 0, host: 127 },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' },
      ],
      [
        { port: 0, readinessPath: 'readyz' },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' },
      ],
      [
        { port: 0, readinessPath: '/ready z' },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' },
      ],
      [
        { port: 0, livenessPath: '/live?x=1' },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' },
      ],
      [
        { port: 0, livenessPath: '/live#top' },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' },
      ],
      [
        { port: 0, livenessPath: 42 },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' },
      ],
      [
        { port: 0, readinessPath: '/health', livenessPath: '/health' },
        { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /other than readinessPath/ },
      ],
    ];
    for (const [options, expected] of bad) {
      assert.throws(() => serveHealth(sup, options as { port: number }), expected, JSON.stringify(options));
    }
    // A getter that throws is read once, at the call, and its error is what the call throws.
    const hostileOptions = {
      get port(): number {
        throw new Error('hostile option');
      },
    };
    assert.throws(() => serveHealth(sup, hostileOptions), { message: 'hostile option' });
    assert.equal(sup.tasks().tasks.length, 0);
    await sup.shutdown();
    assert.throws(() => serveHealth(sup, { port: 0 }), {
      name: 'SupervisorClosedError',
      code: 'ERR_SUPERVISOR_CLOSED',
      message: /^Cannot serve health probes: supervisor "supervisor" is stopped/,
    });
    // Handlers for a stopped supervisor are allowed: they answer 503.
    assert.equal(typeof readinessHandler(sup), 'function');
  });
});

describe('a real daemon with serveHealth, stopped by a real SIGTERM', guard, () => {
  it('readiness turns 503 while the app still serves (drainDelay), the probes answer until after the app server closed, and the process exits 0', async () => {
    const daemon = startFixture('health-daemon', { DRAIN_DELAY: '200' });
    await daemon.waitFor('listening ', 60_000);
    const [, appText, healthText] = /listening app (\d+) health (\d+)/.exec(daemon.stdout())!;
    const app = Number(appText);
    const health = Number(healthText);
    const seen: string[] = [];
    seen.push(`running: ready ${await answer(health, '/readyz')}, app ${await answer(app, '/')}`);
    // By pid, not child.kill(): Deno's ChildProcess reads as killed by the signal from that call on,
    // which the fixture, catching it and exiting 0 later, is not.
    sendSignal(daemon.child, 'SIGTERM');
    // Polls readiness as a load balancer would, until it fails (bounded: a hang guard, not a timing).
    let ready = await answer(health, '/readyz');
    for (let i = 0; i < 3_000 && ready === '200 ready'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      ready = await answer(health, '/readyz');
    }
    seen.push(`draining: ready ${ready}, live ${await answer(health, '/livez')}, app ${await answer(app, '/')}`);
    assert.equal(await answer(app, '/release'), '200 released');
    await daemon.waitFor('app server closed', 60_000);
    seen.push(`app closed: app ${await answer(app, '/')}, ready ${await answer(health, '/readyz')}, live ${await answer(health, '/livez')}`);
    assert.equal(await answer(health, '/readyz'), '503 shutting down'); // the third probe: the database may close now
    const { code, stdout, stderr } = await daemon.exited(60_000);
    seen.push(`exited ${code}: health ${await answer(health, '/livez')}`);
    assert.deepEqual(seen, [
      'running: ready 200 ready, app 200 app',
      'draining: ready 503 shutting down, live 200 alive, shutting down, app 200 app',
      'app closed: app ECONNREFUSED, ready 503 shutting down, live 200 alive, shutting down',
      'exited 0: health ECONNREFUSED',
    ]);
    const lines = stdout.trim().split('\n');
    assert.deepEqual(lines.slice(1), ['shutdown began', 'drain released', 'app server closed', 'database closed after 3 probes'], stderr);
    assert.match(stderr, /received SIGTERM/);
  });
});

describe('nothing escaped', () => {
  it('no unhandled rejection or uncaught exception', () => {
    assert.deepEqual(unexpected, []);
  });
});
