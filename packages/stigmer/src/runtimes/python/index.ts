import * as path from 'node:path';
import { readPyprojectVersion, writePyprojectVersion } from './project/pyproject-version';
import { logger } from '@nx/devkit';
import * as fs from 'fs-extra';
import { hostTarget } from '../../utils/artifacts';
import { packFolder } from '../../utils/folder-archive';
import { StigmerError } from '../../utils/errors';
import { diskFiles, joinPath } from '../../utils/workspace-files';
import { findLocalPackages } from './project/local-packages';
import { findUvWorkspace } from './project/local-dependencies';
import type { BinaryRuntime, BuildOutput, BuildRequest, ProjectRef, SpecInfo } from '../types';
import { resolvePythonEnvironment, withUvEnvironmentLock } from './environment/environment';
import { generatePythonSpec } from './spec-file/generate';
import { LOCK_FILES, PythonProjectMetadata, readPythonProject } from './project/project-metadata';
import { pyInstallerCacheDir, runPyInstaller } from './pyinstaller/pyinstaller';
import { KeyVariant, toolchainKeyCommand } from './environment/toolchain-key';
import { binaryNameFromSpec, layoutOfSpec, looksLikePyInstallerSpec, smokeProposalOf, unknownLayoutOf } from './spec-file/spec-file';
import { missingModuleHint, verifyPythonBinary } from './verify/verify';
import { pythonDependencies } from './project/graph-edges';
import { pyprojectDetection } from './project/pyproject-projects';
import { PythonReportInput, pythonReport } from './pyinstaller/report';

/** PyInstaller's work folder for a service: build/ beside its sources, kept between builds. */
function workPath(project: ProjectRef): string {
  return path.join(project.absRoot, 'build');
}

/** The last size report and what it was made from, in the spec's own work folder: --clean and a failed build remove it. */
function reportCache(project: ProjectRef, specFile: string): string {
  return path.join(workPath(project), specFile.replace(/\.spec$/, ''), 'stigmer-report-cache.json');
}

/** Where the service's own and local packages live (absolute), as the spec puts them on the path. */
function sourceRoots(project: ProjectRef, metadata: PythonProjectMetadata): string[] {
  const files = diskFiles(project.workspaceRoot);
  const roots = [project.root, ...metadata.dependencies.filter((d) => d.localPath).map((d) => joinPath(project.root, d.localPath as string))];
  return [...new Set(roots.flatMap((root) => [root, findLocalPackages(files, root).importRoot]))].map((root) => path.join(project.workspaceRoot, root));
}

/** The uv.lock of the uv workspace a service is a member of, when that workspace's root is a sub-folder of the Nx workspace. */
function nestedUvWorkspaceLock(projectRoot: string, exists: (workspacePath: string) => boolean, workspaceRoot: string | undefined): string[] {
  if (!workspaceRoot || exists(joinPath(projectRoot, 'uv.lock'))) return [];
  const workspace = findUvWorkspace(diskFiles(workspaceRoot), projectRoot);
  // A root-level workspace's uv.lock is already among the workspace-level locks: its members are not walked here.
  if (!workspace || workspace.root === '' || workspace.root === joinPath(projectRoot) || ![...workspace.members.values()].includes(joinPath(projectRoot))) return [];
  const lock = joinPath(workspace.root, 'uv.lock');
  return exists(lock) ? [`{workspaceRoot}/${lock}`] : [];
}

function executableName(binaryName: string): string {
  return binaryName + (process.platform === 'win32' ? '.exe' : '');
}

/**
 * What PyInstaller left in the staging folder, checked against the spec's layout: the executable (one-file), or
 * the folder packed into <name>.tar.gz (one-folder), the folder itself removed so only the archive ships.
 */
async function builtBinary(request: BuildRequest): Promise<{ path: string; layout: 'onefile' | 'onedir'; entrypoint?: string }> {
  const { spec, stagingDir } = request;
  const onefile = path.join(stagingDir, executableName(spec.binaryName));
  const folder = path.join(stagingDir, spec.binaryName);
  const stat = await fs.stat(spec.layout === 'onedir' ? folder : onefile).catch(() => undefined);
  if (spec.layout !== 'onedir') {
    if (stat?.isFile()) return { path: onefile, layout: 'onefile' };
    if (stat?.isDirectory()) {
      throw new StigmerError(`${spec.specFile} builds a folder (COLLECT) but says LAYOUT = "onefile": set LAYOUT = "onedir" to ship the folder as ${spec.binaryName}.tar.gz, or pass a.binaries and a.datas to EXE(...) and remove COLLECT(...).`);
    }
    throw new StigmerError(`PyInstaller wrote no ${path.basename(onefile)}: make the EXE(...) of ${spec.specFile} say name='${spec.binaryName}'.`);
  }
  const entrypoint = `${spec.binaryName}/${executableName(spec.binaryName)}`;
  if (!stat?.isDirectory() || !(await fs.pathExists(path.join(stagingDir, entrypoint)))) {
    throw new StigmerError(`PyInstaller wrote no ${entrypoint}: make the COLLECT(...) and EXE(...) of ${spec.specFile} say name='${spec.binaryName}' (LAYOUT = "onedir").`);
  }
  const archive = path.join(stagingDir, `${spec.binaryName}.tar.gz`);
  request.progress.phase('archive');
  await packFolder(folder, archive);
  await fs.remove(folder);
  return { path: archive, layout: 'onedir', entrypoint };
}

