import { StigmerError } from './errors';

/**
 * The object of a JSON spec file (the Node and Go runtimes' specs) with a "name" fit for a file name; the errors
 * name the file and the fix. Each runtime checks its own fields after this.
 */
export function parseNamedJsonSpec<T extends { name: string }>(content: string, specFile: string): T {
  let spec: T;
  try {
    spec = JSON.parse(content);
  } catch (error) {
    throw new StigmerError(`${specFile} is not valid JSON (${(error as Error).message}): fix it and run again.`);
  }
  if (!spec || typeof spec.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(spec.name)) {
    throw new StigmerError(`${specFile} needs a "name" (letters, digits, . _ -): the binary's file name.`);
  }
  return spec;
}
