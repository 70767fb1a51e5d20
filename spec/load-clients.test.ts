// The counting load clients of spec/load-clients.ts count right: against small in-process servers whose
// every answer, reset and refusal is known, the counts match exactly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { ClientHttp2Stream, Http2Session, ServerHttp2Stream } from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { type Http1LoadCounts, type Http2LoadCounts, type Http2LoadOptions, type LoadRun, startHttp1Load, startHttp2Load } from './load-clients.js';
import { needs } from './helpers.js';

const guard = { timeout: 20_000, concurrency: false };
const root = new URL('../../', import.meta.url);
const tlsFiles = {
  key: readFileSync(new URL('spec/fixtures/tls-key.pem', root)),
  cert: readFileSync(new URL('spec/fixtures/tls-cert.pem', root)),
};
const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR } = http2.constants;

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it still has; resolves once it reports 'close'. */
function shut(server: net.Server, connections: Iterable<{ destroy(): void }> = []): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
    if (server instanceof http.Server) server.closeAllConnections();
    for (const connection of connections) connection.destroy();
  });
}

/** A port nothing listens on (it was just released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await shut(server);
  return port;
}

/** Resolves once `condition()` holds, polling; rejects after `timeoutMs` (a hang guard). */
async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(2);
  }
}

const watched = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap', 'Timeout', 'Immediate', 'Http2Session']);

/** How many sockets, servers and timers are alive: compared before and after, nothing is left behind. */
function handles(): Record<string, number> {
  const seen: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) if (watched.has(name)) seen[name] = (seen[name] ?? 0) + 1;
  return seen;
}

/** Handles closed a moment ago leave the list at libuv's next close phase: waits for that, boundedly. */
async function assertNothingLeft(before: Record<string, number>): Promise<void> {
  for (let i = 0; i < 20 && !isDeepStrictEqual(handles(), before); i++) await sleep(5);
  assert.deepEqual(handles(), before, 'no socket, server or timer left behind');
}

/**
 * Runs a test body with `defer` for its cleanups (servers closed, loads stopped), which always run, last
 * first, even when an assertion fails; then checks that nothing was left behind.
 */
async function clean(body: (defer: (cleanup: () => unknown) => void) => Promise<void>): Promise<void> {
  const before = handles();
  const cleanups: (() => unknown)[] = [];
  try {
    await body((cleanup) => cleanups.push(cleanup));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
  await assertNothingLeft(before);
}

function sum(counts: Http1LoadCounts, key: 'answered' | 'lost'): number {
  return counts.perConnection.reduce((total, c) => total + c[key], 0);
}

/** Answers an HTTP/2 stream with a small body, unless it is gone already. */
function answer(stream: ServerHttp2Stream): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ':status': 200 });
  stream.end('h2 ok');
}

/** The invariants of every HTTP/1.1 run, whatever the server did. */
function assertConsistent(c: Http1LoadCounts): void {
  assert.equal(c.perConnection.length, c.connectionsOpened);
  assert.equal(sum(c, 'answered'), c.answered);
  assert.equal(sum(c, 'lost'), c.lost);
  assert.equal(c.requestsSent, c.answered + c.lost + c.resetBeforeFirst, 'every request sent is settled after stop()');
}

/** The invariant of every HTTP/2 run: each stream started is answered, refused or dropped after stop(). */
function assertSettled(c: Http2LoadCounts): void {
  assert.equal(c.streamsStarted, c.answered + c.refused + c.dropped);
}

/** Starts an HTTP/2 load against `server`; the test's cleanup stops it, then closes the server. */
function loadAgainst(
  server: { readonly port: number; close(): Promise<void> },
  options: Omit<Http2LoadOptions, 'port'>,
  defer: (cleanup: () => unknown) => void,
): LoadRun<Http2LoadCounts> {
  defer(() => server.close());
  const load = startHttp2Load({ port: server.port, ...options });
  defer(() => load.stop(0));
  return load;
}

/** Stops `load` and returns its counts, checked for what every run must hold: no anomaly, every stream settled. */
async function stopSettled(load: LoadRun<Http2LoadCounts>): Promise<Http2LoadCounts> {
  const c = await load.stop();
  assert.deepEqual(c.anomalies, []);
  assertSettled(c);
  return c;
}

