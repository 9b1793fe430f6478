/**
 * Poetry version constraints (^1.2, ~1.2, 1.2.*, >=1 <2, 1.2.3) as PEP 440 specifiers for pip.
 * Used only for services whose dependencies pip installs into the managed environment.
 */
export function poetryToPep440(constraint: string): string {
  // Poetry allows a space between an operator and its version (">= 1.2, < 2.0").
  const text = constraint.trim().replace(/(>=|<=|==|!=|~=|\^|~|>|<|=)\s+(?=\d)/g, '$1');
  if (!text || text === '*') return '';
  // Poetry's "or" has no PEP 440 equivalent: keep the newest alternative (the last one, by convention).
  if (text.includes('||')) return poetryToPep440(text.split('||').pop() as string);
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
