import type { ExecutorContext } from '@nx/devkit';
import { cleanBinary } from '../../core/clean';
import { projectFromContext, runExecutor } from '../../core/project';

export default async function cleanBinaryExecutor(options: { spec?: string; runtime?: 'python' }, context: ExecutorContext) {
  return runExecutor('clean-binary', async () => {
    await cleanBinary(projectFromContext(context), options);
  });
}
