import type { CreateDependenciesContext, GeneratorCallback, RawProjectGraphDependency, Tree } from '@nx/devkit';
import type { Progress } from '../utils/progress';
import type { IgnoreEntry } from '../utils/gitignore';
import type { WorkspaceFiles } from '../utils/workspace-files';
import type { RuntimeReport } from '../report/types';

/** A runtime's id: the name of its folder under runtimes/ (python, node, go). */
export type RuntimeId = string;

/** A project as the runtimes see it. `root` is relative to the workspace, `absRoot` absolute. */
export interface ProjectRef {
  name: string;
  root: string;
  absRoot: string;
  workspaceRoot: string;
}

/** What the inference plugin learns from a spec file by reading it (no process is spawned). */
export interface SpecInfo {
  /** Spec file path relative to the project root. */
  specFile: string;
  /** Binary file name without the platform's extension. */
  binaryName: string;
  /** File names (in dist/) of every binary the spec builds; the first is the one for this machine. */
  binaryFiles: string[];
  /** 'onedir': each binary file is a .tar.gz of a folder, run through its `entrypoint`. Default 'onefile'. */
  layout?: BinaryLayout;
  /** Files in dist/ that a build of this spec supersedes (the other layout's binary): removed with their side files. */
  supersededFiles?: string[];
  /** Smoke run the spec proposes for test-binary (project.json options override it). */
  smoke?: { args: string[]; expectedOutput?: string };
}

export interface BuildRequest {
  project: ProjectRef;
  spec: SpecInfo;
  /** Empty private folder the runtime writes the binary into; promoted to the output folder on success. */
  stagingDir: string;
  /** Force a clean build (no reuse of work files). */
  clean: boolean;
  /** Runtime-specific executor options, validated by the executor's schema. */
  options: Record<string, unknown>;
  progress: Progress;
  timeoutMs?: number;
}

/** One executable, or a folder shipped as one .tar.gz (Python's one-folder build). */
export type BinaryLayout = 'onefile' | 'onedir';

export interface BuiltBinary {
  /** Path of the finished binary inside the staging folder; its base name is its name in dist/. */
  path: string;
  /** Platform it runs on, as the manifest reports it (Node's names: linux/darwin/win32, x64/arm64). */
  os: string;
  arch: string;
  /** Default 'onefile'. For 'onedir', `path` is the .tar.gz and `entrypoint` the executable inside it. */
  layout?: BinaryLayout;
  /** Posix path, inside the archive, of the executable to run (onedir only). */
  entrypoint?: string;
}

export interface BuildOutput {
  /** The binaries built, the one for this machine first. */
  binaries: BuiltBinary[];
  /** Version of what was built, e.g. the pyproject version. */
  version: string;
  /** Versions of the tools that built it, written into the manifest. */
  runtimeVersions: Record<string, string>;
  /** What the runtime's report() needs from this build that it cannot read afterwards (esbuild's metafile, ...). */
  reportInput?: unknown;
}

export interface ReportRequest {
  project: ProjectRef;
  spec: SpecInfo;
  /** The binary just built (in the staging folder), the one for this machine. */
  binary: BuiltBinary;
  build: BuildOutput;
  options: Record<string, unknown>;
}

export interface CheckResult {
  name: string;
  /** False fails test-binary. A check that could not be made is ok (it fails nothing) but says so with `notChecked`. */
  ok: boolean;
  /** The check could not be made here (and `detail` says why): printed as "not checked", never as a pass. */
  notChecked?: boolean;
  /** On failure: what failed and how to fix it, one line. */
  detail: string;
}

export interface VerifyRequest {
  project: ProjectRef;
  spec: SpecInfo;
  /** The executable to check; for an onedir archive, its entrypoint in a temporary unpacked copy. */
  binaryPath: string;
  options: Record<string, unknown>;
}

export interface GenerateSpecRequest {
  tree: Tree;
  project: ProjectRef;
  binaryName: string;
  entry?: string;
  force: boolean;
  /** Add what test-binary's import trace found missing to the spec, keeping the user's edits. */
  update?: boolean;
  /** The layout to write (Python); undefined keeps the existing spec's. */
  layout?: BinaryLayout;
}

