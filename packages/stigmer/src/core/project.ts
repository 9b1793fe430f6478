import * as path from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { logger } from '@nx/devkit';
import { describeError, StigmerError } from '../utils/errors';
import type { ProjectRef } from '../runtimes/types';

/** The project an executor runs for, as the runtimes see it. */
export function projectFromContext(context: ExecutorContext): ProjectRef {
  const name = context.projectName;
  const config = name ? context.projectsConfigurations?.projects?.[name] : undefined;
  if (!name || !config) {
    throw new StigmerError(`project '${name ?? ''}' does not exist in this workspace: check the name with "nx show projects".`);
  }
  return { name, root: config.root === '.' ? '' : config.root, absRoot: path.join(context.root, config.root), workspaceRoot: context.root };
}

/** Runs an executor body: a failure prints one line (what is wrong, how to fix it) and returns success false. */
export async function runExecutor(name: string, body: () => Promise<boolean | void>): Promise<{ success: boolean }> {
  try {
    const ok = await body();
    return { success: ok !== false };
  } catch (error) {
    logger.error(`stigmer ${name}: ${describeError(error)}`);
    if (process.env.STIGMER_DEBUG && error instanceof Error) logger.error(error.stack ?? '');
    return { success: false };
  }
}
