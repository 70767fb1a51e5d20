// The README's deployment section against the code: its table of hosts, its PM2 ecosystem file,
// its systemd unit and its Dockerfile must agree with the defaults supervise ships and with the
// warning it prints under PM2. A default changed without the docs, or a sample that would be
// SIGKILLed, fails here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { hostLimitWarning } from '../lib/host-limit.js';
import { resolveRootOptions } from '../lib/options.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = (() => {
  const start = readme.indexOf('## Deploying: stop signals and grace periods');
  assert.ok(start >= 0, 'the README has its deployment section');
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
})();
const defaults = resolveRootOptions({});
/** The whole shutdown with the defaults: what must fit inside a host's grace period. */
const defaultShutdownMs = defaults.drainDelay + defaults.shutdownTimeout;

/** The one fenced block of `language` in the deployment section. */
function block(language: string): string {
  const blocks = [...section.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))];
  assert.equal(blocks.length, 1, `one ${language} block`);
  return blocks[0]![1]!;
}

interface HostRow {
  readonly host: string;
  readonly graceMs: number;
  readonly verdict: string;
}

const hosts: HostRow[] = section
  .split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| host') && !line.startsWith('| ---'))
  .map((line) => {
    const cells = line.split('|').map((cell) => cell.trim());
    const grace = /^(\d+(?:\.\d+)?) s$/.exec(cells[3]!);
    assert.ok(grace, `a grace period in seconds for ${cells[1]}: ${cells[3]}`);
    return { host: cells[1]!, graceMs: Number(grace[1]) * 1000, verdict: cells[5]! };
  });

describe("the README's hosts", () => {
  it('lists the hosts users deploy to', () => {
    assert.deepEqual(
      hosts.map((row) => row.host.split(',')[0]),
      ['Docker', 'Kubernetes', 'systemd', 'PM2', 'Cloud Run', 'Amazon ECS', 'Heroku'],
    );
  });

  it("says truly whether the defaults fit each host's grace period, with a tenth to spare", () => {
    for (const { host, graceMs, verdict } of hosts) {
      const fits = defaultShutdownMs <= graceMs * 0.9;
      assert.equal(verdict.startsWith('fit'), fits, `${host}: ${verdict}, grace ${graceMs} ms, shutdown ${defaultShutdownMs} ms`);
      const spare = /(\d+) s to spare/.exec(verdict);
      if (spare) assert.equal(Number(spare[1]) * 1000, graceMs - defaultShutdownMs, `${host}: ${verdict}`);
    }
  });

  it('PM2, the host whose default does not fit, is the one supervise warns about', () => {
    const pm2 = hosts.find((row) => row.host === 'PM2');
    assert.ok(pm2);
    assert.match(pm2.verdict, /supervise warns/);
    assert.match(hostLimitWarning('api', defaults.drainDelay, defaults.shutdownTimeout, { pm_id: '0' }) ?? '', new RegExp(`kills it ${pm2.graceMs} ms`));
  });

  it('the PM2 ecosystem file gives the defaults a kill_timeout they fit in', () => {
    const module = { exports: {} as { apps?: Array<Record<string, unknown>> } };
    new Function('module', block('js'))(module);
    const apps = module.exports.apps ?? [];
    assert.equal(apps.length, 1);
    for (const app of apps) {
      assert.equal(typeof app.kill_timeout, 'number');
      const env = { pm_id: '0', kill_timeout: String(app.kill_timeout) };
      assert.equal(hostLimitWarning(String(app.name), defaults.drainDelay, defaults.shutdownTimeout, env), undefined);
    }
  });

  it('the systemd unit signals node alone and waits longer than the default shutdown', () => {
    const unit = block('ini');
    const setting = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(unit)?.[1];
    assert.equal(setting('KillMode'), 'mixed');
    assert.equal(setting('KillSignal'), 'SIGTERM');
    assert.ok(defaults.signals.includes('SIGTERM'));
    assert.ok(Number(setting('TimeoutStopSec')) * 1000 * 0.9 >= defaultShutdownMs, `TimeoutStopSec=${setting('TimeoutStopSec')}`);
    assert.match(setting('ExecStart') ?? '', /^\/usr\/bin\/node \S+\.js$/, 'node itself is the main process');
  });

  it('the Dockerfile runs node as PID 1 with a signal supervise listens to', () => {
    const dockerfile = block('dockerfile');
    const cmd = /^CMD (.*)$/m.exec(dockerfile)?.[1] ?? '';
    const argv: unknown = JSON.parse(cmd);
    assert.ok(Array.isArray(argv) && argv[0] === 'node', `the exec form, starting node itself: ${cmd}`);
    const stopSignal = /^STOPSIGNAL (\S+)$/m.exec(dockerfile)?.[1];
    assert.ok(stopSignal !== undefined && defaults.signals.includes(stopSignal as NodeJS.Signals), `STOPSIGNAL ${stopSignal}`);
  });
});
