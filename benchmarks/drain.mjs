#!/usr/bin/env node
// HTTP/1.1 keep-alive drains: requests lost per shutdown, for four graceful-shutdown systems
// (benchmarks/drain/<system>.mjs: Node's own server.close(), stoppable, fastify, supervise).
//
// One measurement: the server program in a fresh process (on the Node version under test), the load
// client (`startHttp1Load`, spec/load-clients.ts, built to dist/spec/load-clients.js; it runs in this
// process) keeping N keep-alive connections busy, SIGTERM once a few thousand requests are answered
// (or after ~1 s), the time from SIGTERM to the process's exit, then the load's counts.
//
//   node benchmarks/drain.mjs [options]    after `npm run build` and `npm --prefix benchmarks ci`
//
// Options: --runs=10, --connections=16,64,256, --systems=node,stoppable,fastify,supervise,
//          --handler=fast,slow, --node=20,24, --write (rewrite the drain section of RESULTS.md,
//          between <!-- drain:start --> and <!-- drain:end -->, and RESULTS-drain.json; without it
//          the tables go to stdout only). DRAIN_DELAY (ms) is passed on to the supervise server.
//          Exit code 1 when a measurement failed (no exit within 30 s, an exit code other than 0, ...).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gitCommit, packageVersion } from './lib/provenance.mjs';
import { list, parseOptions } from './lib/cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

// ---------------------------------------------------------------------------------------------
// Options

const { args, usage } = parseOptions(
  process.argv.slice(2),
  ['runs', 'connections', 'systems', 'handler', 'node', 'write', 'help'],
  'drain.mjs',
  'usage: node benchmarks/drain.mjs [--runs=10] [--connections=16,64,256] [--systems=node,stoppable,fastify,supervise] [--handler=fast,slow] [--node=20,24] [--write]',
);
const SYSTEMS = ['node', 'stoppable', 'fastify', 'supervise'];
const HANDLERS = ['fast', 'slow'];
const config = {
  runs: Number(args.runs ?? 10),
  connections: list(args.connections ?? '16,64,256').map(Number),
  systems: list(args.systems ?? SYSTEMS.join(',')),
  handlers: list(args.handler ?? HANDLERS.join(',')),
  nodes: list(args.node ?? '20,24'),
  /** SIGTERM once the load has answered this many requests, or after WARM_MS, whichever comes first. */
  answeredBeforeSigterm: 3_000,
  warmMs: 1_000,
  drainDelay: Number(process.env.DRAIN_DELAY ?? 0),
};
if (!(Number.isInteger(config.runs) && config.runs >= 1)) usage('bad --runs');
for (const c of config.connections) if (!(Number.isInteger(c) && c >= 1)) usage(`bad --connections ${c}`);
for (const s of config.systems) if (!SYSTEMS.includes(s)) usage(`unknown system ${s}`);
for (const h of config.handlers) if (!HANDLERS.includes(h)) usage(`unknown handler ${h}`);
const write = args.write === true;

/** Bounds: the server must say it listens within STARTUP_MS; it must exit within EXIT_MS of SIGTERM. */
const STARTUP_MS = 10_000;
const EXIT_MS = 30_000;
const STOP_GRACE_MS = 1_000;
const STOP_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// The load client and the library under test

const clientPath = join(root, 'dist', 'spec', 'load-clients.js');
if (!existsSync(clientPath)) {
  console.error('drain.mjs: dist/spec/load-clients.js is missing: run `npm run build` first');
  process.exit(2);
}
const { startHttp1Load } = await import(pathToFileURL(clientPath).href);

// supervise: a snapshot of dist/lib taken now, so that a rebuild by someone else during the run
// (`npm run build` starts with `rm -rf dist`) changes nothing (run.mjs does the same).
let distDigest = '–';
const commitAtSnapshot = gitCommit(root); // what dist/lib was built from when it was copied, not when the run ends
const snapshot = join(here, 'drain', '.snapshot', 'lib');
if (config.systems.includes('supervise')) {
  const distLib = join(root, 'dist', 'lib');
  if (!existsSync(join(distLib, 'index.js'))) {
    console.error('drain.mjs: dist/lib/index.js is missing: run `npm run build` first');
    process.exit(2);
  }
  rmSync(snapshot, { recursive: true, force: true });
  mkdirSync(snapshot, { recursive: true });
  cpSync(distLib, snapshot, { recursive: true, filter: (src) => !/\.(d\.ts|map)$/.test(src) });
  const hash = createHash('sha256');
  for (const file of readdirSync(snapshot).sort()) if (file.endsWith('.js')) hash.update(file).update(readFileSync(join(snapshot, file)));
  distDigest = hash.digest('hex').slice(0, 12);
}

