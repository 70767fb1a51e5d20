// Starts a test run as a child process in its own process group, so that a run that hangs can be
// killed with everything it started. Shared by scripts/matrix.mjs and scripts/runtimes.mjs.
import { spawn } from 'node:child_process';

/**
 * Spawns `binary args` detached (its own process group) and kills the whole group with SIGKILL
 * once `timeoutMs` has passed. `timedOut()` says whether that happened; the guard is cleared when
 * the child closes.
 *
 * @param {string} binary
 * @param {readonly string[]} args
 * @param {import('node:child_process').SpawnOptions} options
 * @param {number} timeoutMs
 */
export function spawnWithHangGuard(binary, args, options, timeoutMs) {
  const child = spawn(binary, args, { ...options, detached: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }, timeoutMs);
  child.on('close', () => clearTimeout(timer));
  return { child, timedOut: () => timedOut };
}
