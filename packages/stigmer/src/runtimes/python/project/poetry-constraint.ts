import { compare, validRange } from '@renovatebot/pep440';

/**
 * Poetry version constraints (^1.2, ~1.2, 1.2.*, >=1 <2, 1.2.3, ^1 || ^2) as PEP 440 specifiers for pip.
 * Used only for services whose dependencies pip installs into the managed environment.
 */
export function poetryToPep440(constraint: string): string {
  // Poetry allows a space between an operator and its version (">= 1.2, < 2.0").
  const text = constraint.trim().replace(/(>=|<=|==|!=|~=|\^|~|>|<|=)\s+(?=\d)/g, '$1');
  if (!text || text === '*') return '';
  if (text.includes('||')) return alternatives(text.split('||').map(poetryToPep440));
  return text
    .split(/\s*,\s*|\s+(?=[<>=!~^]|\d)/)
    .filter(Boolean)
    .map(convertOne)
    .filter(Boolean)
    .join(',');
}

function convertOne(part: string): string {
  if (part.startsWith('^')) return caret(part.slice(1));
  if (part.startsWith('~') && !part.startsWith('~=')) return tilde(part.slice(1));
  if (/^[<>=!~]/.test(part)) return part.replace(/^=(?!=)/, '==');
  if (part === '*') return '';
  return `==${part}`;
}

function numbers(version: string): number[] {
  return version.split('.').map((n) => parseInt(n, 10) || 0);
}

// ^1.2.3 -> >=1.2.3,<2.0.0 ; ^0.2.3 -> >=0.2.3,<0.3.0 ; ^0.0.3 -> >=0.0.3,<0.0.4 ; ^1.2 -> >=1.2,<2.0
function caret(version: string): string {
  const parts = numbers(version);
  const firstNonZero = parts.findIndex((n) => n !== 0);
  const bump = firstNonZero === -1 ? Math.min(parts.length - 1, 1) : firstNonZero;
  return `>=${version},<${upper(parts, bump)}`;
}

// ~1.2.3 -> >=1.2.3,<1.3.0 ; ~1.2 -> >=1.2,<1.3 ; ~1 -> >=1,<2
function tilde(version: string): string {
  const parts = numbers(version);
  return `>=${version},<${upper(parts, parts.length === 1 ? 0 : 1)}`;
}

function upper(parts: number[], index: number): string {
  return parts.map((n, i) => (i < index ? n : i === index ? n + 1 : 0)).join('.');
}

interface Interval {
  lower?: { version: string; inclusive: boolean };
  upper?: { version: string; inclusive: boolean };
}

/**
 * Poetry's "or" has no PEP 440 equivalent. Alternatives that touch or overlap (^1 || ^2, ^3.11 || ^3.12) are
 * one range: exactly their union. Disjoint ones (1.2.3 || >=2) cannot be one specifier: the newest
 * alternative is kept, a subset of the constraint, so whatever pip installs satisfies what Poetry asked.
 */
function alternatives(specifiers: string[]): string {
  if (specifiers.some((specifier) => specifier === '')) return '';
  const intervals = specifiers.map(toInterval);
  if (intervals.every((interval): interval is Interval => interval !== undefined)) {
    const merged = mergeIntervals(intervals);
    if (merged) return fromInterval(merged);
  }
  return newest(specifiers);
}

function toInterval(specifier: string): Interval | undefined {
  const interval: Interval = {};
  for (const clause of specifier.split(',')) {
    const match = /^(>=|>|<=|<|==)([^*]+)$/.exec(clause);
    if (!match || !validRange(clause)) return undefined;
    const [, op, version] = match;
    if (op.startsWith('>') || op === '==') interval.lower = { version, inclusive: op !== '>' };
    if (op.startsWith('<') || op === '==') interval.upper = { version, inclusive: op !== '<' };
  }
  return interval;
}

function mergeIntervals(intervals: Interval[]): Interval | undefined {
  const sorted = [...intervals].sort((a, b) => (!a.lower ? -1 : !b.lower ? 1 : compare(a.lower.version, b.lower.version)));
  let current = { ...sorted[0] };
  for (const next of sorted.slice(1)) {
    if (current.upper && next.lower) {
      const gap = compare(current.upper.version, next.lower.version);
      if (gap < 0 || (gap === 0 && !current.upper.inclusive && !next.lower.inclusive)) return undefined;
    }
    if (!next.upper || (current.upper && compare(next.upper.version, current.upper.version) > 0)) current = { ...current, upper: next.upper };
  }
  return current;
}

function fromInterval(interval: Interval): string {
  const { lower, upper } = interval;
  if (lower && upper && lower.inclusive && upper.inclusive && compare(lower.version, upper.version) === 0) return `==${lower.version}`;
  return [lower && `${lower.inclusive ? '>=' : '>'}${lower.version}`, upper && `${upper.inclusive ? '<=' : '<'}${upper.version}`].filter(Boolean).join(',');
}

/** The alternative whose lowest admitted version is the highest (the last one when that cannot be told). */
function newest(specifiers: string[]): string {
  const lowest = (specifier: string) => toInterval(specifier)?.lower?.version;
  return specifiers.reduce((best, specifier) => {
    const [a, b] = [lowest(best), lowest(specifier)];
    return a && b && compare(a, b) > 0 ? best : specifier;
  });
}