function nodeBinary(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  return execFileSync(process.execPath, [join(root, 'scripts', 'ensure-node.mjs'), major], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

// ---------------------------------------------------------------------------------------------
// One measurement

/** The server process now running, so that an interrupted harness leaves no server behind. */
let current;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    current?.kill('SIGKILL');
    process.exit(128 + os.constants.signals[signal]);
  });
}

function timeout(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Whether each of the first `connections` connections has had an answer. */
function everyConnectionAnswered(counts, connections) {
  return counts.perConnection.length >= connections && counts.perConnection.slice(0, connections).every((c) => c.answered >= 1);
}

async function measure(bin, system, connections, handler) {
  const sample = { system, connections, handler, ok: false, failure: undefined };
  const child = spawn(bin, [join(here, 'drain', `${system}.mjs`)], {
    cwd: root,
    env: { ...process.env, HANDLER: handler, SUPERVISE_DIST: join(snapshot, 'index.js'), DRAIN_DELAY: String(config.drainDelay) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  current = child;
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s) => {
    if (stderr.length < 8_000) stderr += s;
  });
  let exitedAt;
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exitedAt = performance.now();
      resolve({ code, signal });
    }),
  );
  let load;
  try {
    // 1. The server says where it listens.
    const port = await new Promise((resolvePort, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no "listening <port>" within ${STARTUP_MS} ms`)), STARTUP_MS);
      child.stdout.setEncoding('utf8').on('data', (s) => {
        out += s;
        const match = /^listening (\d+)$/m.exec(out);
        if (match) {
          clearTimeout(timer);
          resolvePort(Number(match[1]));
        }
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code ?? signal}) before listening`));
      });
    });

    // 2. Load, until every connection has been answered at least once and a few thousand requests
    //    are answered (or ~1 s): a connection still in the kernel's accept queue at SIGTERM would
    //    measure the listen backlog, not the drain.
    load = startHttp1Load({ port, host: '127.0.0.1', connections, path: '/', method: 'GET' });
    await Promise.race([load.answeredAtLeast(config.answeredBeforeSigterm, config.warmMs).catch(() => {}), sleep(config.warmMs + 500)]);
    for (let waited = 0; waited < 10_000 && !everyConnectionAnswered(load.counts(), connections); waited += 10) await sleep(10);
    if (exitedAt !== undefined) throw new Error(`exited (${(await exited).code}) under load, before SIGTERM`);
    sample.answeredBeforeSigterm = load.counts().answered;

    // 3. SIGTERM; the drain time is SIGTERM to the process's exit, bounded.
    const sentAt = performance.now();
    child.kill('SIGTERM');
    const bound = timeout(EXIT_MS, `no exit within ${EXIT_MS / 1000} s of SIGTERM: killed`);
    let exit;
    try {
      exit = await Promise.race([exited, bound.promise]);
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      throw error;
    } finally {
      bound.cancel();
    }
    sample.drainMs = exitedAt - sentAt;
    sample.exitCode = exit.code;
    sample.exitSignal = exit.signal ?? undefined;

    // 4. The load's counts.
    const stopBound = timeout(STOP_MS, `load.stop() did not settle within ${STOP_MS / 1000} s`);
    let counts;
    try {
      counts = await Promise.race([load.stop(STOP_GRACE_MS), stopBound.promise]);
    } finally {
      stopBound.cancel();
    }
    load = undefined;
    Object.assign(sample, {
      lost: counts.lost,
      resetBeforeFirst: counts.resetBeforeFirst,
      non2xx: counts.non2xx,
      closeResponses: counts.closeResponses,
      refused: counts.refused,
      answered: counts.answered,
      requestsSent: counts.requestsSent,
      connectionsOpened: counts.connectionsOpened,
      maxLostOnOneConnection: Math.max(0, ...(counts.perConnection ?? []).map((c) => c.lost)),
      anomalies: (counts.anomalies ?? []).slice(0, 10),
      anomalyCount: (counts.anomalies ?? []).length,
    });
    if (exit.code !== 0) throw new Error(`exit ${exit.code ?? exit.signal}`);
    sample.ok = true;
  } catch (error) {
    sample.failure = `${error.message}${stderr.trim() ? `; stderr: ${stderr.trim().split('\n').slice(0, 3).join(' / ')}` : ''}`;
    if (exitedAt === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    if (load !== undefined) await Promise.race([load.stop(0).catch(() => {}), sleep(STOP_MS)]);
  } finally {
    current = undefined;
  }
  return sample;
}

