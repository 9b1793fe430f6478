import * as path from 'node:path';
import { logger } from '@nx/devkit';
import * as fs from 'fs-extra';
import { resolveSpec, RuntimeId } from '../runtimes';
import type { ProjectRef } from '../runtimes/types';
import { removeBinary } from '../utils/artifacts';
import { reportFiles } from '../report/report';
import { distDir, removeIfEmpty } from './build';

/** Removes the binary, its side files and the runtime's work files; dist/ and build/ go when left empty. */
export async function cleanBinary(project: ProjectRef, options: { spec?: string; runtime?: RuntimeId }): Promise<string[]> {
  const { runtime, spec } = resolveSpec(project, options);
  const removed: string[] = [];
  for (const file of [...spec.binaryFiles, ...(spec.supersededFiles ?? [])]) removed.push(...(await removeBinary(path.join(distDir(project), file))));
  for (const file of Object.values(reportFiles(distDir(project), spec.binaryName))) {
    if (await fs.pathExists(file)) {
      await fs.remove(file);
      removed.push(file);
    }
  }
  for (const file of runtime.workFiles(project, spec)) {
    if (await fs.pathExists(file)) {
      await fs.remove(file);
      removed.push(file);
      removeIfEmpty(path.dirname(file));
    }
  }
  removeIfEmpty(distDir(project));
  logger.info(
    removed.length
      ? `[stigmer] removed ${removed.map((f) => path.relative(project.workspaceRoot, f)).join(', ')}`
      : `[stigmer] nothing to clean for ${project.name}`,
  );
  return removed;
}
