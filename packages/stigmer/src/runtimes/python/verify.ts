import * as path from 'node:path';
import { run } from '../../utils/process';
import { diskFiles, joinPath } from '../../utils/workspace-files';
import type { CheckResult, VerifyRequest } from '../types';
import { resolvePythonEnvironment } from './environment';
import { importNamesOf, sitePackagesOf } from './import-names';
import { findLocalPackages } from './local-packages';
import { helperScript } from './pyinstaller';

interface ArchiveContents {
  entries: string[];
  modules: string[];
}

/**
 * Every declared runtime dependency and every module of the local packages must be inside the binary.
 * Read with PyInstaller's own archive reader, from the environment that built it.
 */
export async function verifyPythonBinary(request: VerifyRequest): Promise<CheckResult[]> {
  const { project, spec, binaryPath, options } = request;
  const environment = await resolvePythonEnvironment(project, {
    python: options.python as string | undefined,
    environment: options.environment as never,
  });
  const listing = await run(environment.python, [helperScript('list_archive.py'), binaryPath]);
  if (listing.exitCode !== 0) {
    const reason = listing.stderr.trim().split(/\r?\n/).pop();
    return [{ name: 'archive', ok: false, detail: `${path.basename(binaryPath)} is not a readable PyInstaller executable (${reason}): rebuild it with build-binary.` }];
  }
  const contents = JSON.parse(listing.stdout) as ArchiveContents;
  const has = inArchive(contents);
  const { metadata } = environment;
  const sitePackages = sitePackagesOf(environment.venvDir ?? path.dirname(path.dirname(environment.python)));
  const checks: CheckResult[] = [];
  for (const dependency of metadata.dependencies) {
    if (dependency.localPath) {
      const local = findLocalPackages(diskFiles(project.workspaceRoot), joinPath(project.root, dependency.localPath));
      const missing = local.modules.filter((module) => !has(module));
      const packages = local.packages.join(', ') || dependency.name;
      checks.push({
        name: `local package ${packages}`,
        ok: local.packages.length > 0 && missing.length === 0,
        detail: !local.packages.length
          ? `local dependency ${dependency.localPath} holds no Python package: fix the path in ${dependency.declaredIn}.`
          : missing.length
            ? `module ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''} of local package ${packages} is not in the binary: add "hiddenimports += collect_submodules('${missing[0].split('.')[0]}')" to ${spec.specFile}.`
            : `${local.modules.length} modules inside`,
      });
      continue;
    }
    const importNames = importNamesOf(dependency.name, sitePackages);
    const missing = importNames.filter((name) => !has(name));
    checks.push({
      name: `dependency ${dependency.name}`,
      ok: missing.length === 0,
      detail: missing.length
        ? `dependency ${dependency.name} (import ${missing.join(', ')}) is not in the binary: add ${missing.map((m) => `'${m}'`).join(', ')} to hiddenimports in ${spec.specFile}.`
        : `import ${importNames.join(', ')} inside`,
    });
  }
  return checks;
}

/** A module is inside when the PYZ holds it, or the archive holds it as an extension module or package data. */
function inArchive(contents: ArchiveContents): (module: string) => boolean {
  const modules = new Set(contents.modules);
  const entryPrefixes = new Set(contents.entries.map((entry) => entry.replace(/\\/g, '/').replace(/\.(cpython|abi3|cp\d+)[^/]*\.(so|pyd)$|\.(so|pyd)$/, '').replace(/\//g, '.')));
  return (module) => modules.has(module) || entryPrefixes.has(module) || contents.entries.some((e) => e.replace(/\\/g, '/').startsWith(`${module.replace(/\./g, '/')}/`));
}

/** The hint for a module that is missing when the binary runs. */
export function missingModuleHint(output: string, specFile: string): string | undefined {
  const match = /ModuleNotFoundError: No module named '([^']+)'/.exec(output);
  if (!match) return undefined;
  return `the binary raised "No module named '${match[1]}'" at run time: add '${match[1]}' to hiddenimports in ${specFile} (or collect_submodules of its package) and build again.`;
}