// ---------------------------------------------------------------------------------------------
// The runs: systems interleaved within each run (A B C D A B C D …)

const startedAt = new Date();
const t0 = Date.now();
const results = {}; // major -> { bin, version, samples: [] }
let failures = 0;
const r0 = (x) => (x === undefined ? '–' : Math.round(x));

for (const major of config.nodes) {
  const bin = nodeBinary(major);
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  const state = (results[major] = { bin, version, loadBefore: os.loadavg(), samples: [], startedMs: Date.now() });
  for (let run = 1; run <= config.runs; run++) {
    for (const handler of config.handlers) {
      for (const connections of config.connections) {
        for (const system of config.systems) {
          const s = await measure(bin, system, connections, handler);
          s.run = run;
          state.samples.push(s);
          if (!s.ok) failures++;
          if (s.anomalyCount) console.error(`    client anomalies (${s.anomalyCount}): ${s.anomalies.join(' | ')}`);
          const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
          const line = s.ok
            ? `lost ${s.lost}, reset before first ${s.resetBeforeFirst}, non-2xx ${s.non2xx}, close ${s.closeResponses}, refused ${s.refused}, drain ${r0(s.drainMs)} ms (${s.answeredBeforeSigterm} answered before SIGTERM)`
            : `FAILED: ${s.failure}`;
          console.error(
            `[${elapsed.padStart(4)} s] node ${major} run ${run}/${config.runs}  ${handler.padEnd(4)} c=${String(connections).padEnd(4)} ${system.padEnd(9)} ${line}`,
          );
          if (!s.ok) console.error(`\n!!! MEASUREMENT FAILED: node ${major} ${system} ${handler} c=${connections} run ${run}: ${s.failure}\n`);
        }
      }
    }
  }
  state.loadAfter = os.loadavg();
  state.durationS = (Date.now() - state.startedMs) / 1000;
}
rmSync(join(here, 'drain', '.snapshot'), { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------
// Tables

function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, max: v[v.length - 1] };
}
function fmt(x) {
  if (x === undefined) return '–';
  return x.toLocaleString('en-US', { maximumFractionDigits: Number.isInteger(x) ? 0 : 1 });
}
function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((h, i) => (i < 3 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
function nodeTable(major) {
  const rows = [];
  for (const handler of config.handlers) {
    for (const connections of config.connections) {
      for (const system of config.systems) {
        const all = results[major].samples.filter((s) => s.system === system && s.connections === connections && s.handler === handler);
        const ok = all.filter((s) => s.ok);
        const get = (key) => stats(ok.map((s) => s[key]));
        const lost = get('lost');
        const failed = all.length - ok.length;
        rows.push([
          handler === 'slow' ? 'slow (50 ms)' : 'fast',
          fmt(connections),
          system === 'supervise' ? '**supervise**' : system,
          fmt(lost?.median),
          fmt(lost?.max),
          fmt(get('resetBeforeFirst')?.median),
          fmt(get('non2xx')?.median),
          fmt(get('drainMs') === undefined ? undefined : Math.round(get('drainMs').median)),
          `${ok.length}${failed ? ` (**${failed} FAILED**)` : ''}`,
        ]);
      }
    }
  }
  return table(
    [
      'handler',
      'connections',
      'system',
      'lost per shutdown (median)',
      'lost (max)',
      'connections reset before their first response (median)',
      '503/non-2xx (median)',
      'drain ms (median)',
      'runs',
    ],
    rows,
  );
}

const cpus = os.cpus();
const rel = (p) => (p.startsWith(root + '/') ? relative(root, p) : p);
const command = `node benchmarks/drain.mjs${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`;
const full =
  config.runs >= 10 &&
  config.nodes.length >= 2 &&
  config.connections.length >= 3 &&
  config.systems.length === SYSTEMS.length &&
  config.handlers.length === HANDLERS.length;
const SYSTEM_NOTES = {
  node: () => 'node: `server.close()` and `closeIdleConnections()`, `closeAllConnections()` after 10 s',
  stoppable: () => `stoppable ${packageVersion(join(here, 'node_modules/stoppable/package.json'))}: \`stoppable(server, 10_000)\`, \`server.stop()\``,
  fastify: () =>
    `fastify ${packageVersion(join(here, 'node_modules/fastify/package.json'))}: \`await app.close()\` with the defaults (\`forceCloseConnections: 'idle'\`, \`return503OnClosing: true\`)`,
  supervise: () =>
    `**supervise**: \`sup.adopt(server, closeServer)\` under \`run()\`, \`drainDelay: ${config.drainDelay}\` (commit ${commitAtSnapshot}; \`dist/lib\` snapshot sha256 ${distDigest}…)`,
};
const minutes = (Date.now() - t0) / 60_000;
const section = [];
section.push(`<!-- drain:start -->
## HTTP/1.1 keep-alive drains: requests lost per shutdown

Written by \`${command}\` on ${startedAt.toISOString()} (${minutes < 2 ? `${fmt(Math.round(minutes * 60))} s` : `${fmt(Math.round(minutes * 10) / 10)} min`}); do not edit by hand.${full ? '' : ' **Not the full run (`node benchmarks/drain.mjs --write`): not for conclusions.**'}

Method: the server (\`benchmarks/drain/<system>.mjs\`, a fresh process on 127.0.0.1) answers 200 \`hello\\n\` synchronously (fast) or after an async 50 ms wait (slow); the load client (\`startHttp1Load\`, \`spec/load-clients.ts\`, in the harness's process on Node ${process.version}) keeps N HTTP/1.1 keep-alive connections busy; SIGTERM once every connection has been answered and ${fmt(config.answeredBeforeSigterm)} requests are (or after ${fmt(config.warmMs / 1000)} s); drain time is SIGTERM to the process's exit (killed and counted failed after ${EXIT_MS / 1000} s); ${config.runs} run${config.runs > 1 ? 's' : ''} per row, systems interleaved within each run; machine: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} shared cores.

**Lost**: a request written on a keep-alive connection that had already been answered at least once, and never answered, because the server closed the connection under it; the client cannot know whether it ran, so this must be 0 (connections reset before their first response, and 503s, are counted apart).

Systems: ${config.systems.map((s) => SYSTEM_NOTES[s]()).join('; ')}.
`);
for (const major of config.nodes) {
  const r = results[major];
  section.push(
    `### Node ${r.version}\n\nServer binary \`${rel(r.bin)}\`; ${fmt(Math.round(r.durationS))} s; load average ${r.loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${r.loadAfter.map((x) => x.toFixed(2)).join(' ')} after.\n`,
  );
  section.push(nodeTable(major));
  const failed = r.samples.filter((s) => !s.ok);
  if (failed.length)
    section.push(
      `\nFailed runs (left out of the medians):\n\n${failed.map((s) => `- ${s.handler} c=${s.connections} ${s.system} run ${s.run}: ${s.failure}`).join('\n')}`,
    );
  section.push('');
}
section.push('<!-- drain:end -->');
const markdown = section.join('\n');

console.log(`\n${markdown}`);

if (write) {
  const resultsMd = join(here, 'RESULTS.md');
  const text = existsSync(resultsMd) ? readFileSync(resultsMd, 'utf8') : '# Benchmarks\n';
  const marked = /<!-- drain:start -->[\s\S]*?<!-- drain:end -->/;
  let next;
  if (marked.test(text)) next = text.replace(marked, () => markdown);
  else {
    // Right after the document's first heading and its intro paragraph: before the second heading.
    const first = text.search(/^#{1,6} /m);
    const rest = first < 0 ? -1 : text.slice(first).search(/\n#{1,6} /);
    const second = rest < 0 ? -1 : first + rest;
    if (second < 0) next = `${text.trimEnd()}\n\n${markdown}\n`;
    else next = `${text.slice(0, second + 1)}${markdown}\n\n${text.slice(second + 1)}`;
  }
  writeFileSync(resultsMd, next);
  writeFileSync(join(here, 'RESULTS-drain.json'), JSON.stringify({ config, command, startedAt, results }, null, 1) + '\n');
  console.error(`\nwrote ${rel(resultsMd)} (its drain section) and ${rel(join(here, 'RESULTS-drain.json'))}`);
}
if (failures > 0) {
  console.error(`\n!!! ${failures} measurement(s) FAILED: see the messages above`);
  process.exit(1);
}