/** The tests folders beside the packages (outside them): no spec bundles them. */
const PYTHON_TEST_FOLDERS = ['{projectRoot}/tests/**/*', '{projectRoot}/test/**/*'];
/** Environments, caches and tool state in the project folder (dist/ and build/ are left out for every runtime). */
const PYTHON_WORK_FOLDERS = [
  '{projectRoot}/.venv/**/*',
  '{projectRoot}/**/__pycache__/**/*',
  '{projectRoot}/.pytest_cache/**/*',
  '{projectRoot}/.mypy_cache/**/*',
  '{projectRoot}/.ruff_cache/**/*',
  '{projectRoot}/.tox/**/*',
  '{projectRoot}/.nox/**/*',
  '{projectRoot}/htmlcov/**/*',
  '{projectRoot}/.coverage',
];

/** Python services, bundled by PyInstaller from the service's .spec file. */
export const pythonRuntime: BinaryRuntime = {
  id: 'python',
  displayName: 'Python (PyInstaller)',
  technologies: ['python', 'pyinstaller'],
  specFileGlob: '*.spec',

  readSpec(specFile: string, content: string): SpecInfo | undefined {
    if (!specFile.endsWith('.spec') || !looksLikePyInstallerSpec(content)) return undefined;
    const binaryName = binaryNameFromSpec(content, specFile);
    const smoke = smokeProposalOf(content);
    const layout = layoutOfSpec(content);
    // A one-folder build ships as one archive; its executable keeps the platform's extension inside it.
    const binaryFile = layout === 'onedir' ? `${binaryName}.tar.gz` : executableName(binaryName);
    const otherLayoutFile = layout === 'onedir' ? executableName(binaryName) : `${binaryName}.tar.gz`;
    return { specFile: path.posix.basename(specFile), binaryName, binaryFiles: [binaryFile], layout, supersededFiles: [otherLayoutFile], ...(smoke ? { smoke } : {}) };
  },

  detectionHint: 'a Python service has pyproject.toml, requirements.txt or main.py',
  layouts: ['onefile', 'onedir'],
  sourceFilePatterns: ['*.py', '*.pyi', '*.pyx', '*.pxd', 'pyproject.toml'],
  ciSetup: {
    options: ['pythonVersion'],
    steps: (options) => [{ uses: 'actions/setup-python@v5', with: { 'python-version': options.pythonVersion ?? '3.11' } }],
  },
  // Test files of libraries: not part of what a binary is built from.
  productionExclusions: ['!{projectRoot}/tests/**/*', '!{projectRoot}/**/test_*.py', '!{projectRoot}/**/*_test.py', '!{projectRoot}/**/conftest.py'],
  // The smoke run must not find the workspace's packages.
  smokeEnvRemoved: ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV'],
  dependencies: pythonDependencies,
  // The interpreter and the environment kind decide which Python builds, so the key probes what they say.
  keyOptions: ['python', 'environment'],
  projectDetection: pyprojectDetection,
  // Editable installs of local libraries write <lib>/*.egg-info, and Python writes __pycache__.
  workspaceIgnoreEntries: [
    { entry: '*.egg-info/', sample: 'libs/lib/lib.egg-info/PKG-INFO' },
    { entry: '__pycache__/', sample: 'libs/lib/__pycache__/x.pyc' },
  ],

  detect(tree, projectRoot) {
    return ['pyproject.toml', 'requirements.txt', 'setup.py', 'main.py', '__main__.py'].some((f) => tree.exists(joinPath(projectRoot, f)));
  },

  inputs(projectRoot, exists, pluginOptions, workspaceRoot) {
    return {
      // Only what the binary never holds: the spec bundles every module of a package (pkg/test_mode.py) and the
      // data files it names (prompts/system.md), so no name pattern inside the sources is left out.
      excludedSources: [...PYTHON_TEST_FOLDERS, ...PYTHON_WORK_FOLDERS],
      // What a traceCommand (the service's tests) runs and reads: test-binary re-runs when a test changes.
      testInputs: [
        ...PYTHON_TEST_FOLDERS,
        '{projectRoot}/**/test_*.py',
        '{projectRoot}/**/*_test.py',
        '{projectRoot}/**/conftest.py',
        '{projectRoot}/pytest.ini',
        '{projectRoot}/tox.ini',
        '{projectRoot}/setup.cfg',
      ],
      // The version, OS and machine of the interpreter that really builds (python and environment options of the
      // target and its configurations, Poetry's or uv's environment, else python3), from a node script of the
      // plugin: a binary built by 3.11 on linux/x86_64 is no hit for 3.12 or macOS. The plugin version is printed
      // too, so upgrading stigmer rebuilds.
      toolchainCommand: toolchainKeyCommand(projectRoot, (pluginOptions.keyVariants as KeyVariant[] | undefined) ?? (pluginOptions.python as string | undefined)),
      // test-binary compares the binary with what the service declares and locks.
      checkedFiles: ['{projectRoot}/pyproject.toml', '{projectRoot}/requirements*.txt', '{projectRoot}/requirements*.in', ...LOCK_FILES.map((file) => `{projectRoot}/${file}`)],
      // Workspace-level locks (uv workspaces, a shared Poetry lock) decide the service's dependencies too.
      extraFiles: [
        ...LOCK_FILES.filter((file) => exists(file) && !exists(joinPath(projectRoot, file))).map((file) => `{workspaceRoot}/${file}`),
        ...nestedUvWorkspaceLock(projectRoot, exists, workspaceRoot),
      ],
    };
  },

  async build(request: BuildRequest): Promise<BuildOutput> {
    const { project, spec, options, progress } = request;
    progress.phase('resolve environment');
    const unknownLayout = unknownLayoutOf(await fs.readFile(path.join(project.absRoot, spec.specFile), 'utf8'));
    if (unknownLayout) throw new StigmerError(`${spec.specFile} says LAYOUT = "${unknownLayout}": use "onefile" or "onedir".`);
    // A uv environment is shared by the members of a uv workspace: held from the sync to PyInstaller's end.
    const metadata = readPythonProject((file) => diskFiles(project.absRoot).read(file), { files: diskFiles(project.workspaceRoot), projectRoot: project.root });
    // A one-file binary's size report is made by the build's own Python process, right after PyInstaller.
    const reportFile = path.join(workPath(project), '.stigmer-report.json');
    await fs.remove(reportFile);
    const environment = await withUvEnvironmentLock(project, metadata, async () => {
      const resolved = await resolvePythonEnvironment(project, {
        python: options.python as string | undefined,
        environment: options.environment as never,
        log: (message) => logger.info(`  ${message}`),
      });
      await runPyInstaller({
        python: resolved.python,
        specPath: path.join(project.absRoot, spec.specFile),
        distPath: request.stagingDir,
        workPath: workPath(project),
        clean: request.clean,
        cwd: project.absRoot,
        progress,
        timeoutMs: request.timeoutMs,
        verbose: options.verbose === true,
        sourceRoots: sourceRoots(project, resolved.metadata),
        ...(spec.layout === 'onedir' ? {} : { report: { output: reportFile, service: project.name, executable: path.join(request.stagingDir, executableName(spec.binaryName)), cache: reportCache(project, spec.specFile) } }),
      });
      return resolved;
    });
    const built = await builtBinary(request);
    const measured = (await fs.readJson(reportFile).catch(() => undefined)) as PythonReportInput['measured'];
    await fs.remove(reportFile);
    return {
      binaries: [{ ...built, ...hostTarget() }],
      version: (options.version as string | undefined) ?? environment.metadata.version ?? '0.0.0',
      runtimeVersions: { python: environment.pythonVersion, pyinstaller: environment.pyinstallerVersion },
      // The size report reads the binary with the PyInstaller and the distributions of this environment.
      reportInput: { python: environment.python, ...(measured ? { measured } : {}) } satisfies PythonReportInput,
    };
  },

  verify: verifyPythonBinary,

  report: pythonReport,

  diagnose: (output, spec) => missingModuleHint(output, spec.specFile),

  workFiles(project, spec) {
    return [path.join(workPath(project), spec.specFile.replace(/\.spec$/, '')), path.join(workPath(project), '.stigmer-archive-cache'), pyInstallerCacheDir(workPath(project))];
  },

  generateSpec: generatePythonSpec,
  releaseVersion: { file: 'pyproject.toml', read: readPyprojectVersion, write: writePyprojectVersion },
};
