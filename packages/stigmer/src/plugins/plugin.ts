import * as fs from 'node:fs';
import * as path from 'node:path';
import { createNodesFromFiles, CreateNodesContextV2, CreateNodesResult, CreateNodesV2 } from '@nx/devkit';
import { readSpecFile, RUNTIMES, specFilesGlob } from '../runtimes';
import { diskFiles, WorkspaceFiles } from '../utils/workspace-files';
import { createBinaryTargets, StigmerPluginOptions } from './targets';

/** The runtimes' own project files (pyproject.toml): a folder with one of them alone is a project. */
const detections = () => RUNTIMES.flatMap((runtime) => (runtime.projectDetection ? [runtime.projectDetection] : []));

/**
 * Inference: every project folder holding a binary spec gets build-binary, test-binary and clean-binary, and
 * every folder with only a runtime's own project file is a project, so that graph edges and `nx affected` work without a project.json. Runs on every Nx
 * command before any cache: it only reads files.
 */
export const createNodes: CreateNodesV2<StigmerPluginOptions> = [
  withProjectFiles(specFilesGlob()),
  (files, options, context) => {
    const byKind = (name: string) => files.filter((f) => path.posix.basename(f) === name);
    const disk = diskFiles(context.workspaceRoot);
    const takenNames = () => declaredNames([...byKind('project.json'), ...byKind('package.json')], disk);
    const projectNames = new Map(detections().flatMap((d) => d.projects(byKind(d.projectFile), disk, takenNames)).map((p) => [p.root, p.name]));
    const projectFiles = new Set(detections().map((d) => d.projectFile));
    return createNodesFromFiles(
      (file, opts, ctx) => {
        const name = path.posix.basename(file);
        if (projectFiles.has(name)) return createNodeForProjectFile(file, projectNames);
        // project.json/package.json are read only for their names (Nx's own plugins make those projects).
        if (name === 'project.json' || name === 'package.json') return {};
        return createNodesForSpec(file, opts ?? {}, ctx, projectNames);
      },
      files,
      options,
      context,
    );
  },
];

/** The same function under its Nx 20-21 name. */
export const createNodesV2 = createNodes;

/** "**\/{*.spec,*.sea.json}" -> "**\/{*.spec,*.sea.json,pyproject.toml,project.json,package.json}". */
function withProjectFiles(glob: string): string {
  const extra = [...detections().map((d) => d.projectFile), 'project.json', 'package.json'];
  return glob.endsWith('}') ? `${glob.slice(0, -1)},${extra.join(',')}}` : `{${glob},${extra.map((f) => `**/${f}`).join(',')}}`;
}

/** The names project.json and package.json files give their projects. */
function declaredNames(projectFiles: string[], files: WorkspaceFiles): Set<string> {
  const names = new Set<string>();
  for (const file of projectFiles) {
    try {
      const name = JSON.parse(files.read(file) ?? '{}').name;
      if (typeof name === 'string') names.add(name);
    } catch {
      // not JSON: Nx reports it itself
    }
  }
  return names;
}

/** A name-only node (no targets) for a folder whose only project file is a runtime's own (pyproject.toml). */
function createNodeForProjectFile(file: string, projectNames: Map<string, string>): CreateNodesResult {
  const root = path.posix.dirname(file.replace(/\\/g, '/'));
  const name = projectNames.get(root);
  return name ? { projects: { [root]: { name } } } : {};
}

