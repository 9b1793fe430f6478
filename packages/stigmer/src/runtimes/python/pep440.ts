/**
 * Just enough PEP 440 to tell whether an interpreter version (3.11.7) meets a service's python constraint
 * (">=3.11,<4.0", "~=3.11", "==3.11.*"). Pre-releases and local versions are not needed for that.
 */
export function satisfiesPythonConstraint(version: string, constraint: string | undefined): boolean {
  if (!constraint || !constraint.trim()) return true;
  return constraint
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .every((part) => satisfiesOne(version, part));
}

function satisfiesOne(version: string, clause: string): boolean {
  const match = /^(~=|===|==|!=|<=|>=|<|>)?\s*([0-9][0-9a-zA-Z.*+!-]*)$/.exec(clause);
  if (!match) return true; // not understood: let pip and PyInstaller judge
  const [, op = '==', wanted] = match;
  if (wanted.endsWith('.*')) {
    const prefix = parse(wanted.slice(0, -2));
    const same = prefix.every((n, i) => parse(version)[i] === n);
    return op === '!=' ? !same : same;
  }
  const cmp = compare(parse(version), parse(wanted));
  switch (op) {
    case '>=': return cmp >= 0;
    case '>': return cmp > 0;
    case '<=': return cmp <= 0;
    case '<': return cmp < 0;
    case '!=': return cmp !== 0;
    case '~=': {
      const w = parse(wanted);
      const prefix = w.slice(0, Math.max(1, w.length - 1));
      return cmp >= 0 && prefix.every((n, i) => parse(version)[i] === n);
    }
    default: return compare(parse(version).slice(0, parse(wanted).length), parse(wanted)) === 0;
  }
}

function parse(version: string): number[] {
  return version.split('.').map((n) => parseInt(n, 10) || 0);
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}
