import { satisfies, validRange } from '@renovatebot/pep440';
import { StigmerError } from '../../../utils/errors';

/**
 * Whether an interpreter version (3.11.7, 3.13.0rc1) meets a service's python constraint (">=3.11,<4.0",
 * "~=3.11", "==3.11.*"), by @renovatebot/pep440 (a maintained PEP 440 implementation). A constraint that is
 * not PEP 440 is an error that says so, never a pass.
 */
export function satisfiesPythonConstraint(version: string, constraint: string | undefined): boolean {
  if (!constraint || !constraint.trim()) return true;
  if (!validRange(constraint)) {
    throw new StigmerError(`the python constraint '${constraint}' is not a PEP 440 version specifier (such as ">=3.11,<4"): correct it in pyproject.toml.`);
  }
  // An interpreter is what it is: a pre-release Python that is inside the range does satisfy it.
  return satisfies(version, constraint, { prereleases: true });
}
