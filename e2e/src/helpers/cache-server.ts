import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './workspace';

/**
 * Runs scripts/remote-cache-server.js (Nx's self-hosted remote cache API) in its own process: the tests
 * drive Nx with spawnSync, which blocks this process's event loop, so the server cannot live in it.
 */
export class RemoteCacheServer {
  readonly token = 'e2e-token';
  private child?: ChildProcess;
  private output = '';
  private readonly logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-cache-server-')), 'requests.log');

  async start(): Promise<string> {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'remote-cache-server.js'), this.token, this.logFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the remote cache server did not start')), 10000);
      const check = () => {
        const url = /listening (\S+)/.exec(this.output)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        } else setTimeout(check, 50);
      };
      check();
    });
  }

  /** Request lines so far ("PUT <hash> 200"). */
  requests(): string[] {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean) : [];
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }
}
