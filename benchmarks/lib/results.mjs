// What the benchmark scripts that write a section of RESULTS.md share: the median, and the write.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Replaces the section between `<!-- name:start -->` and `<!-- name:end -->` of
 * benchmarks/RESULTS.md with `section` (which carries both markers), or, the first time, puts it
 * after the section named `after`.
 */
export function writeSection(root, name, section, after) {
  const file = join(root, 'benchmarks/RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const startMarker = `<!-- ${name}:start -->`;
  const endMarker = `<!-- ${name}:end -->`;
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  const afterMarker = `<!-- ${after}:end -->`;
  const updated =
    start >= 0 && end > start ? text.slice(0, start) + section + text.slice(end + endMarker.length) : text.replace(afterMarker, `${afterMarker}\n\n${section}`);
  writeFileSync(file, updated);
}
