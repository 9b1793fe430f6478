// What every bench script shares: statistics, units, Nx's run duration, and the markdown tables they print.

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds as "1.23 s". */
function s(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A ratio as the table prints it (two decimals). */
function ratio(value, base) {
  return (value / base).toFixed(2);
}

/** "<= 0.6: pass" or "<= 0.6: FAIL" for a ratio that should be at most `max` (compared as printed). */
function goal(printedRatio, max) {
  return `<= ${max}: ${Number(printedRatio) <= max ? 'pass' : 'FAIL'}`;
}

/** A row of timings: name, median, min, max, and the median's ratio to `base` (a median) when given. */
function timingRow(name, values, base) {
  const row = [name, s(median(values)), s(Math.min(...values)), s(Math.max(...values))];
  return base === undefined ? row : [...row, ratio(median(values), base)];
}

/**
 * Prints a markdown table. The first column is left-aligned and the others right-aligned, except those
 * listed in `left` (indexes). Rows are arrays of cells; a missing cell prints empty.
 */
function printTable(header, rows, { left = [] } = {}) {
  const line = (cells) => `| ${header.map((_, i) => cells[i] ?? '').join(' | ')} |`;
  console.log(`\n${line(header)}`);
  console.log(line(header.map((_, i) => (i === 0 || left.includes(i) ? '---' : '---:'))));
  for (const row of rows) console.log(line(row));
}

/** Nx's "Run duration" (the task without Nx's start-up): "2m 5.1s", "12.3s" or "950ms"; undefined when Nx printed none. */
function nxRunDuration(output) {
  const match = /Run duration:\s+(?:(\d+)m(?!s)\s*)?(?:([\d.]+)(ms|s))?/.exec(output);
  if (!match || (!match[1] && !match[2])) return undefined;
  return Number(match[1] ?? 0) * 60000 + Number(match[2] ?? 0) * (match[3] === 'ms' ? 1 : 1000);
}

/** A build's result, after checking that its log names the analysis path expected ("analysis reused" / "full analysis"). */
function expectPath(result, path) {
  if (!result.output.includes(`stigmer: ${path}`)) throw new Error(`expected "${path}" in the build log:\n${result.output.slice(-2000)}`);
  return result;
}

module.exports = { median, s, mb, ratio, goal, timingRow, printTable, nxRunDuration, expectPath };
