import * as fs from 'node:fs';
import * as path from 'node:path';
import { createNodesFromFiles, CreateNodesContextV2, CreateNodesResult, CreateNodesV2 } from '@nx/devkit';
import { readSpecFile, specFilesGlob } from '../runtimes';
import { parseToml } from '../runtimes/python/toml';
import { createBinaryTargets, StigmerPluginOptions } from './targets';

/**
 * Inference: every project folder holding a binary spec (a PyInstaller .spec, ...) gets build-binary,
 * test-binary and clean-binary. Runs on every Nx command before any cache: it only reads files.
 */
export const createNodes: CreateNodesV2<StigmerPluginOptions> = [
  specFilesGlob(),
  (specFiles, options, context) =>
    createNodesFromFiles((file, opts, ctx) => createNodesForSpec(file, opts ?? {}, ctx), specFiles, options, context),
];

/** The same function under its Nx 20-21 name. */
export const createNodesV2 = createNodes;

function createNodesForSpec(specPath: string, options: StigmerPluginOptions, context: CreateNodesContextV2): CreateNodesResult {
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
  const targets = createBinaryTargets(
    found.runtime,
    found.spec,
    {
      projectRoot,
      dependencyInput: namedInputs.production ? '^production' : '^default',
      runtimeInputs: found.runtime.inputs(projectRoot === '.' ? '' : projectRoot, exists, options as Record<string, unknown>, context.workspaceRoot),
    },
    options,
  );
  const hasProjectFile = exists(path.posix.join(projectRoot, 'project.json')) || exists(path.posix.join(projectRoot, 'package.json'));
  return {
    projects: {
      [projectRoot]: {
        // A service with only a pyproject.toml is no Nx project yet: name it so the spec alone makes one.
        ...(hasProjectFile ? {} : { name: serviceName(context.workspaceRoot, projectRoot) }),
        targets,
      },
    },
  };
}

function serviceName(workspaceRoot: string, projectRoot: string): string {
  try {
    const doc = parseToml(fs.readFileSync(path.join(workspaceRoot, projectRoot, 'pyproject.toml'), 'utf8'), 'pyproject.toml');
    const name = doc.project?.name ?? doc.tool?.poetry?.name;
    if (typeof name === 'string' && name) return name;
  } catch {
    // no or unreadable pyproject.toml: fall back to the folder name
  }
  return path.posix.basename(projectRoot === '.' ? workspaceRoot : projectRoot);
}