export interface ReleaseVersionFile {
  file: string;
  read(text: string, fileName: string): string | undefined;
  write(text: string, version: string, fileName: string): string;
}

/** The target inputs a runtime adds to build-binary beyond the project's own sources. */
export interface RuntimeInputs {
  /** File patterns excluded from the project's sources: only what the binary never holds (tests folders, caches, environments). */
  excludedSources: string[];
  /** Cheap commands whose output identifies the toolchain (version, platform, arch). */
  toolchainCommand: string;
  /** Lock files outside the project that belong to it (workspace-level locks). */
  extraFiles: string[];
  /** Files test-binary's checks read besides the spec (dependency declarations and locks). */
  checkedFiles?: string[];
  /** Files a test-binary trace command (the service's tests) runs, which the binary does not hold. */
  testInputs?: string[];
}

/** A project that exists through a runtime's own project file alone (no project.json or package.json). */
export interface DetectedProject {
  name: string;
  root: string;
}

/** How a runtime makes projects of folders that hold only its own project file (pyproject.toml). Files only. */
export interface ProjectDetection {
  /** The file name that makes a folder a project. */
  projectFile: string;
  /** The projects those files make; `takenNames` are the names project.json/package.json projects have. */
  projects(projectFiles: string[], files: WorkspaceFiles, takenNames: () => ReadonlySet<string>): DetectedProject[];
  /** Every such file of a workspace (hidden, environment and output folders skipped), for the generator. */
  treeProjectFiles(files: WorkspaceFiles): string[];
  /** The project `--project <requested>` means; a one-line error with close names when none. */
  find(requested: string, projects: DetectedProject[], otherNames: string[]): DetectedProject;
  /** The name a project file declares, if any. */
  nameOf(content: string): string | undefined;
}

/** One step of a GitHub Actions job, as the ci-workflow generator writes it. */
export type CiStep = Record<string, unknown>;

/** What a runtime's builds need on a CI runner beyond Node, which the workflow sets up for Nx itself. */
export interface CiSetup {
  /** Options of the ci-workflow generator the steps read (each a plain value, e.g. a toolchain version). */
  options: string[];
  /** The setup steps, given those options and the runtime's project files in the workspace (at least one). */
  steps(options: Record<string, string | undefined>, projectFiles: string[], files: WorkspaceFiles): CiStep[];
}

/** What the graph plugin hands each runtime to find its edges: files only, nothing may be spawned. */
export interface GraphEdgeContext {
  /** Nx's own context (projects, the changed files, the lock file's external nodes). */
  nx: CreateDependenciesContext;
  files: WorkspaceFiles;
  /** Project name -> the workspace paths of its files that changed since the last computation. */
  changedFiles: Record<string, string[]>;
  /** Every project's root ('' for the workspace root). */
  projectRoots: string[];
  /** The project whose root holds a workspace path (the deepest root wins). */
  owningProject(workspacePath: string): string | undefined;
  /** Logs a warning once per key for the life of the process. */
  warnOnce(key: string, message: string): void;
}

/**
 * One way of turning a service into a binary. Python is the first; Node and Go plug in here.
 * Everything language-specific lives behind this interface, so executors and the plugin stay generic.
 */
