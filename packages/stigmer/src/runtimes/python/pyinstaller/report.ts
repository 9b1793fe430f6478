import * as fs from 'fs-extra';
import { helperScript } from './pyinstaller';
import { StigmerError } from '../../../utils/errors';
import { lastLines, run } from '../../../utils/process';
import type { ReportRequest } from '../../types';
import type { ReportItem, RuntimeReport } from '../../../report/types';

type BinaryReportOutput = { items: ReportItem[]; measuredSize: number; basis: string };

/** What a Python build hands its report: the interpreter that built it, and what the build's driver measured already. */
export interface PythonReportInput {
  python?: string;
  /** binary_report.py's output, made by run_pyinstaller.py right after a one-file build (no second Python process). */
  measured?: BinaryReportOutput;
}

async function measure(python: string | undefined, service: string, cwd: string, binaryPath: string, binaryName: string): Promise<BinaryReportOutput> {
  if (!python) throw new StigmerError('the build did not say which Python built it');
  const result = await run(python, [helperScript('binary_report.py'), binaryPath, service], { cwd });
  if (result.exitCode !== 0) throw new StigmerError(`binary_report.py failed on ${binaryName}: ${lastLines(result.stderr || result.stdout, 1)}`);
  return JSON.parse(result.stdout) as BinaryReportOutput;
}

/**
 * What a PyInstaller binary holds, by distribution: read from the binary itself (its CArchive and PYZ, so every
 * size is the one in the binary) by the Python that built it, whose importlib.metadata maps each file to the
 * distribution whose RECORD lists it (binary_report.py).
 */
export async function pythonReport({ project, spec, binary, build }: ReportRequest): Promise<RuntimeReport> {
  const input = build.reportInput as PythonReportInput | undefined;
  // The driver's figures stand only for the very file it read (same size); anything else is measured again.
  const measuredHere = input?.measured && input.measured.measuredSize === (await fs.stat(binary.path)).size ? input.measured : undefined;
  const data = measuredHere ?? (await measure(input?.python, project.name, project.absRoot, binary.path, spec.binaryName));
  return {
    items: data.items,
    measuredSize: data.measuredSize,
    basis: data.basis,
    overheadDescription: binary.layout === 'onedir' ? 'the executable\'s archive tables and padding' : 'archive tables (CArchive and PYZ), ELF headers and padding',
  };
}