describe('startHttp1Load', guard, () => {
  it('counts every answer of a keep-alive server that never closes: nothing lost', () =>
    clean(async (defer) => {
      let served = 0;
      const server = http.createServer((_req, res) => {
        served++;
        res.end('ok');
      });
      const port = await listen(server);
      defer(() => shut(server));
      const load = startHttp1Load({ port, connections: 4 });
      defer(() => load.stop(0));
      await load.answeredAtLeast(300);
      assert.ok(load.counts().answered >= 300);
      const c = await load.stop();
      assert.deepEqual(c.anomalies, []);
      assertConsistent(c);
      assert.ok(c.answered >= 300);
      assert.equal(c.lost, 0);
      assert.equal(c.resetBeforeFirst, 0);
      assert.equal(c.refused, 0);
      assert.equal(c.non2xx, 0);
      assert.equal(c.closeResponses, 0);
      assert.equal(c.connectionsOpened, 4);
      assert.ok(
        c.perConnection.every((p) => p.answered > 0),
        JSON.stringify(c.perConnection),
      );
      assert.equal(served, c.requestsSent, 'the server saw exactly the requests sent');
      assert.deepEqual(await load.stop(), c, 'stop() again resolves the same counts');
    }));

  it('POST sends a whole body with its Content-Length; non-2xx answers are counted', () =>
    clean(async (defer) => {
      let busy = 0;
      let bad = 0;
      let served = 0;
      const server = http.createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          served++;
          if (req.method !== 'POST' || body.length === 0 || Number(req.headers['content-length']) !== Buffer.byteLength(body)) {
            bad++;
            res.statusCode = 400;
          } else if (served % 3 === 0) {
            busy++;
            res.statusCode = 503;
          }
          res.end(`got ${body.length}`);
        });
      });
      const port = await listen(server);
      defer(() => shut(server));
      const load = startHttp1Load({ port, connections: 2, method: 'POST', path: '/submit?x=1' });
      defer(() => load.stop(0));
      await load.answeredAtLeast(60);
      const c = await load.stop();
      assert.deepEqual(c.anomalies, []);
      assertConsistent(c);
      assert.equal(bad, 0);
      assert.ok(busy > 0);
      assert.equal(c.non2xx, busy);
      assert.equal(c.lost, 0);
    }));

  it('a connection destroyed under a request: lost once it had been answered, resetBeforeFirst before', () =>
    clean(async (defer) => {
      const destroyedMidConnection = { count: 0 };
      let destroyedFirst = 0;
      let accepted = 0;
      const number = new WeakMap<net.Socket, number>();
      const requests = new WeakMap<net.Socket, number>();
      const server = http.createServer((req, res) => {
        const socket = req.socket;
        const n = (requests.get(socket) ?? 0) + 1;
        requests.set(socket, n);
        if (number.get(socket) === 5 && n === 1) {
          destroyedFirst++; // the fifth connection, the first to reconnect: its first request
          socket.destroy();
        } else if (n === 3 && destroyedMidConnection.count < 4) {
          destroyedMidConnection.count++; // a third request: the connection answered two before
          socket.destroy();
        } else res.end('ok');
      });
      server.on('connection', (socket: net.Socket) => number.set(socket, ++accepted));
      const port = await listen(server);
      defer(() => shut(server));
      const load = startHttp1Load({ port, connections: 4 });
      defer(() => load.stop(0));
      await eventually(() => destroyedMidConnection.count === 4 && destroyedFirst === 1, 'the server destroyed 5 requests');
      await eventually(() => load.counts().connectionsOpened === 9, 'every slot reconnected');
      await load.answeredAtLeast(load.counts().answered + 50);
      const c = await load.stop();
      assert.deepEqual(c.anomalies, []);
      assertConsistent(c);
      assert.equal(c.lost, 4);
      assert.equal(c.resetBeforeFirst, 1);
      assert.equal(c.refused, 0);
      assert.equal(c.connectionsOpened, 9);
      assert.deepEqual(
        c.perConnection.filter((p) => p.lost > 0),
        [
          { answered: 2, lost: 1 },
          { answered: 2, lost: 1 },
          { answered: 2, lost: 1 },
          { answered: 2, lost: 1 },
        ],
      );
    }));

  it('a server closed abruptly under load (close + closeAllConnections): the requests in flight are lost, reconnects refused', () =>
    clean(async (defer) => {
      const server = http.createServer((_req, res) => res.end('ok'));
      const port = await listen(server);
      defer(() => shut(server));
      const load = startHttp1Load({ port, connections: 4 });
      defer(() => load.stop(0));
      await load.answeredAtLeast(100);
      const closed = shut(server);
      await eventually(() => load.counts().refused >= 4, 'reconnects refused');
      await closed;
      const c = await load.stop();
      assert.deepEqual(c.anomalies, []);
      assertConsistent(c);
      assert.equal(c.connectionsOpened, 4);
      assert.ok(c.lost > 0, 'the client sees the loss');
      assert.equal(c.lost + c.resetBeforeFirst, 4, 'each connection had a request outstanding');
    }));

  it('Connection: close answers are counted and their slot reconnects', () =>
    clean(async (defer) => {
      let closesSent = 0;
      const requests = new WeakMap<net.Socket, number>();
      const server = http.createServer((req, res) => {
        const n = (requests.get(req.socket) ?? 0) + 1;
        requests.set(req.socket, n);
        if (n === 3) {
          closesSent++;
          res.setHeader('Connection', 'close');
        }
        res.end('ok');
      });
      const port = await listen(server);
      defer(() => shut(server));
      const load = startHttp1Load({ port, connections: 3 });
      defer(() => load.stop(0));
      await load.answeredAtLeast(60);
      const c = await load.stop();
      assert.deepEqual(c.anomalies, []);
      assertConsistent(c);
      assert.equal(c.closeResponses, closesSent);
      assert.ok(c.closeResponses >= 10, String(c.closeResponses));
      assert.ok(c.connectionsOpened >= c.closeResponses && c.connectionsOpened <= c.closeResponses + 3, JSON.stringify(c));
      assert.ok(c.perConnection.every((p) => p.answered <= 3));
      assert.equal(c.lost + c.resetBeforeFirst, 0);
    }));

  it('parses responses however they are split: chunked with trailers, 1xx, 204, a body that ends at EOF', () =>
    clean(async (defer) => {
      // Each connection answers five requests, each response in pieces written 1 ms apart.
      const script: string[][] = [
        ['HTTP/1.1 200 OK\r\nTransfer-Enc', 'oding: chunked\r\n\r\n5\r', '\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-Trailer: t\r', '\n\r\n'],
        ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234', '56789'],
        ['HTTP/1.1 204 No Content\r\nX-A: 1\r\n', '\r\n'],
        ['H', 'TTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n'],
        ['HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until', ' the end'],
      ];
      const sockets = new Set<net.Socket>();
      let answersWritten = 0;
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
        let received = '';
        let next = 0;
        socket.setEncoding('latin1').on('data', async (chunk: string) => {
          received += chunk;
          while (received.includes('\r\n\r\n')) {
            received = received.slice(received.indexOf('\r\n\r\n') + 4);
            const pieces = script[next++]!;
            for (const [i, piece] of pieces.entries()) {
              if (socket.destroyed) return;
              socket.write(piece);
              if (i < pieces.length - 1) await sleep(1);
            }
            answersWritten++; // counted as its last byte is written, before the client can count it
            if (next === script.length) socket.end();
          }
        });
      });
      const port = await listen(server);
      defer(() => shut(server, sockets));
      const load = startHttp1Load({ port, connections: 2 });
      defer(() => load.stop(0));
      await load.answeredAtLeast(20);
      const c = await load.stop();
      assert.deepEqual(c.anomalies, []);
      assertConsistent(c);
      assert.equal(c.lost + c.resetBeforeFirst, 0);
      assert.equal(c.answered, answersWritten);
      assert.equal(c.non2xx, 0, 'the 100 is interim, not an answer');
      assert.equal(c.closeResponses, c.perConnection.filter((p) => p.answered === 5).length);
      assert.ok(c.perConnection.every((p) => p.answered <= 5));
    }));

  it('two responses to one request: an anomaly, and the connection is replaced; nothing miscounted', () =>
    clean(async (defer) => {
      const sockets = new Set<net.Socket>();
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
        socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb'));
      });
      const port = await listen(server);
      defer(() => shut(server, sockets));
      const load = startHttp1Load({ port, connections: 1 });
      defer(() => load.stop(0));
      await load.answeredAtLeast(3);
      const c = await load.stop();
      assertConsistent(c);
      assert.ok(c.anomalies.length >= 3);
      assert.match(c.anomalies[0]!, /bytes after a complete response/);
      assert.equal(c.connectionsOpened, c.answered, 'one answer per connection, then it is replaced');
      assert.equal(c.lost + c.resetBeforeFirst, 0);
    }));

  it('https: the same counts over node:tls, with the fixture certificate as CA', () =>
    clean(async (defer) => {
      let served = 0;
      const server = https.createServer(tlsFiles, (_req, res) => {
        served++;
        res.end('ok over tls');
      });
      const port = await listen(server);
      defer(() => shut(server));
      const load = startHttp1Load({ port, connections: 3, tls: { ca: tlsFiles.cert } });
      defer(() => load.stop(0));
      await load.answeredAtLeast(100);
      const c = await load.stop();
      assert.deepEqual(c.anomalies, []);
      assertConsistent(c);
      assert.equal(c.connectionsOpened, 3);
      assert.equal(c.lost + c.resetBeforeFirst + c.refused, 0);
      assert.equal(served, c.answered);
    }));

  it('nothing listening: connects are refused, retried after retryDelayMs, and stop() leaves nothing behind', () =>
    clean(async (defer) => {
      const port = await freePort();
      const load = startHttp1Load({ port, connections: 2, retryDelayMs: 2 });
      defer(() => load.stop(0));
      await assert.rejects(load.answeredAtLeast(1, 100), /0 of 1 responses answered/);
      const c = await load.stop();
      assert.ok(c.refused >= 4, String(c.refused));
      assert.equal(c.connectionsOpened + c.requestsSent + c.answered, 0);
      assert.deepEqual(c.anomalies, []);
    }));

  it('rejects options it cannot honour, at the call', () => {
    assert.throws(() => startHttp1Load({ port: 1, connections: 0 }), RangeError);
    assert.throws(() => startHttp1Load({ port: 1, connections: 1, path: 'no-slash' }), TypeError);
    assert.throws(() => startHttp1Load({ port: 1, connections: 1, path: '/a b' }), TypeError);
    assert.throws(() => startHttp2Load({ port: 1, sessions: 1, streamsPerSession: 0 }), RangeError);
  });
});

