// Where a daemon meets its process: broken pipes, loggers and subscribers that throw, rejections
// nobody awaits, errors and signals after the report, and several roots. Most cases run
// spec/fixtures/edge-daemon.js as a real child process, with real pipes and signals.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Supervisor } from '../lib/index.js';
import { runForTest, simulateSignal } from '../lib/testing.js';
import { killFixtures, recordingLogger, startFixture, sendSignal, printedError, needs } from './helpers.js';

after(killFixtures);

/** Starts the edge daemon for `scenario` and waits until it is ready. */
async function daemon(scenario: string) {
  const fixture = startFixture('edge-daemon', { SCENARIO: scenario });
  await fixture.waitFor('ready\n');
  return fixture;
}

describe('the process edge, in a real child process', { timeout: 180_000, concurrency: false, skip: needs('posixSignals') }, () => {
  it('stderr piped to a reader that has gone: no livelock; a graceful shutdown, said on stdout, exit 1', async () => {
    const fixture = startFixture('edge-daemon', { SCENARIO: 'broken-stderr' });
    fixture.child.stderr!.destroy(); // the reader goes: the daemon's next write to stderr fails with EPIPE
    await fixture.waitFor('ready\n');
    const { code, signal, stdout } = await fixture.exited(20_000);
    assert.equal(signal, null);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /supervise: writing to stderr failed: the process lost its log \(Error: .*EPIPE/);
    assert.match(stdout, /cleanup ran\n/);
  });

  it('stdout piped to a reader that has gone: the same, said on stderr, exit 1', async () => {
    const fixture = await daemon('broken-stdout');
    fixture.child.stdout!.destroy();
    const { code, signal, stderr } = await fixture.exited(20_000);
    assert.equal(signal, null);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /supervise: writing to stdout failed: the process lost its output \(Error: .*EPIPE/);
    assert.match(stderr, /"edge" stopped in .*; exit code 1/);
  });

  for (const [scenario, message] of [
    ['unawaited-reject', 'disposer rejection nobody awaited'],
    ['onshutdown-reject', 'onShutdown rejection nobody awaited'],
    ['subscriber-throws', 'subscriber failed'],
  ] as const) {
    it(`${scenario}: the error raised as the shutdown ends is seen, printed and counted (exit 1)`, async () => {
      const fixture = await daemon(scenario);
      sendSignal(fixture.child, 'SIGTERM');
      const { code, signal, stdout, stderr } = await fixture.exited();
      assert.equal(signal, null);
      assert.equal(code, 1, stderr);
      assert.match(stdout, /cleanup ran\n/);
      assert.match(stderr, new RegExp(message));
      assert.match(stderr, /"edge" stopped in .*[1-9]\d* errors; exit code 1\n/);
    });
  }

  it('a logger whose error() throws: the failure is reported, cleanup runs, and the exit code is 1 (it was 7)', async () => {
    const fixture = await daemon('logger-error');
    const { code, signal, stdout, stderr } = await fixture.exited();
    assert.equal(signal, null);
    assert.equal(code, 1, stderr);
    assert.match(stdout, /cleanup ran\n/);
    assert.match(stderr, /"edge" stopped in .*; exit code 1\n/);
  });

  it('an error after the summary line: logged, and a last line corrects the exit code the process then exits with', async () => {
    const fixture = await daemon('late-throw');
    sendSignal(fixture.child, 'SIGTERM');
    const { code, signal, stderr } = await fixture.exited();
    assert.equal(signal, null);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /"edge" stopped in .*0 errors; exit code 0\n/);
    assert.match(stderr, new RegExp(`supervise: uncaught exception: ${printedError('thrown after the report')}`));
    assert.match(stderr, /supervise: "edge": 1 error\(s\) after the report; exit code 1\n$/);
  });

  it("secondSignal 'ignore': a signal after the report neither kills the process nor changes its exit code", async () => {
    const fixture = await daemon('slow-summary');
    sendSignal(fixture.child, 'SIGTERM');
    await fixture.waitFor('summary\n');
    sendSignal(fixture.child, 'SIGTERM');
    const { code, signal, stderr } = await fixture.exited();
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, stderr);
  });

  it('two roots stopped by one SIGTERM: run() waits for the other one, and its error counts (exit 1)', async () => {
    const fixture = await daemon('two-roots');
    sendSignal(fixture.child, 'SIGTERM');
    const { code, signal, stdout, stderr } = await fixture.exited();
    assert.equal(signal, null);
    assert.equal(code, 1, stderr);
    assert.match(stdout, /cleanup ran\n/);
    assert.match(stdout, /library closed\n/);
    assert.match(stderr, /library flush failed/);
    assert.match(stderr, /"edge" stopped in .*1 errors; exit code 1\n/);
  });
});

