import * as path from 'node:path';
import { logger } from '@nx/devkit';
import * as fs from 'fs-extra';
import { StigmerError } from '../../utils/errors';
import { STIGMER_VERSION } from '../../utils/version';
import { joinPath, treeFiles } from '../../utils/workspace-files';
import type { BinaryRuntime, BuildOutput, BuildRequest, SpecInfo } from '../types';
import { bundleEntry } from './bundle';
import { makeSingleExecutable } from './sea';
import { hostPlatform, NodePlatform, parseSeaSpec, SeaSpec, seaBinaryName } from './sea-spec';
import { BUN_VERSION, bunExecutableFor, compileWithBun } from './bun';
import { nodeRuntimeFor } from './node-runtime';
import { diagnoseNodeRun } from './diagnose';
import { resolutionFiles } from './workspace-imports';
import { nodeImportDependencies } from './import-edges';
import { proposeNodeSmokeRun, smokeOfSpec } from './smoke';
import { unlistedPackageProject } from './unlisted-package';
import { NodeReportInput, nodeReport } from './report';

function esbuildVersion(): string {
  return (require('esbuild/package.json') as { version: string }).version;
}

/** Room for the service above the Node runtime's own size in the default size budget. */
export const NODE_SIZE_MARGIN_MB = 30;

const ENTRY_CANDIDATES = ['src/main.ts', 'src/index.ts', 'main.ts', 'index.ts', 'src/main.js', 'src/index.js', 'main.js', 'index.js'];

