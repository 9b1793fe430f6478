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

  it('rejects a clause that is not PEP 440, naming it and the fix, instead of letting it pass', () => {
    for (const constraint of ['python_version > "3"', 'weird,>=3.12', '>=3.11,banana', '>=3.11 <4', '^3.11']) {
      expect(() => satisfiesPythonConstraint('3.11.7', constraint)).toThrow(`the python constraint '${constraint}' is not a PEP 440 version specifier (such as ">=3.11,<4"): correct it in pyproject.toml.`);
    }
  });

  it('follows PEP 440 where the hand-written parser did not', () => {
    // "==3.11" is 3.11.0 exactly, not any 3.11.x.
    expect(satisfiesPythonConstraint('3.11.7', '==3.11')).toBe(false);
    expect(satisfiesPythonConstraint('3.11.0', '==3.11')).toBe(true);
    // A release candidate comes before its release.
    expect(satisfiesPythonConstraint('3.13.0rc1', '>=3.13')).toBe(false);
    expect(satisfiesPythonConstraint('3.13.0rc1', '>=3.12')).toBe(true);
    // "~=3" is not a valid compatible-release clause (it needs two components).
    expect(() => satisfiesPythonConstraint('3.11.7', '~=3')).toThrow('not a PEP 440 version specifier');
  });
});
