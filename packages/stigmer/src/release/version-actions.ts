import * as path from 'node:path';
import type { ProjectGraph, Tree } from '@nx/devkit';
import { VersionActions } from 'nx/release';
import { readSpecFile } from '../runtimes';
import type { BinaryRuntime, ReleaseVersionFile, SpecInfo } from '../runtimes/types';
import { channelVersion } from '../publish/publish';
import { openStore } from '../publish/store';
import { RELEASE_PUBLISH_TARGET } from '../plugins/targets';

/**
 * nx release's version actions for services whose runtime keeps the version in its own file (Python's
 * pyproject.toml: [project].version or [tool.poetry].version). Configured in nx.json as
 * `"release": { "version": { "versionActions": "stigmer/release" } }`. The file is edited through the runtime
 * (comments and layout kept); the "registry" is the store's index, read through the store publish-binary uses.
 */
export class BinaryVersionActions extends VersionActions {
  validManifestFilenames: string[] = [];
  private versionFile?: ReleaseVersionFile;
  private spec?: SpecInfo;

  override async init(tree: Tree): Promise<void> {
    const found = findSpec(tree, this.projectGraphNode.data.root);
    const runtime: BinaryRuntime | undefined = found?.runtime;
    if (!found || !runtime?.releaseVersion) {
      throw new Error(
        `stigmer: project ${this.projectGraphNode.name} has ${found ? `a ${found.runtime.displayName} spec, whose version lives outside a file stigmer edits` : 'no binary spec'}: use Nx's own version actions for it (a release group without "versionActions": "stigmer/release").`,
      );
    }
    this.versionFile = runtime.releaseVersion;
    this.spec = found.spec;
    this.validManifestFilenames = [runtime.releaseVersion.file];
    await super.init(tree);
  }

  async readCurrentVersionFromSourceManifest(tree: Tree): Promise<{ currentVersion: string; manifestPath: string } | null> {
    const manifestPath = this.manifestsToUpdate[0]?.manifestPath ?? path.posix.join(this.projectGraphNode.data.root, this.validManifestFilenames[0]);
    const text = tree.read(manifestPath, 'utf-8');
    if (text === null) return null;
    const currentVersion = this.versionFile!.read(text, manifestPath);
    return currentVersion ? { currentVersion, manifestPath } : null;
  }

  /** The version the store's index points the channel (metadata "channel", default latest) at. */
  async readCurrentVersionFromRegistry(
    tree: Tree,
    metadata: Record<string, unknown> | undefined,
  ): Promise<{ currentVersion: string | null; logText: string } | null> {
    const target = this.projectGraphNode.data.targets?.[RELEASE_PUBLISH_TARGET] ?? this.projectGraphNode.data.targets?.['publish-binary'];
    const options = (target?.options ?? {}) as { store?: string; endpoint?: string; region?: string };
    const channel = typeof metadata?.channel === 'string' ? metadata.channel : 'latest';
    const store = openStore(options.store ?? '', tree.root, { endpoint: options.endpoint, region: options.region });
    try {
      const currentVersion = (await channelVersion(store, this.spec!.binaryName, channel)) ?? null;
      return { currentVersion, logText: `channel "${channel}" of ${store.location}/${this.spec!.binaryName}/index.json` };
    } finally {
      store.close();
    }
  }

  async readCurrentVersionOfDependency(): Promise<{ currentVersion: string | null; dependencyCollection: string | null }> {
    // A binary carries its dependencies inside: no manifest references another project's version.
    return { currentVersion: null, dependencyCollection: null };
  }

  async updateProjectVersion(tree: Tree, newVersion: string): Promise<string[]> {
    const logs: string[] = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const text = tree.read(manifestPath, 'utf-8');
      if (text === null) continue;
      tree.write(manifestPath, this.versionFile!.write(text, newVersion, manifestPath));
      logs.push(`✍️  New version ${newVersion} written to manifest: ${manifestPath}`);
    }
    return logs;
  }

  async updateProjectDependencies(_tree: Tree, _projectGraph: ProjectGraph, _dependencies: Record<string, string>): Promise<string[]> {
    return [];
  }
}

/** The project's spec (the only one its folder holds that a runtime reads), from the tree. */
function findSpec(tree: Tree, root: string): ReturnType<typeof readSpecFile> {
  for (const file of tree.children(root).sort()) {
    const content = tree.isFile(path.posix.join(root, file)) ? tree.read(path.posix.join(root, file), 'utf-8') : null;
    const found = content !== null ? readSpecFile(file, content) : undefined;
    if (found) return found;
  }
  return undefined;
}

export default BinaryVersionActions;
