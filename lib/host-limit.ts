/**
 * The one host that tells a process how long it has to stop: PM2. PM2 stops an app by sending it
 * SIGINT (or a `'shutdown'` message), then SIGKILL `kill_timeout` ms later: 1 600 by default,
 * which no useful shutdown deadline fits. An app's own `kill_timeout` reaches its environment as
 * `kill_timeout`; a daemon-wide `PM2_KILL_TIMEOUT` changes the default. Other hosts (Docker,
 * Kubernetes, systemd, Cloud Run, ECS, Heroku) keep their limit to themselves, so the README's
 * table of hosts is the remedy there.
 *
 * @module
 */

/** PM2's `kill_timeout` when neither the app nor the daemon sets one (PM2's constants.js). */
const pm2DefaultKillTimeout = 1_600;

/**
 * The part of the host's limit a shutdown may use: the rest is for the report, the disposers'
 * last log lines and the exit, which a SIGKILL would cut off.
 */
const usableShare = 0.9;

/**
 * The warning to print when a root supervisor's whole shutdown (`drainDelay` + `shutdownTimeout`)
 * cannot end inside the stop limit the host announced, or undefined when it fits or no host
 * announced one.
 * @internal
 */
export function hostLimitWarning(name: string, drainDelay: number, shutdownTimeout: number, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.pm_id === undefined) return undefined;
  const own = positiveMs(env.kill_timeout);
  const limit = own ?? positiveMs(env.PM2_KILL_TIMEOUT) ?? pm2DefaultKillTimeout;
  const needed = drainDelay + shutdownTimeout;
  if (needed <= limit * usableShare) return undefined;
  const setting = own !== undefined ? 'kill_timeout' : env.PM2_KILL_TIMEOUT !== undefined ? 'PM2_KILL_TIMEOUT' : "PM2's default kill_timeout";
  const wants =
    needed === Infinity
      ? 'may take for ever to shut down (shutdownTimeout: Infinity)'
      : `may take ${needed} ms to shut down (drainDelay ${drainDelay} + shutdownTimeout ${shutdownTimeout})`;
  const remedy =
    needed === Infinity
      ? 'give it a finite shutdownTimeout'
      : `set kill_timeout to at least ${Math.ceil(needed / usableShare)} in the app's ecosystem file, or lower shutdownTimeout`;
  return `supervise: "${name}" ${wants}, but PM2 kills it ${limit} ms after asking it to stop (${setting}): ${remedy}`;
}

/** A count of milliseconds from the environment, or undefined when it is absent or not one. */
function positiveMs(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
