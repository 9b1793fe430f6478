import { isDeepStrictEqual } from 'node:util';
import { StigmerError } from '../../../utils/errors';
import { parseToml, replaceStringValue } from './toml';

/** Where a pyproject.toml declares its version: PEP 621's [project] first, else Poetry's [tool.poetry]. */
function versionTable(doc: Record<string, any>): string[] | undefined {
  if (typeof doc.project?.version === 'string') return ['project'];
  if (typeof doc.tool?.poetry?.version === 'string') return ['tool', 'poetry'];
  return undefined;
}

export function readPyprojectVersion(text: string, fileName = 'pyproject.toml'): string | undefined {
  const doc = parseToml(text, fileName);
  const table = versionTable(doc);
  return table && (table.length === 1 ? doc.project.version : doc.tool.poetry.version);
}

/**
 * The file with its version set to `version`, every other byte kept (comments, layout, line endings); the
 * edit is proven by parsing: the new document equals the old one with only the version changed.
 */
export function writePyprojectVersion(text: string, version: string, fileName = 'pyproject.toml'): string {
  const before = parseToml(text, fileName);
  const table = versionTable(before);
  if (!table) {
    throw new StigmerError(`${fileName} declares no version ([project].version or [tool.poetry].version): add version = "0.1.0" (a dynamic version is not supported by nx release).`);
  }
  const edited = replaceStringValue(text, table, 'version', version);
  const expected = JSON.parse(JSON.stringify(before));
  if (table.length === 1) expected.project.version = version;
  else expected.tool.poetry.version = version;
  if (edited === undefined || !isDeepStrictEqual(JSON.parse(JSON.stringify(parseToml(edited, fileName))), expected)) {
    throw new StigmerError(`cannot set the version in ${fileName} without changing anything else: write version = "${version}" on one line in [${table.join('.')}].`);
  }
  return edited;
}