describe('startHttp2Load', guard, () => {
  /** An h2c (or h2 over TLS) server; `onStream` decides each stream's fate. Numbers sessions from 1. */
  async function h2Server(
    onStream: (stream: ServerHttp2Stream, sessionNumber: number) => void,
    secure = false,
  ): Promise<{ port: number; close(): Promise<void>; sessions: Http2Session[] }> {
    const server = secure ? http2.createSecureServer(tlsFiles) : http2.createServer();
    const sessions: Http2Session[] = [];
    const numbers = new WeakMap<Http2Session, number>();
    server.on('session', (session: Http2Session) => {
      sessions.push(session);
      numbers.set(session, sessions.length);
      session.on('error', () => {});
    });
    server.on('stream', (stream: ServerHttp2Stream) => {
      stream.on('error', () => {});
      onStream(stream, numbers.get(stream.session!)!);
    });
    const port = await listen(server);
    return {
      port,
      sessions,
      close: () => {
        for (const session of sessions) session.destroy();
        return shut(server);
      },
    };
  }

  it('counts every answered stream of a server that never closes: nothing refused or dropped', { skip: needs('http2Client') }, () =>
    clean(async (defer) => {
      let streams = 0;
      const server = await h2Server((stream) => {
        streams++;
        answer(stream);
      });
      const load = loadAgainst(server, { sessions: 2, streamsPerSession: 4 }, defer);
      await load.answeredAtLeast(300);
      const c = await stopSettled(load);
      assert.ok(c.answered >= 300);
      assert.equal(c.refused, 0);
      assert.equal(c.dropped, 0);
      assert.equal(c.sessionsOpened, 2);
      assert.equal(c.goaways, 0);
      assert.equal(c.connectRefused, 0);
      assert.equal(streams, c.streamsStarted);
    }),
  );

  it('h2 over TLS: the same counts', { skip: needs('http2Client') }, () =>
    clean(async (defer) => {
      const server = await h2Server(answer, true);
      const load = loadAgainst(server, { sessions: 2, streamsPerSession: 3, tls: { ca: tlsFiles.cert } }, defer);
      await load.answeredAtLeast(150);
      const c = await stopSettled(load);
      assert.equal(c.refused + c.dropped, 0);
      assert.equal(c.sessionsOpened, 2);
    }),
  );

  it('the server closes sessions gracefully (GOAWAY) with streams in flight: nothing dropped, new sessions continue', { skip: needs('http2Client') }, () =>
    clean(async (defer) => {
      let received = 0;
      let answered = 0;
      const closedSessions = new Set<Http2Session>();
      const server = await h2Server((stream, sessionNumber) => {
        received++;
        setTimeout(() => {
          if (!stream.destroyed && !stream.closed) answered++;
          answer(stream);
        }, 5);
        if (received >= 20 && sessionNumber <= 2 && !closedSessions.has(stream.session!)) {
          closedSessions.add(stream.session!);
          stream.session!.close(); // GOAWAY with the last stream it processed; in-flight streams still finish
        }
      });
      const load = loadAgainst(server, { sessions: 2, streamsPerSession: 4 }, defer);
      await eventually(() => closedSessions.size === 2, 'the server closed two sessions');
      await load.answeredAtLeast(load.counts().answered + 40);
      const c = await stopSettled(load);
      assert.equal(c.dropped, 0);
      assert.equal(c.refused, c.streamsStarted - received, 'refused: exactly the streams the server never accepted');
      assert.ok(c.goaways >= 2, String(c.goaways));
      assert.ok(c.sessionsOpened >= 4, String(c.sessionsOpened));
      assert.equal(c.answered, answered, 'every stream the server answered was counted answered');
      assert.equal(c.answered, received, 'every stream the server accepted was answered; the rest were refused');
    }),
  );

  it(
    'classifies exactly: above a GOAWAY last-stream-id and RST_STREAM REFUSED_STREAM are refused, another RST code is dropped',
    { skip: needs('http2Client') },
    () =>
      clean(async (defer) => {
        const held: ServerHttp2Stream[] = [];
        const server = await h2Server((stream, sessionNumber) => {
          if (sessionNumber === 1) {
            held.push(stream); // streams 1, 3, 5, 7
            if (held.length === 4) {
              stream.session!.goaway(NGHTTP2_NO_ERROR, 3); // 5 and 7 above the last stream id: refused
              held.slice(0, 2).forEach(answer);
            }
          } else if (sessionNumber === 2 && stream.id === 1) stream.close(NGHTTP2_REFUSED_STREAM);
          else if (sessionNumber === 2 && stream.id === 3) stream.close(NGHTTP2_INTERNAL_ERROR);
          else answer(stream);
        });
        const load = loadAgainst(server, { sessions: 1, streamsPerSession: 4 }, defer);
        await load.answeredAtLeast(30);
        const c = await stopSettled(load);
        assert.equal(c.goaways, 1);
        assert.equal(c.refused, 3, 'streams 5 and 7 of the first session, stream 1 of the second');
        assert.equal(c.dropped, 1, 'stream 3 of the second session');
        assert.equal(c.sessionsOpened, 2);
      }),
  );

  it('the server destroys sessions with streams it accepted in flight: each of them is dropped', { skip: needs('http2Client') }, () =>
    clean(async (defer) => {
      const held = new Map<Http2Session, number>();
      let received = 0;
      const server = await h2Server((stream, sessionNumber) => {
        received++;
        if (sessionNumber > 2) {
          answer(stream);
          return;
        }
        const session = stream.session!;
        held.set(session, (held.get(session) ?? 0) + 1);
        if (held.get(session) === 4) session.destroy(); // all four streams of this session were accepted
      });
      const load = loadAgainst(server, { sessions: 2, streamsPerSession: 4 }, defer);
      await load.answeredAtLeast(40);
      const c = await stopSettled(load);
      assert.equal(c.dropped, 8);
      // Its RST_STREAMs reach the client before its GOAWAY: streams started in between are above the GOAWAY's
      // last stream id, refused, and the server never saw them.
      assert.equal(received, c.answered + c.dropped);
      assert.equal(c.sessionsOpened, 4);
    }),
  );

  it('nothing listening: connects are refused and retried; stop() leaves nothing behind', () =>
    clean(async (defer) => {
      const port = await freePort();
      const load = startHttp2Load({ port, sessions: 2, streamsPerSession: 2, retryDelayMs: 2 });
      defer(() => load.stop(0));
      await assert.rejects(load.answeredAtLeast(1, 100));
      const c = await load.stop();
      assert.ok(c.connectRefused >= 4, String(c.connectRefused));
      assert.equal(c.sessionsOpened + c.streamsStarted, 0);
      assert.deepEqual(c.anomalies, []);
    }));
});