export interface BinaryRuntime {
  id: RuntimeId;
  /** e.g. "Python (PyInstaller)". */
  displayName: string;
  technologies: string[];
  /** Glob of spec files, for the inference plugin. */
  specFileGlob: string;
  /** Reads a spec file's text: its info, or undefined when the file is not a spec of this runtime. Pure. */
  readSpec(specFile: string, content: string): SpecInfo | undefined;
  /** True when a project folder looks like a service of this runtime (for the generator). */
  detect(tree: Tree, projectRoot: string): boolean;
  /** What `detect` looks for, for the generator's error when no runtime recognises a folder ("a Go service has go.mod"). */
  detectionHint: string;
  /**
   * Why Nx lists no project `requested` although a file of this runtime declares that name (a package.json
   * outside npm `workspaces`), with the fix; undefined when the runtime knows of no such file. Files only.
   */
  unlistedProject?(files: WorkspaceFiles, requested: string): string | undefined;
  /** Folders that are projects through the runtime's own project file alone, if the runtime makes any. */
  projectDetection?: ProjectDetection;
  /** Entries the init generator adds to the workspace's .gitignore: what the runtime's builds leave beside sources. */
  workspaceIgnoreEntries?: IgnoreEntry[];
  /**
   * Files that are sources wherever they are, as .gitignore patterns ("*.ext", "project-file.toml"): an ignore
   * entry that would hide one is not written.
   */
  sourceFilePatterns?: string[];
  /** Folder names that hold installed dependencies, never sources: skipped when looking for source files. */
  dependencyFolders?: string[];
  /**
   * The CI steps that set up the runtime's toolchain, in a workflow's build jobs, when the workspace has projects
   * of this runtime (found through `projectDetection.treeProjectFiles`).
   */
  ciSetup?: CiSetup;
  /** Layouts the runtime builds (default ['onefile']). */
  layouts?: BinaryLayout[];
  /**
   * Patterns the init generator adds to nx.json's `production` input: a library's test files, so that a change
   * to them rebuilds no binary of the services using it.
   */
  productionExclusions?: string[];
  /** Graph edges from the runtime's own dependency files (path dependencies, replace directives, imports). */
  dependencies?(context: GraphEdgeContext): RawProjectGraphDependency[];
  /**
   * Why the smoke run's empty folder cannot prove the binary self-contained (a node_modules above it that the
   * runtime's module resolution would find), if so.
   */
  smokeIsolationProblem?(folder: string): string | undefined;
  /** Environment variables removed for the smoke run, because they would let the binary reach the workspace. */
  smokeEnvRemoved?: string[];
  /**
   * Build options that choose the toolchain the runtime's cache key must probe (an interpreter, an environment
   * kind). The plugin reads them wherever Nx merges them from (its own options, targetDefaults, project.json and
   * its configurations) and hands the variants to `inputs` as `pluginOptions.keyVariants`; set in the plugin's
   * options, they are the builds' defaults too.
   */
  keyOptions?: string[];
  /** Cache inputs; may read workspace files under `workspaceRoot` (no spawns: runs during graph computation). */
  inputs(projectRoot: string, exists: (workspacePath: string) => boolean, pluginOptions: Record<string, unknown>, workspaceRoot?: string): RuntimeInputs;
  build(request: BuildRequest): Promise<BuildOutput>;
  /** Runtime-specific checks of test-binary (dependencies inside the binary, ...). */
  verify(request: VerifyRequest): Promise<CheckResult[]>;
  /**
   * Default size budget of test-binary, in MB, when the user sets none: what the runtime itself weighs
   * plus room for the service. Without it the budget is 100 MB.
   */
  defaultSizeBudgetMb?(request: VerifyRequest): Promise<number>;
  /**
   * What is inside a binary it built, item by item, each with its size in the binary and the package it belongs
   * to (dist/<name>.report.json and .report.html). Optional: a runtime without it builds no report.
   */
  report?(request: ReportRequest): Promise<RuntimeReport>;
  /** Explains a failed run of the binary from its output (e.g. a module missing at run time), if it can. */
  diagnose?(output: string, spec: SpecInfo): string | undefined;
  /** Work files to remove in clean-binary (absolute paths). */
  workFiles(project: ProjectRef, spec: SpecInfo): string[];
  /**
   * The service's own version declaration, for nx release's version actions: the file (relative to the project
   * root) and a reader and a format-keeping writer of its text. Runtimes whose version lives elsewhere (Node's
   * package.json, which Nx's own version actions handle; Go's release tag) leave it out.
   */
  releaseVersion?: ReleaseVersionFile;
  /** Writes the spec and the service-side changes (dependency declarations) into the tree. */
  /** Returns what must run once the tree is on disk (re-locking), if anything. */
  generateSpec(request: GenerateSpecRequest): Promise<GeneratorCallback | void>;
}
