import { satisfiesPythonConstraint } from './pep440';

describe('satisfiesPythonConstraint', () => {
  it.each([
    ['3.11.7', '>=3.11,<4.0', true],
    ['3.11.7', '>=3.12', false],
    ['3.11.7', '~=3.11', true],
    ['3.11.7', '==3.11.*', true],
    ['3.11.7', '<3.11', false],
    ['3.11.7', '<=3.11', false],
    ['3.11.7', '>3.11', true],
    ['3.11.7', '>=3.11.8', false],
    ['3.11.7', '>=3.11.7', true],
    ['3.12.0', '>=3.11,<4.0', true],
    ['4.0.0', '>=3.11,<4.0', false],
    ['3.10.14', '>=3.11,<4.0', false],
    ['3.12.1', '~=3.11.2', false],
    ['3.11.9', '~=3.11.2', true],
    ['3.11.1', '~=3.11.2', false],
    ['3.12.1', '==3.11.*', false],
    ['3.1.7', '==3.11.*', false],
    ['3.11.7', '!=3.11.*', false],
    ['3.12.0', '!=3.11.*', true],
    ['3.11.7', '!=3.11.7', false],
    ['3.11.7', '!=3.11.6', true],
    ['3.11.7', '==3.11.7', true],
    ['3.11.7', '==3.11.6', false],
    ['3.11.7', '==3.*', true],
    ['3.11.7', ' >= 3.11 , < 4 ', true],
    ['3.11.7', '>=3.8,<3.15', true],
    ['3.15.0', '>=3.8,<3.15', false],
  ])('%s against %p -> %p', (version, constraint, expected) => {
    expect(satisfiesPythonConstraint(version, constraint)).toBe(expected);
  });

  it('accepts any version when there is no constraint', () => {
    expect(satisfiesPythonConstraint('3.11.7', undefined)).toBe(true);
    expect(satisfiesPythonConstraint('3.11.7', '')).toBe(true);
    expect(satisfiesPythonConstraint('2.7.18', '  ')).toBe(true);
  });

  it('compares numerically, not as text', () => {
    expect(satisfiesPythonConstraint('3.9.1', '>=3.10')).toBe(false);
    expect(satisfiesPythonConstraint('3.10.0', '>=3.9')).toBe(true);
  });

  it('lets a clause it does not understand pass (pip judges it)', () => {
    expect(satisfiesPythonConstraint('3.11.7', 'python_version > "3"')).toBe(true);
    // but the other clauses still count
    expect(satisfiesPythonConstraint('3.11.7', 'weird,>=3.12')).toBe(false);
  });
});
