import type { ExecutorContext } from '@nx/devkit';
import { buildBinary, BuildBinaryOptions } from '../../core/build';
import { projectFromContext, runExecutor } from '../../core/project';

export default async function buildBinaryExecutor(options: BuildBinaryOptions, context: ExecutorContext) {
  return runExecutor('build-binary', async () => {
    await buildBinary(projectFromContext(context), options);
  });
}
