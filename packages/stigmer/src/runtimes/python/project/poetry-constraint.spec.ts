import { poetryToPep440 } from './poetry-constraint';

describe('poetryToPep440', () => {
  it.each([
    // caret: bump the first non-zero component
    ['^1.2.3', '>=1.2.3,<2.0.0'],
    ['^0.2.3', '>=0.2.3,<0.3.0'],
    ['^0.0.3', '>=0.0.3,<0.0.4'],
    ['^1.2', '>=1.2,<2.0'],
    ['^1', '>=1,<2'],
    ['^3.11', '>=3.11,<4.0'],
    ['^0', '>=0,<1'],
    ['^0.0', '>=0.0,<0.1'],
    // tilde: bump the minor (or the major when only it is given)
    ['~1.2.3', '>=1.2.3,<1.3.0'],
    ['~1.2', '>=1.2,<1.3'],
    ['~1', '>=1,<2'],
    // exact and wildcard versions
    ['1.2.3', '==1.2.3'],
    ['1.2.*', '==1.2.*'],
    ['=1.2.3', '==1.2.3'],
    ['==1.2.3', '==1.2.3'],
    // any version
    ['*', ''],
    ['', ''],
    ['   ', ''],
    // ranges, comma or space separated
    ['>=1.2,<2', '>=1.2,<2'],
    ['>=1.2 <2', '>=1.2,<2'],
    ['>=1.2, <2', '>=1.2,<2'],
    ['  >=1.2,<2  ', '>=1.2,<2'],
    ['!=1.5', '!=1.5'],
    ['~=1.4', '~=1.4'],
    ['>=1.2,!=1.5,<2', '>=1.2,!=1.5,<2'],
    // mixed: a caret and a range component
    ['^1.2 !=1.4.0', '>=1.2,<2.0,!=1.4.0'],
  ])('%p -> %p', (input, expected) => {
    expect(poetryToPep440(input)).toBe(expected);
  });

  it.each([
    // alternatives that touch or overlap are exactly their union
    ['^1.0 || ^2.0', '>=1.0,<3.0'],
    ['^3.11 || ^3.12', '>=3.11,<4.0'],
    ['~1.2 || ~1.3 || ~1.4', '>=1.2,<1.5'],
    ['^2.0 || ^1.0', '>=1.0,<3.0'],
    ['<1.0 || >=1.0', ''],
    ['>=1.2,<2 || >=2', '>=1.2'],
    ['1.2.3 || 1.2.3', '==1.2.3'],
    ['* || ^1', ''],
  ])('or: %p -> %p', (input, expected) => {
    expect(poetryToPep440(input)).toBe(expected);
  });

  it('or: disjoint alternatives keep the newest one (a subset: what pip installs satisfies the constraint)', () => {
    expect(poetryToPep440('1.2.3 || >=2')).toBe('>=2');
    expect(poetryToPep440('>=2 || 1.2.3')).toBe('>=2');
    expect(poetryToPep440('^1.0 || ^3.0')).toBe('>=3.0,<4.0');
  });

  // Regression (found in review): Poetry allows whitespace between an operator and its version (">= 1.2, < 2.0" is a valid
  // Poetry constraint), but the splitter cuts ">=" from "1.2" and produces ">=,==1.2,<,==2.0", which pip rejects.
  it('accepts whitespace between an operator and its version', () => {
    expect(poetryToPep440('>= 1.2, < 2.0')).toBe('>=1.2,<2.0');
  });
});
