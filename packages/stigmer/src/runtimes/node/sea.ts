import * as path from 'node:path';
import * as fs from 'fs-extra';
import { findOnPath, runChecked } from '../../utils/process';
import type { NodePlatform } from './sea-spec';

/** The fuse Node looks for to know a blob was injected (docs: "Single executable applications"). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaRequest {
  bundle: string;
  assets: Record<string, string>;
  /** The Node executable of the target platform that becomes the binary. */
  runtime: string;
  /** A Node of the same version for this machine, which writes the blob. */
  blobNode: string;
  output: string;
  platform: NodePlatform;
  /** Code cache only where the blob's Node is the target's (it is platform-specific). */
  codeCache: boolean;
  workDir: string;
}

/**
 * The Node single-executable procedure: a SEA config, the blob (`node --experimental-sea-config`), a copy
 * of the runtime, postject's API to inject the blob with the NODE_SEA fuse; on macOS targets the signature
 * is removed before and an ad-hoc one added after, where `codesign` exists.
 */
export async function makeSingleExecutable(request: SeaRequest): Promise<void> {
  const config = path.join(request.workDir, `sea-config-${request.platform}.json`);
  const blob = path.join(request.workDir, `sea-${request.platform}.blob`);
  await fs.writeJson(config, {
    main: request.bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: request.codeCache,
    useSnapshot: false,
    assets: request.assets,
  });
  await runChecked(request.blobNode, ['--experimental-sea-config', config], 'writing the single-executable blob (node --experimental-sea-config)');
  await fs.copy(request.runtime, request.output);
  await fs.chmod(request.output, 0o755);
  const macOS = request.platform.startsWith('darwin');
  const codesign = macOS ? findOnPath('codesign') : undefined;
  if (codesign) await runChecked(codesign, ['--remove-signature', request.output], 'codesign --remove-signature');
  // postject prints its progress with console.log: keep the build's output to our phases.
  const { inject } = require('postject') as { inject(file: string, name: string, data: Buffer, options: object): Promise<void> };
  const log = console.log;
  console.log = () => undefined;
  try {
    await inject(request.output, 'NODE_SEA_BLOB', await fs.readFile(blob), {
      sentinelFuse: SEA_FUSE,
      machoSegmentName: macOS ? 'NODE_SEA' : undefined,
      overwrite: true,
    });
  } finally {
    console.log = log;
  }
  if (codesign) await runChecked(codesign, ['--sign', '-', request.output], 'codesign --sign -');
  await fs.remove(config);
  await fs.remove(blob);
}
