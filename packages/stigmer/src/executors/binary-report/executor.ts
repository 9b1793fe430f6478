import type { ExecutorContext } from '@nx/devkit';
import { projectFromContext, runExecutor } from '../../core/project';
import { binaryReport, BinaryReportOptions, publishSettings } from '../../core/report';

export default async function binaryReportExecutor(options: BinaryReportOptions, context: ExecutorContext) {
  return runExecutor('binary-report', async () => {
    const project = projectFromContext(context);
    await binaryReport(project, options, publishSettings(context.projectsConfigurations.projects[project.name]?.targets ?? {}));
  });
}
