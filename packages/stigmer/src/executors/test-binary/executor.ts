import type { ExecutorContext } from '@nx/devkit';
import { projectFromContext, runExecutor } from '../../core/project';
import { testBinary, TestBinaryOptions } from '../../core/test';

export default async function testBinaryExecutor(options: TestBinaryOptions, context: ExecutorContext) {
  return runExecutor('test-binary', async () => {
    await testBinary(projectFromContext(context), options);
  });
}
