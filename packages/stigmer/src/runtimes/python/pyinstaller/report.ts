import { helperScript } from './pyinstaller';
import { StigmerError } from '../../../utils/errors';
import { lastLines, run } from '../../../utils/process';
import type { ReportRequest } from '../../types';
import type { ReportItem, RuntimeReport } from '../../../report/types';

/**
 * What a PyInstaller binary holds, by distribution: read from the binary itself (its CArchive and PYZ, so every
 * size is the one in the binary) by the Python that built it, whose importlib.metadata maps each file to the
 * distribution whose RECORD lists it (binary_report.py).
 */
export async function pythonReport({ project, spec, binary, build }: ReportRequest): Promise<RuntimeReport> {
  const python = (build.reportInput as { python?: string } | undefined)?.python;
  if (!python) throw new StigmerError('the build did not say which Python built it');
  const result = await run(python, [helperScript('binary_report.py'), binary.path, project.name], { cwd: project.absRoot });
  if (result.exitCode !== 0) throw new StigmerError(`binary_report.py failed on ${spec.binaryName}: ${lastLines(result.stderr || result.stdout, 1)}`);
  const data = JSON.parse(result.stdout) as { items: ReportItem[]; measuredSize: number; basis: string };
  return {
    items: data.items,
    measuredSize: data.measuredSize,
    basis: data.basis,
    overheadDescription: binary.layout === 'onedir' ? 'the executable\'s archive tables and padding' : 'archive tables (CArchive and PYZ), ELF headers and padding',
  };
}
