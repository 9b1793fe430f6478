import * as path from 'node:path';
import * as fs from 'fs-extra';
import { STIGMER_VERSION } from '../../utils/version';
import { joinPath, treeFiles } from '../../utils/workspace-files';
import type { BinaryRuntime, BuildOutput, BuildRequest, ProjectRef, SpecInfo, VerifyRequest } from '../types';
import { buildGoBinaries, checkVersion } from './build';
import { generateGoSpec } from './generate';
import { parseGoMod, parseGoWorkUses } from './go-files';
import { goBinaryName, knownPlatforms, parseGoSpec } from './go-spec';
import { goDependencies } from './graph-edges';
import { goModDetection } from './go-projects';
import { goReport } from './report';
import { headerCheck, moduleListCheck } from './verify';

const SPEC_SUFFIX = '.go-binary.json';

/** The go.work above a module (workspace path), the way go finds it: the nearest in the folder or its parents. */
function goWorkAbove(projectRoot: string, exists: (workspacePath: string) => boolean): string | undefined {
  for (let dir = joinPath(projectRoot); ; dir = path.posix.dirname(dir) === '.' ? '' : path.posix.dirname(dir)) {
    if (exists(joinPath(dir, 'go.work'))) return joinPath(dir, 'go.work');
    if (dir === '') return undefined;
  }
}

/**
 * Folders (absolute) of the local modules a service may build from: its replace targets, and with `withWorkspace`
 * every module of the go.work above it (whose sums count; which of them it imports only go knows).
 */
function localModuleDirs(project: ProjectRef, withWorkspace = true): string[] {
  const read = (file: string) => fs.readFileSync(file, 'utf8');
  const dirs = new Set<string>();
  try {
    for (const target of parseGoMod(read(path.join(project.absRoot, 'go.mod'))).localReplace.values()) dirs.add(path.resolve(project.absRoot, target));
  } catch {
    // no go.mod: the build says so
  }
  const work = withWorkspace ? goWorkAbove(project.root, (p) => fs.existsSync(path.join(project.workspaceRoot, p))) : undefined;
  if (work) {
    const workDir = path.dirname(path.join(project.workspaceRoot, work));
    for (const use of parseGoWorkUses(read(path.join(project.workspaceRoot, work)))) dirs.add(path.resolve(workDir, use));
  }
  dirs.delete(project.absRoot);
  return [...dirs];
}

/** The go.sum files whose pins a binary must match: the module's, go.work.sum, and the local modules'. */
function goSumFiles(project: ProjectRef): string[] {
  const work = goWorkAbove(project.root, (p) => fs.existsSync(path.join(project.workspaceRoot, p)));
  return [
    path.join(project.absRoot, 'go.sum'),
    ...(work ? [path.join(project.workspaceRoot, `${work}.sum`)] : []),
    ...localModuleDirs(project).map((dir) => path.join(dir, 'go.sum')),
  ];
}

/** Go services: `go build`, cross-compiled for every platform of the spec from one machine, byte-identical. */
export const goRuntime: BinaryRuntime = {
  id: 'go',
  displayName: 'Go (go build)',
  technologies: ['go'],
  specFileGlob: `*${SPEC_SUFFIX}`,
  detectionHint: 'a Go service has go.mod',
  productionExclusions: ['!{projectRoot}/**/*_test.go', '!{projectRoot}/**/testdata/**/*'],

  readSpec(specFile: string, content: string): SpecInfo | undefined {
    if (!specFile.endsWith(SPEC_SUFFIX)) return undefined;
    let spec;
    try {
      spec = parseGoSpec(content, specFile);
    } catch {
      return undefined;
    }
    return { specFile: path.posix.basename(specFile), binaryName: spec.name, binaryFiles: knownPlatforms(spec).map((p) => goBinaryName(spec.name, p)) };
  },

  detect(tree, projectRoot) {
    return treeFiles(tree).isFile(joinPath(projectRoot, 'go.mod'));
  },

  inputs(projectRoot, exists) {
    const work = goWorkAbove(projectRoot, exists);
    return {
      // Tests and their data build nothing; embedded files (//go:embed) are sources like the rest.
      excludedSources: ['{projectRoot}/**/*_test.go', '{projectRoot}/**/testdata/**/*'],
      // The Go that really builds in the module's folder (a toolchain line or GOTOOLCHAIN may pick another
      // than the one on PATH), the host's OS and arch (they name the host's binary), and the plugin version.
      toolchainCommand: `go -C ${projectRoot || '.'} env GOVERSION GOHOSTOS GOHOSTARCH GOAMD64 GOARM64 GOEXPERIMENT && echo stigmer ${STIGMER_VERSION}`,
      extraFiles: work ? [`{workspaceRoot}/${work}`, `{workspaceRoot}/${work}.sum`] : [],
      checkedFiles: ['{projectRoot}/go.mod', '{projectRoot}/go.sum'],
    };
  },

  dependencies: goDependencies,
  projectDetection: goModDetection,
  sourceFilePatterns: ['*.go'],
  ciSetup: {
    options: [],
    // One Go per runner: a service's go.mod (a module with a spec; else any module) chooses it, and go's own
    // toolchain selection (GOTOOLCHAIN=auto) brings a newer one for a module whose go or toolchain line asks for it.
    steps: (_options, goModFiles, files) => {
      const services = goModFiles.filter((goMod) => files.list(path.posix.dirname(goMod)).some((entry) => !entry.isDir && entry.name.endsWith(SPEC_SUFFIX)));
      const goMod = [...(services.length ? services : goModFiles)].sort()[0];
      return [{ uses: 'actions/setup-go@v5', with: { 'go-version-file': goMod, 'cache-dependency-path': '**/go.sum' } }];
    },
  },

  async build(request: BuildRequest): Promise<BuildOutput> {
    const { project, options } = request;
    const spec = parseGoSpec(await fs.readFile(path.join(project.absRoot, request.spec.specFile), 'utf8'), request.spec.specFile);
    const version = checkVersion((options.version as string | undefined) ?? spec.version ?? '0.0.0');
    // The cgo scan covers the service and its replace targets: a go.work module it does not import must not fail it.
    const built = await buildGoBinaries(request, spec, version, localModuleDirs(project, false));
    return { binaries: built.binaries, version, runtimeVersions: { go: built.goVersion.replace(/^go/, '') } };
  },

  async verify({ project, spec, binaryPath }: VerifyRequest) {
    const dist = path.join(project.absRoot, 'dist');
    const checks = [await moduleListCheck(binaryPath, goSumFiles(project), spec.specFile)];
    for (const file of spec.binaryFiles) {
      checks.push(await headerCheck(path.join(dist, file)));
    }
    return checks;
  },

  async defaultSizeBudgetMb() {
    // A Go service is its own code and its modules, stripped: tens of MB at most; 100 MB is the usual budget.
    return 100;
  },

  report: goReport,

  workFiles() {
    // go keeps its work in GOCACHE, outside the service, shared and content-addressed.
    return [];
  },

  generateSpec: generateGoSpec,
};
