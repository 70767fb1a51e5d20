// Where a benchmark's figures come from, for its results file: package versions and the commit.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The version in a package.json, or 'not installed'. */
export function packageVersion(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

/** The short commit at `root`, and whether lib/ differs from it. */
export function gitCommit(root) {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: root, encoding: 'utf8' }).trim();
    return `${head}${dirty ? ' (lib/ has uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}
