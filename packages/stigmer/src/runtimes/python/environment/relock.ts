import { GeneratorCallback, logger, Tree } from '@nx/devkit';
import { findOnPath, lastLines, run, runSync } from '../../../utils/process';
import { joinPath, treeFiles } from '../../../utils/workspace-files';
import { readPythonProject } from '../project/project-metadata';
import type { ProjectRef } from '../../types';

/** The command that re-locks a service after its pyproject.toml changed, without upgrading anything else. */
export function relockCommand(lockFile: 'poetry.lock' | 'uv.lock', poetryMajor?: number): string[] {
  if (lockFile === 'uv.lock') return ['uv', 'lock'];
  // Poetry 2 keeps the locked versions on `poetry lock`; Poetry 1 upgrades them unless told --no-update.
  return poetryMajor !== undefined && poetryMajor < 2 ? ['poetry', 'lock', '--no-update'] : ['poetry', 'lock'];
}

/** Poetry's major version from `poetry --version` ("Poetry (version 2.5.1)"). */
export function poetryMajorVersion(versionOutput: string | undefined): number | undefined {
  const match = /(\d+)\.\d+/.exec(versionOutput ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * After the generator edited pyproject.toml, its lock is stale. Returns the callback that re-locks it once the
 * tree is on disk (the lock tool reads the files, not the tree), or says the exact command when the tool is
 * not installed. Nothing to do for a service without poetry.lock or uv.lock.
 */
export function relockAfterEdit(tree: Tree, project: ProjectRef): GeneratorCallback | undefined {
  const own = (['poetry.lock', 'uv.lock'] as const).find((file) => tree.exists(joinPath(project.root, file)));
  // A uv workspace member's lock is the workspace's: `uv lock` in the service folder re-locks it.
  const files = treeFiles(tree);
  const workspaceLock = own ? undefined : readPythonProject((file) => files.read(joinPath(project.root, file)), { files, projectRoot: project.root }).uvLock;
  const lockFile = own ?? (workspaceLock !== undefined ? 'uv.lock' : undefined);
  if (!lockFile) return undefined;
  const where = project.root || '.';
  const lockPath = joinPath(project.root, workspaceLock ?? lockFile) || lockFile;
  return async () => {
    const tool = lockFile === 'uv.lock' ? 'uv' : 'poetry';
    if (!findOnPath(tool)) {
      logger.warn(`stigmer: ${lockPath} is stale now: run "${relockCommand(lockFile).join(' ')}" in ${where} (${tool} is not on PATH).`);
      return;
    }
    const command = relockCommand(lockFile, tool === 'poetry' ? poetryMajorVersion(runSync('poetry', ['--version'], project.absRoot)) : undefined);
    logger.info(`stigmer: ${command.join(' ')} (in ${where}), so that ${lockPath} matches pyproject.toml`);
    const result = await run(command[0], [...command.slice(1), ...(tool === 'poetry' ? ['--no-interaction'] : [])], { cwd: project.absRoot });
    if (result.exitCode !== 0) {
      logger.warn(`stigmer: "${command.join(' ')}" failed in ${where} (${lastLines(`${result.stdout}\n${result.stderr}`, 1)}): run it there before build-binary.`);
    }
  };
}
