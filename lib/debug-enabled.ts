/**
 * Whether `NODE_DEBUG` names supervise, which turns on its debug lines and spawn-site capture.
 *
 * @module
 */
import { builtin } from './builtins.js';

/**
 * @internal Whether `NODE_DEBUG` turns on the debug section `section`. Node's `debuglog()` says
 * so in its `enabled`; Bun's prints for a `NODE_DEBUG` section but has no `enabled`, so there the
 * variable is read as Node reads it: a comma-separated list of section names, case-insensitive,
 * `*` matching any run of characters.
 */
export function debugEnabled(
  section: string,
  logger: { enabled?: unknown } = builtin('node:util').debuglog(section),
  nodeDebug = process.env.NODE_DEBUG,
): boolean {
  if (typeof logger.enabled === 'boolean') return logger.enabled;
  return (nodeDebug ?? '').split(',').some((name) => {
    const pattern = name
      .trim()
      .replace(/[|\\{}()[\]^$+?.]/g, '\\$&')
      .replaceAll('*', '.*');
    return pattern !== '' && new RegExp(`^${pattern}$`, 'i').test(section);
  });
}
