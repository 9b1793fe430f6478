import type { ExecutorContext } from '@nx/devkit';
import { projectFromContext, runExecutor } from '../../core/project';
import { binaryReport, BinaryReportOptions } from '../../core/report';

export default async function binaryReportExecutor(options: BinaryReportOptions, context: ExecutorContext) {
  return runExecutor('binary-report', async () => {
    await binaryReport(projectFromContext(context), options);
  });
}