function createNodesForSpec(specPath: string, options: StigmerPluginOptions, context: CreateNodesContextV2, projectNames: Map<string, string>): CreateNodesResult {
  const absolute = path.join(context.workspaceRoot, specPath);
  const found = readSpecFile(specPath, fs.readFileSync(absolute, 'utf8'));
  if (!found) return {};
  const projectRoot = path.posix.dirname(specPath.replace(/\\/g, '/'));
  const exists = (workspacePath: string) => fs.existsSync(path.join(context.workspaceRoot, workspacePath));
  // One spec per runtime and project builds; further ones need the "spec" option on a hand-written target.
  const siblings = fs.readdirSync(path.dirname(absolute)).filter((f) => f !== path.basename(specPath) && f.endsWith(path.extname(specPath)));
  if (siblings.some((f) => f < path.basename(specPath) && readSpecFile(f, fs.readFileSync(path.join(path.dirname(absolute), f), 'utf8'))?.runtime === found.runtime)) {
    return {};
  }
  const namedInputs = context.nxJsonConfiguration.namedInputs ?? {};
  // The options that choose the runtime's toolchain (an interpreter, an environment kind), as Nx will merge them
  // for the executor: the key must probe the same.
  const keyVariants = buildKeyVariants(context, projectRoot, options, found.runtime.keyOptions ?? []);
  const inputOptions = { ...options, keyVariants } as Record<string, unknown>;
  const targets = createBinaryTargets(
    found.runtime,
    found.spec,
    {
      projectRoot,
      dependencyInput: namedInputs.production ? '^production' : '^default',
      runtimeInputs: found.runtime.inputs(projectRoot === '.' ? '' : projectRoot, exists, inputOptions, context.workspaceRoot),
    },
    options,
  );
  const hasProjectFile = exists(path.posix.join(projectRoot, 'project.json')) || exists(path.posix.join(projectRoot, 'package.json'));
  return {
    projects: {
      [projectRoot]: {
        // A service without project.json/package.json: the same name its pyproject.toml node has (or the folder's).
        ...(hasProjectFile ? {} : { name: projectNames.get(projectRoot) ?? serviceName(context.workspaceRoot, projectRoot) }),
        targets,
      },
    },
  };
}

type KeyOptions = Record<string, string>;
type TargetLike = { options?: Record<string, unknown>; configurations?: Record<string, Record<string, unknown>> } | undefined;

function keyOptions(options: Record<string, unknown> | undefined, names: readonly string[]): KeyOptions {
  const picked: KeyOptions = {};
  for (const name of names) {
    const value = options?.[name];
    if (typeof value === 'string' && value) picked[name] = value;
  }
  return picked;
}

/**
 * The options named by the runtime's `keyOptions` that build-binary runs with, as Nx merges them: the plugin's
 * own options, nx.json targetDefaults (by executor, then by target name), then the project.json target; once for
 * the target's options and once more for each of its configurations. Nx merges project.json over the inferred
 * target for the executor, but the runtime input string stays the one inferred here, so they are read here.
 */
export function buildKeyVariants(context: CreateNodesContextV2, projectRoot: string, options: StigmerPluginOptions, names: readonly string[]): KeyOptions[] {
  if (!names.length) return [{}];
  const buildTargetName = options.buildTargetName ?? 'build-binary';
  let project: TargetLike;
  try {
    project = JSON.parse(fs.readFileSync(path.join(context.workspaceRoot, projectRoot, 'project.json'), 'utf8'))?.targets?.[buildTargetName];
  } catch {
    // no project.json, or not JSON (Nx reports that itself)
  }
  const targetDefaults = (context.nxJsonConfiguration.targetDefaults ?? {}) as Record<string, TargetLike>;
  const layers: TargetLike[] = [{ options }, targetDefaults['stigmer:build-binary'], targetDefaults[buildTargetName], project];
  const base = Object.assign({}, ...layers.map((layer) => keyOptions(layer?.options, names))) as KeyOptions;
  const configurations = [...new Set(layers.flatMap((layer) => Object.keys(layer?.configurations ?? {})))].sort();
  const variants = [base, ...configurations.map((name) => Object.assign({}, base, ...layers.map((layer) => keyOptions(layer?.configurations?.[name], names))) as KeyOptions)];
  const unique = new Map(variants.map((variant) => [JSON.stringify(variant), variant]));
  return [...unique.values()];
}

function serviceName(workspaceRoot: string, projectRoot: string): string {
  for (const detection of detections()) {
    let content: string | undefined;
    try {
      content = fs.readFileSync(path.join(workspaceRoot, projectRoot, detection.projectFile), 'utf8');
    } catch {
      continue;
    }
    const name = detection.nameOf(content);
    if (name) return name;
  }
  return path.posix.basename(projectRoot === '.' ? workspaceRoot : projectRoot);
}