/** Node and TypeScript services: esbuild bundles them, the Node single-executable procedure makes the binary. */
export const nodeRuntime: BinaryRuntime = {
  id: 'node',
  displayName: 'Node (esbuild + single executable)',
  technologies: ['node', 'esbuild'],
  specFileGlob: '*.sea.json',

  readSpec(specFile: string, content: string): SpecInfo | undefined {
    if (!specFile.endsWith('.sea.json')) return undefined;
    let spec;
    try {
      spec = parseSeaSpec(content, specFile);
    } catch {
      return undefined;
    }
    const platforms = resolvePlatforms(spec.platforms);
    const smoke = smokeOfSpec(spec.smoke);
    return { specFile: path.posix.basename(specFile), binaryName: spec.name, binaryFiles: platforms.map((p) => seaBinaryName(spec, p)), ...(smoke ? { smoke } : {}) };
  },

  detectionHint: 'a Node service has package.json or src/main.ts',
  unlistedProject: (files, requested) => unlistedPackageProject(files, requested)?.message,
  dependencies: (context) => nodeImportDependencies(context.nx, context.owningProject, context.warnOnce),
  smokeEnvRemoved: ['NODE_PATH', 'NODE_OPTIONS'],
  sourceFilePatterns: ['*.ts', '*.tsx', '*.mts', '*.cts', '*.js', '*.jsx', '*.mjs', 'package.json'],
  dependencyFolders: ['node_modules'],
  smokeIsolationProblem(folder) {
    const reachable = nodeModulesAbove(folder);
    return reachable && `${reachable} is within reach of the smoke run's folder ${folder}, so it cannot prove the binary needs no node_modules: remove it or set TMPDIR to a folder with none above it.`;
  },

  detect(tree, projectRoot) {
    const files = treeFiles(tree);
    return files.isFile(joinPath(projectRoot, 'package.json')) || ENTRY_CANDIDATES.some((f) => files.isFile(joinPath(projectRoot, f)));
  },

  inputs(projectRoot, _exists, _options, workspaceRoot) {
    return {
      excludedSources: ['{projectRoot}/**/*.spec.ts', '{projectRoot}/**/*.test.ts', '{projectRoot}/**/*.spec.js', '{projectRoot}/**/*.test.js', '{projectRoot}/**/*.md', '{projectRoot}/node_modules/**/*'],
      // The Node version, OS and architecture that build (and by default run) the binary, and the esbuild
      // that bundles it (read from its package.json here: the graph spawns nothing), and the pinned Bun
      // of "engine": "bun".
      toolchainCommand: `node -e "console.log(process.version, process.platform, process.arch, 'esbuild ${esbuildVersion()}', 'bun ${BUN_VERSION}', 'stigmer ${STIGMER_VERSION}')"`,
      // The npm packages the bundle takes are graph edges to their lock file nodes (hashed with their own
      // dependencies through ^default): not the whole lock file. The tsconfig files above the service decide
      // where its imports resolve.
      extraFiles: workspaceRoot ? resolutionFiles(workspaceRoot, projectRoot).map((f) => `{workspaceRoot}/${f}`) : [],
    };
  },

  async defaultSizeBudgetMb({ project, binaryPath }) {
    // The Node executable the binary was made from, plus room for the service: a real stack (fastify, pino,
    // zod, undici) bundles to a few MB and its code cache about as much again; 30 MB leaves room for assets
    // and growth while still catching a bundle that swallowed something big by mistake.
    const manifest = await fs.readJson(`${binaryPath}.manifest.json`).catch(() => ({}));
    if (manifest.runtimeVersions?.bun) {
      const bun = path.join(project.workspaceRoot, '.stigmer', 'bun', `${hostPlatform()}-${manifest.runtimeVersions.bun}`, 'package', 'bin', 'bun');
      const bunSize = (await fs.stat(bun).catch(() => fs.stat(process.execPath))).size;
      return Math.ceil(bunSize / (1024 * 1024)) + NODE_SIZE_MARGIN_MB;
    }
    const version: string = manifest.runtimeVersions?.node ?? process.versions.node;
    const runtime = version === process.versions.node ? process.execPath : path.join(project.workspaceRoot, '.stigmer', 'node-runtimes', `${hostPlatform()}-${version}`, 'package', 'bin', 'node');
    const size = (await fs.stat(runtime).catch(() => fs.stat(process.execPath))).size;
    return Math.ceil(size / (1024 * 1024)) + NODE_SIZE_MARGIN_MB;
  },

  async build(request: BuildRequest): Promise<BuildOutput> {
    const { project, progress } = request;
    const specPath = path.join(project.absRoot, request.spec.specFile);
    const spec = parseSeaSpec(await fs.readFile(specPath, 'utf8'), request.spec.specFile);
    const bun = spec.engine === 'bun';
    const version = spec.nodeVersion ?? process.versions.node;
    const host = hostPlatform();
    const platforms = resolvePlatforms(spec.platforms);
    // The tools' own output (postject's LIEF warnings, strip, node --build-sea, bun) only with --verbose.
    const log = request.options.verbose === true ? (line: string) => logger.info(`  ${line}`) : () => undefined;
    progress.phase('bundle');
    const bundle = path.join(request.stagingDir, `${spec.name}.bundle.cjs`);
    const bundled = await bundleEntry({
      entry: path.join(project.absRoot, spec.entry),
      outfile: bundle,
      external: spec.external ?? [],
      nodeVersion: version,
      specFile: request.spec.specFile,
      workspaceRoot: project.workspaceRoot,
      binaryName: spec.name,
      allowFileWorkers: spec.allowFileWorkers,
    });
    const assets: Record<string, string> = Object.fromEntries(Object.entries(spec.assets ?? {}).map(([key, file]) => [key, path.join(project.absRoot, file)]));
    for (const [key, file] of Object.entries(assets)) {
      if (!(await fs.pathExists(file))) throw new StigmerError(`asset '${key}' of ${request.spec.specFile} is missing (${path.relative(project.workspaceRoot, file)}): fix the path or add the file.`);
    }
    Object.assign(assets, bundled.assets);
    progress.phase('runtime');
    const binaries = [];
    // For the size report of this machine's binary: what went into it, measured while it is made.
    const reportInput: NodeReportInput = {
      engine: bun ? 'bun' : 'node',
      runtimeVersion: bun ? BUN_VERSION : version,
      metafile: bundled.metafile,
      bundleSize: (await fs.stat(bundle)).size,
      assets: Object.fromEntries(await Promise.all(Object.entries(assets).map(async ([key, file]) => [key, (await fs.stat(file)).size] as const))),
    };
    if (bun) {
      refuseSeaAssetsForBun(spec, request.spec.specFile, Object.keys(bundled.assets));
      const hostBun = await bunExecutableFor(host, project.workspaceRoot);
      for (const platform of platforms) {
        const targetBun = await bunExecutableFor(platform, project.workspaceRoot);
        progress.phase(`compile with bun (${platform})`);
        const output = path.join(request.stagingDir, seaBinaryName(spec, platform));
        await compileWithBun({ bundle, output, platform, hostBun, targetBun, workDir: request.stagingDir, log });
        if (platform === platforms[0]) reportInput.runtimeSize = (await fs.stat(targetBun)).size;
        binaries.push({ path: output, ...manifestTarget(platform) });
      }
    } else {
      // The blob must come from exactly the target's Node version; a runtime of that version for this machine makes it.
      const blobNode = await nodeRuntimeFor(host, version, project.workspaceRoot, host);
      for (const platform of platforms) {
        const runtime = await nodeRuntimeFor(platform, version, project.workspaceRoot, host);
        progress.phase(`inject (${platform})`);
        const output = path.join(request.stagingDir, seaBinaryName(spec, platform));
        const how = await makeSingleExecutable({ bundle, assets, runtime, blobNode, version, output, platform, strip: spec.strip !== false, codeCache: platform === host, workDir: request.stagingDir, log, onSizes: (sizes) => {
          if (platform === platforms[0]) Object.assign(reportInput, { runtimeSize: sizes.runtime, blobSize: sizes.blob });
        } });
        log(`${path.basename(output)}: made with ${how === 'build-sea' ? `node ${version} --build-sea` : 'postject'}`);
        binaries.push({ path: output, ...manifestTarget(platform) });
      }
    }
    await fs.remove(bundle);
    await fs.remove(path.join(request.stagingDir, 'workers'));
    const packageJson = await fs.readJson(path.join(project.absRoot, 'package.json')).catch(() => ({}));
    return {
      binaries,
      version: (request.options.version as string | undefined) ?? packageJson.version ?? '0.0.0',
      runtimeVersions: bun ? { bun: BUN_VERSION, esbuild: bundled.esbuildVersion } : { node: version, esbuild: bundled.esbuildVersion },
      reportInput,
    };
  },

  async verify() {
    // What a Node binary needs is inside by construction (one bundle); the smoke run, away from any
    // node_modules, proves it.
    return [];
  },

  report: nodeReport,

  diagnose(output, spec) {
    return diagnoseNodeRun(output, spec.specFile);
  },

  workFiles() {
    return [];
  },

  async generateSpec({ tree, project, binaryName, entry, force }) {
    const files = treeFiles(tree);
    const packageJson = JSON.parse(files.read(joinPath(project.root, 'package.json')) ?? '{}');
    const main = typeof packageJson.main === 'string' ? packageJson.main.replace(/^\.\//, '') : undefined;
    const chosen = entry ?? [...ENTRY_CANDIDATES, ...(main ? [main] : [])].find((f) => files.isFile(joinPath(project.root, f)));
    if (!chosen || !files.isFile(joinPath(project.root, chosen))) {
      throw new StigmerError(
        chosen
          ? `entry ${joinPath(project.root, chosen)} does not exist: pass --entry with the service's main file, relative to ${project.root || '.'}.`
          : `no entry file in ${project.root || '.'} (looked for ${ENTRY_CANDIDATES.join(', ')} and package.json main): pass --entry <file>.`,
      );
    }
    const specFile = joinPath(project.root, `${binaryName}.sea.json`);
    const smoke = proposeNodeSmokeRun(files, project.root, chosen, typeof packageJson.version === 'string' ? packageJson.version : undefined);
    const content = `${JSON.stringify({ name: binaryName, entry: chosen, assets: {}, platforms: ['host'], ...(smoke ? { smoke } : {}) }, null, 2)}\n`;
    const existing = files.read(specFile);
    if (existing !== undefined && existing !== content && !force) {
      // A JSON spec has no room for a checksum line: any existing spec is the user's.
      logger.warn(`stigmer: ${specFile} exists: kept it as it is (run again with --force to overwrite it).`);
      return;
    }
    tree.write(specFile, content);
  },
};

function resolvePlatforms(platforms: ('host' | NodePlatform)[] | undefined): NodePlatform[] {
  const host = hostPlatform();
  const list: NodePlatform[] = (platforms?.length ? platforms : ['host' as const]).map((p) => (p === 'host' ? host : p));
  // The host's binary first: test-binary runs it.
  return [...new Set(list)].sort((a, b) => (a === host ? -1 : b === host ? 1 : 0));
}

/** Bun's executables have no node:sea: the spec's assets and the embedded worker files need the Node engine. */
function refuseSeaAssetsForBun(spec: SeaSpec, specFile: string, workerAssets: string[]): void {
  if (Object.keys(spec.assets ?? {}).length) {
    throw new StigmerError(`${specFile} has "assets", which are read with node:sea getAsset, and a Bun executable has no node:sea: remove "engine": "bun", or import the files so that they are bundled.`);
  }
  if (workerAssets.length) {
    throw new StigmerError(`the bundle of ${specFile} starts worker threads from files (pino or thread-stream transports), which stigmer embeds only in a Node single executable: remove "engine": "bun", or log without transports.`);
  }
}

function manifestTarget(platform: NodePlatform): { os: string; arch: string } {
  const [os, arch] = platform.split('-');
  return { os: os === 'win' ? 'win32' : os, arch };
}

/** The first node_modules folder in a folder's ancestors (Node's module resolution would find it), if any. */
export function nodeModulesAbove(folder: string): string | undefined {
  for (let dir = path.dirname(folder); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}