describe('the process edge, in this process', { timeout: 30_000 }, () => {
  it("a logger whose warn() throws at the deadline: shutdown still finishes, disposers run, and the logger's error is reported", async () => {
    const broken = new Error('logger.warn is broken');
    const sup = new Supervisor({
      signals: false,
      shutdownTimeout: 50,
      logger: {
        warn: () => {
          throw broken;
        },
        error: () => {},
      },
    });
    let disposed = false;
    sup.defer(() => void (disposed = true));
    sup.spawn(() => new Promise(() => {}), { name: 'stuck' });
    const report = await sup.shutdown();
    assert.equal(disposed, true);
    assert.deepEqual(report.errors, [broken]);
    assert.equal(report.stragglers.length, 1);
    assert.equal(report.exitCode, 1);
  });

  it("a logger that throws on run()'s summary line: run() resolves (it rejected), with the logger's error and exit code 1", async () => {
    const broken = new Error('logger.warn is broken');
    const program = runForTest(undefined, {
      signals: ['SIGTERM'],
      logger: {
        warn: (line: unknown) => {
          if (String(line).includes('stopped in')) throw broken;
        },
        error: () => {},
      },
    });
    simulateSignal(program.supervisor, 'SIGTERM');
    const report = await program.report;
    assert.deepEqual(report.errors, [broken]);
    assert.equal(report.exitCode, 1);
    assert.equal(await program.exitCode, 1);
  });

  it('simulateSignal on a stopped root throws, as no real signal could reach it', async () => {
    const logger = recordingLogger();
    const sup = new Supervisor({ name: 'app', logger, signals: ['SIGTERM'] });
    await sup.shutdown();
    assert.throws(
      () => simulateSignal(sup, 'SIGTERM'),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.equal((error as { code?: unknown }).code, 'ERR_INVALID_ARG_VALUE');
        assert.match(error.message, /root "app" has stopped/);
        return true;
      },
    );
    assert.deepEqual(
      logger.lines.filter((line) => /exiting at once|already shutting down/.test(line)),
      [],
    );
  });

  it('drainDelay and disposeReserve: the range message does not offer Infinity, which they refuse', () => {
    for (const option of ['drainDelay', 'disposeReserve'] as const) {
      for (const value of [Infinity, -1, Number.NaN]) {
        assert.throws(
          () => new Supervisor({ signals: false, [option]: value }),
          (error: unknown) => {
            assert.ok(error instanceof RangeError);
            assert.equal(error.message.includes('Infinity)'), false, error.message);
            assert.match(error.message, new RegExp(`options\\.${option} must be >= 0 and <= 2147483647`));
            return true;
          },
        );
      }
    }
  });

  it('onShutdown that uses up the whole deadline: the log names onShutdown, not an empty list of tasks', async () => {
    const logger = recordingLogger();
    const program = runForTest(
      (sup) => {
        sup.spawn((signal) => new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })), { name: 'polite' });
      },
      { signals: ['SIGTERM'], logger, shutdownTimeout: 100, disposeReserve: 0, onShutdown: () => new Promise(() => {}) },
    );
    await new Promise((resolve) => setImmediate(resolve));
    simulateSignal(program.supervisor, 'SIGTERM');
    const report = await program.report;
    assert.deepEqual(
      report.stragglers.map((s) => s.name),
      ['onShutdown'],
    );
    assert.equal(
      logger.lines.some((line) => /0 task\(s\) still pending/.test(line)),
      false,
      logger.lines.join('\n'),
    );
    assert.ok(
      logger.lines.some((line) => /onShutdown still pending at the deadline/.test(line)),
      logger.lines.join('\n'),
    );
  });
});
