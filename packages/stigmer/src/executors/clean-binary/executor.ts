import type { ExecutorContext } from '@nx/devkit';
import { cleanBinary } from '../../core/clean';
import { projectFromContext, runExecutor } from '../../core/project';
import type { RuntimeId } from '../../runtimes/types';

export default async function cleanBinaryExecutor(options: { spec?: string; runtime?: RuntimeId }, context: ExecutorContext) {
  return runExecutor('clean-binary', async () => {
    await cleanBinary(projectFromContext(context), options);
  });
}
