import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { hostLimitWarning } from '../lib/host-limit.js';

const guard = { timeout: 120_000 };
const app = fileURLToPath(new URL('./fixtures/host-limit-app.js', import.meta.url));

/** Runs the app under a PM2-like environment and returns what it printed. */
function runApp(env: Record<string, string>, supervisors: object[]): Promise<{ stdout: string; warnings: string[] }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, SUPERVISORS: JSON.stringify(supervisors) };
  for (const name of ['pm_id', 'kill_timeout', 'PM2_KILL_TIMEOUT']) delete childEnv[name];
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [app], { env: childEnv, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve({ stdout, warnings: stderr.split('\n').filter((line) => line.includes('PM2 kills it')) });
    });
  });
}

describe("the host's stop limit (PM2's kill_timeout)", guard, () => {
  it('says nothing outside PM2', () => {
    assert.equal(hostLimitWarning('app', 0, 8_000, {}), undefined);
    assert.equal(hostLimitWarning('app', 0, 8_000, { kill_timeout: '100' }), undefined, 'kill_timeout alone is not PM2');
  });

  it("warns under PM2's default of 1 600 ms, with the kill_timeout that would fit", () => {
    const warning = hostLimitWarning('app', 0, 8_000, { pm_id: '0' });
    assert.equal(
      warning,
      `supervise: "app" may take 8000 ms to shut down (drainDelay 0 + shutdownTimeout 8000), but PM2 kills it 1600 ms after asking it to stop (PM2's default kill_timeout): set kill_timeout to at least 8889 in the app's ecosystem file, or lower shutdownTimeout`,
    );
  });

  it("reads the app's kill_timeout, then the daemon's PM2_KILL_TIMEOUT", () => {
    assert.equal(hostLimitWarning('app', 0, 8_000, { pm_id: '1', kill_timeout: '10000' }), undefined);
    assert.match(hostLimitWarning('app', 0, 8_000, { pm_id: '1', kill_timeout: '8500' }) ?? '', /kills it 8500 ms .*\(kill_timeout\)/);
    assert.equal(hostLimitWarning('app', 0, 8_000, { pm_id: '1', PM2_KILL_TIMEOUT: '9000' }), undefined);
    assert.match(hostLimitWarning('app', 0, 8_000, { pm_id: '1', PM2_KILL_TIMEOUT: '5000' }) ?? '', /kills it 5000 ms .*\(PM2_KILL_TIMEOUT\)/);
    // The app's own setting wins over the daemon's.
    assert.equal(hostLimitWarning('app', 0, 8_000, { pm_id: '1', kill_timeout: '20000', PM2_KILL_TIMEOUT: '1000' }), undefined);
  });

  it('keeps a tenth of the limit for the report and the exit', () => {
    assert.equal(hostLimitWarning('app', 0, 900, { pm_id: '0', kill_timeout: '1000' }), undefined);
    assert.notEqual(hostLimitWarning('app', 0, 901, { pm_id: '0', kill_timeout: '1000' }), undefined);
  });

  it('counts drainDelay, and names an endless shutdown', () => {
    assert.match(
      hostLimitWarning('api', 5_000, 1_000, { pm_id: '0', kill_timeout: '6000' }) ?? '',
      /"api" may take 6000 ms .*drainDelay 5000 \+ shutdownTimeout 1000.*at least 6667/,
    );
    assert.match(hostLimitWarning('api', 0, Infinity, { pm_id: '0', kill_timeout: '60000' }) ?? '', /may take for ever.*give it a finite shutdownTimeout/);
  });

  it('ignores a kill_timeout that is not a positive number of milliseconds', () => {
    for (const kill_timeout of ['', ' ', 'soon', '0', '-5', 'Infinity', 'NaN']) {
      assert.match(hostLimitWarning('app', 0, 8_000, { pm_id: '0', kill_timeout }) ?? '', /kills it 1600 ms/, `kill_timeout=${JSON.stringify(kill_timeout)}`);
    }
  });

  it('a real app under a PM2 environment warns once, at start, through its logger', async () => {
    const run = await runApp({ pm_id: '4' }, [{ name: 'first' }, { name: 'second' }, { name: 'deaf', signals: false }]);
    assert.equal(run.stdout, 'started and stopped 3\n');
    assert.equal(run.warnings.length, 1, run.warnings.join('\n'));
    assert.match(run.warnings[0]!, /^supervise: "first" may take 8000 ms/);
  });

  it('a root that fits says nothing, and the first one that does not fit warns', async () => {
    const run = await runApp({ pm_id: '4', kill_timeout: '3000' }, [
      { name: 'fits', shutdownTimeout: 2_000 },
      { name: 'silent', shutdownTimeout: 'Infinity', logger: false },
      { name: 'late', shutdownTimeout: 'Infinity' },
    ]);
    assert.equal(run.warnings.length, 1, run.warnings.join('\n'));
    assert.match(run.warnings[0]!, /^supervise: "late" may take for ever/);
  });

  it('a root without signals, or outside PM2, says nothing', async () => {
    assert.deepEqual((await runApp({ pm_id: '4' }, [{ signals: false }])).warnings, []);
    assert.deepEqual((await runApp({ kill_timeout: '100' }, [{}])).warnings, []);
  });
});