describe("Node's HTTP/2 client, as startHttp2Load relies on it", guard, () => {
  it('reports rstCode 7 (REFUSED_STREAM) for streams above a GOAWAY last-stream-id and for RST_STREAM REFUSED_STREAM', {
    skip: needs('http2Client'),
  }, async () => {
    const server = http2.createServer();
    const held: ServerHttp2Stream[] = [];
    const sessions: Http2Session[] = [];
    server.on('session', (session: Http2Session) => sessions.push(session.on('error', () => {})));
    server.on('stream', (stream: ServerHttp2Stream) => {
      stream.on('error', () => {});
      held.push(stream); // ids 1, 3, 5, 7, 9
      if (held.length < 5) return;
      held[0]!.close(NGHTTP2_REFUSED_STREAM);
      held[1]!.close(NGHTTP2_INTERNAL_ERROR);
      stream.session!.goaway(NGHTTP2_NO_ERROR, 5);
      answer(held[2]!);
    });
    const port = await listen(server);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      let goaway: number | undefined;
      client.on('goaway', (_code: number, last: number) => (goaway = last));
      const outcomes = await Promise.all(
        Array.from(
          { length: 5 },
          () =>
            new Promise<string>((resolve) => {
              const stream = client.request({ ':path': '/' });
              stream.on('error', () => {});
              stream.resume();
              stream.on('close', () => resolve(`${stream.id}:${stream.rstCode}`));
            }),
        ),
      );
      assert.equal(goaway, 5);
      assert.deepEqual(outcomes, ['1:7', '3:2', '5:0', '7:7', '9:7']);
    } finally {
      client.destroy(); // after a GOAWAY Node keeps the socket until the server closes it:
      for (const session of sessions) session.destroy();
      await shut(server);
    }
  });

  it("emits 'end' on a stream closed under it, but only once it is closed; a real END_STREAM ends it open", { skip: needs('http2Client') }, async () => {
    const server = http2.createServer();
    server.on('session', (session: Http2Session) => session.on('error', () => {}));
    server.on('stream', (stream: ServerHttp2Stream) => {
      stream.on('error', () => {});
      stream.respond({ ':status': 200 });
      if (stream.id === 1) stream.end('whole');
      else {
        stream.write('part');
        setTimeout(() => stream.session?.destroy(), 20);
      }
    });
    const port = await listen(server);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    try {
      const ends: string[] = [];
      const closed = (stream: ClientHttp2Stream) =>
        new Promise<void>((resolve) => {
          stream.on('error', () => {});
          stream.resume();
          stream.on('end', () => ends.push(`${stream.id} closed=${stream.closed}`));
          stream.on('close', () => resolve());
        });
      await closed(client.request({ ':path': '/' }));
      await closed(client.request({ ':path': '/' }));
      assert.deepEqual(ends, ['1 closed=false', '3 closed=true']);
    } finally {
      client.destroy();
      await shut(server);
    }
  });
});
