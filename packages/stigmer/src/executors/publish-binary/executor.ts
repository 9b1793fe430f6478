import type { ExecutorContext } from '@nx/devkit';
import { projectFromContext, runExecutor } from '../../core/project';
import { publishBinary, PublishBinaryOptions } from '../../core/publish';

export default async function publishBinaryExecutor(options: PublishBinaryOptions, context: ExecutorContext) {
  return runExecutor('publish-binary', async () => {
    await publishBinary(projectFromContext(context), options);
  });
}
