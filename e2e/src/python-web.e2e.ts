import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'fs-extra';
import { freePort } from './helpers/net';
import { exec, REPO_ROOT, Workspace } from './helpers/workspace';

/**
 * A uv web service made the way a user makes one: `uv init --app` (a folder with only a pyproject.toml,
 * `[tool.uv] package = false`), `uv add` with a real uv.lock, a package with the binary's name (binary
 * `api`, package `api/`), FastAPI served by uvicorn from an import string ("api.app:app"), and
 * OpenTelemetry instrumentation loaded through entry points. The binary serves real HTTP requests from an
 * empty folder with an almost empty environment and prints the spans of those requests; editing the
 * package rebuilds it, and git sees new modules of the package.
 */
describe('uv web service → one binary (e2e)', () => {
  let ws: Workspace;
  let uv: UvTools;
  const binary = 'services/api/dist/api';

  beforeAll(() => {
    uv = uvTools();
    ws = Workspace.create('python-web');
    ws.mustNx(['g', 'stigmer:init']);
    // What `uv init --app` makes (without a nested git repository or a README), marked as an application
    // that is not built as a package.
    ws.mustRun(uv.bin, ['init', '--app', '--no-package', '--vcs', 'none', '--no-workspace', '--no-readme', 'services/api'], uv.env);
    ws.write('services/api/pyproject.toml', `${ws.read('services/api/pyproject.toml').trimEnd()}\n\n[tool.uv]\npackage = false\n`);
    // A library made with `uv init --lib` (pyproject.toml only, src layout) that the service takes by path.
    ws.mustRun(uv.bin, ['init', '--lib', '--vcs', 'none', '--no-workspace', '--no-readme', 'libs/greetings'], uv.env);
    ws.write('libs/greetings/src/greetings/__init__.py', 'def hello(name: str) -> str:\n    return f"hello {name}"\n');
    ws.mustRun(uv.bin, ['add', '--directory', 'services/api', 'fastapi', 'uvicorn', 'opentelemetry-distro', 'opentelemetry-instrumentation-fastapi', '../../libs/greetings'], uv.env);
    ws.write('services/api/main.py', MAIN_PY);
    ws.write('services/api/api/__init__.py', '');
    ws.write('services/api/api/app.py', APP_PY);
    ws.commit('uv web service api');
  });

  afterAll(() => {
    ws?.remove();
    uv?.remove();
  });

  it('is a project with no project.json: the plugin names it (and its library) from pyproject.toml', () => {
    expect(fs.existsSync(ws.path('services/api/project.json'))).toBe(false);
    const shown = ws.mustNx(['show', 'projects', '--json']);
    expect(JSON.parse(shown.stdout).sort()).toEqual(['api', 'greetings']);
    console.log(`nx show projects: ${shown.ms} ms`);
  });

  it('a pyproject-only library is a node too: the path dependency is a graph edge and a change in it affects api', () => {
    expect(fs.existsSync(ws.path('libs/greetings/project.json'))).toBe(false);
    ws.mustNx(['graph', '--file', 'graph.json']);
    const { dependencies } = fs.readJsonSync(ws.path('graph.json')).graph;
    fs.removeSync(ws.path('graph.json'));
    expect(dependencies.api.map((d: { target: string }) => d.target)).toEqual(['greetings']);
    const affected = ws.mustNx(['show', 'projects', '--affected', '--files=libs/greetings/src/greetings/__init__.py', '--json']);
    expect(JSON.parse(affected.stdout).sort()).toEqual(['api', 'greetings']);
  });

  it('nx g stigmer:binary-spec --project api accepts it and ignores no source of the package api/', () => {
    ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'api'], uv.env);
    expect(fs.existsSync(ws.path('services/api/api.spec'))).toBe(true);
    expect(ws.read('services/api/.gitignore')).toBe('# stigmer: binaries and build work files\ndist/\nbuild/\n');
    // git check-ignore exits 1 when nothing is ignored
    expect(ws.run('git', ['check-ignore', 'services/api/api/app.py', 'services/api/api']).code).toBe(1);
    const project = JSON.parse(ws.mustNx(['show', 'project', 'api', '--json']).stdout);
    expect(project.root).toBe('services/api');
    expect(Object.keys(project.targets)).toEqual(expect.arrayContaining(['build-binary', 'test-binary', 'clean-binary']));
    // The generator re-locked after adding PyInstaller: the build below never has to rewrite the tracked uv.lock.
    ws.mustRun(uv.bin, ['lock', '--check', '--directory', 'services/api'], uv.env);
    ws.commit('binary spec for api');
  });

  it('builds a binary that serves real requests from an empty folder and prints the spans of an instrumentor loaded by entry point', async () => {
    const build = ws.mustNx(['run', 'api:build-binary'], uv.env);
    expect(build.output).toContain('[stigmer] analyse');
    expect(ws.mustRun('git', ['status', '--porcelain']).stdout).toBe('');
    const server = await startBinary(ws.path(binary));
    try {
      expect(await get(server.port, '/hello/ada')).toEqual({ status: 200, body: { message: 'hello ada' } });
      expect(await get(server.port, '/nothing-here')).toMatchObject({ status: 404 });
      // The FastAPI instrumentor (found through the opentelemetry_instrumentor entry point) names the server
      // span after the route template; the console exporter (an opentelemetry_traces_exporter entry point) prints it.
      await server.waitFor(/"name": "GET \/hello\/\{name\}",[\s\S]*?"kind": "SpanKind\.SERVER",[\s\S]*?"http\.route": "\/hello\/\{name\}"/);
      expect(server.output()).toContain('"service.name": "api"');
    } finally {
      server.stop();
    }
  });

  it("editing the package named like the binary rebuilds it, and git sees the package's new module", async () => {
    ws.write('services/api/api/greeting.py', 'def greet(name: str) -> str:\n    return f"good day, {name}"\n');
    ws.write('services/api/api/app.py', APP_PY.replace('from greetings import hello as greet\n', 'from api.greeting import greet\n'));
    expect(ws.mustRun('git', ['status', '--porcelain', 'services/api']).stdout.split('\n').filter(Boolean).sort()).toEqual([
      ' M services/api/api/app.py',
      '?? services/api/api/greeting.py',
    ]);
    expect(ws.mustRun('git', ['add', '--dry-run', 'services/api/api/greeting.py']).stdout).toContain("add 'services/api/api/greeting.py'");
    // The same rebuild takes a new dependency too, which the size report's --compare must show as new.
    const previous = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-api-previous-'));
    fs.copySync(ws.path('services/api/dist/api.report.json'), path.join(previous, 'api.report.json'));
    ws.mustRun(uv.bin, ['add', '--directory', 'services/api', 'humanize==4.12.3'], uv.env);
    ws.write('services/api/api/greeting.py', 'import humanize\n\n\ndef greet(name: str) -> str:\n    return f"good day, {name}" + ("" if humanize.intcomma(1000) == "1,000" else "!")\n');

    const rebuild = ws.mustNx(['run', 'api:build-binary'], uv.env);
    expect(rebuild.output).not.toMatch(/\[(local|remote) cache\]|existing outputs match the cache/);
    expect(rebuild.output).toContain('[stigmer] analyse');
    const server = await startBinary(ws.path(binary));
    try {
      expect(await get(server.port, '/hello/ada')).toEqual({ status: 200, body: { message: 'good day, ada' } });
    } finally {
      server.stop();
    }
    try {
      const humanize = fs.readJsonSync(ws.path('services/api/dist/api.report.json')).packages.find((p: { name: string }) => p.name === 'humanize');
      expect(humanize).toMatchObject({ kind: 'distribution', version: '4.12.3' });
      expect(humanize.files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining(['humanize.number']));
      const compared = ws.mustNx(['run', 'api:binary-report', '--compare', previous], uv.env);
      const kb = `${(humanize.size / 1024).toFixed(1)} KB`.replace('.', '\\.');
      expect(compared.output).toMatch(new RegExp(`^humanize\\s+\\+${kb}\\s+-\\s+${kb}\\s+new$`, 'm'));
    } finally {
      fs.removeSync(previous);
    }
  });
});

const MAIN_PY = `"""api: a FastAPI service that uvicorn serves from an import string, traced by OpenTelemetry."""
import argparse
import os

import uvicorn
from opentelemetry.instrumentation.auto_instrumentation import initialize


def main() -> None:
    parser = argparse.ArgumentParser(prog="api")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # Spans go to stdout (ConsoleSpanExporter), flushed quickly: no collector needed.
    os.environ.setdefault("OTEL_SERVICE_NAME", "api")
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "console")
    os.environ.setdefault("OTEL_METRICS_EXPORTER", "none")
    os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")
    os.environ.setdefault("OTEL_BSP_SCHEDULE_DELAY", "100")
    # The distro, the configurator, the exporter and every instrumentor are found through entry points.
    initialize()
    uvicorn.run("api.app:app", host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
`;

const APP_PY = `from fastapi import FastAPI
from greetings import hello as greet

app = FastAPI(title="api")


@app.get("/hello/{name}")
def hello(name: str) -> dict:
    return {"message": greet(name)}
`;

interface UvTools {
  bin: string;
  /** PATH with uv, and uv's index and certificates taken from pip's own configuration. */
  env: NodeJS.ProcessEnv;
  remove(): void;
}

/**
 * uv from the repository's pinned test tools (<repo>/.tools/venv/bin, which `node scripts/test-tools.js`
 * installs), configured at test time from pip's configuration: no index address is written anywhere.
 */
function uvTools(): UvTools {
  const toolsBin = path.join(REPO_ROOT, '.tools', 'venv', 'bin');
  const bin = path.join(toolsBin, 'uv');
  if (!fs.existsSync(bin)) throw new Error(`uv is missing from ${toolsBin}: run "node scripts/test-tools.js" (npm test does) to install the pinned test tools.`);
  const pip = (key: string) => {
    const listed = exec('python3', ['-m', 'pip', 'config', 'list'], REPO_ROOT).stdout;
    return listed.match(new RegExp(`^[\\w:.-]*\\.${key}='([^']+)'`, 'm'))?.[1];
  };
  const index =
    process.env.PIP_INDEX_URL ??
    pip('index-url') ??
    exec('python3', ['-c', 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)'], REPO_ROOT).stdout.trim();
  const cert = process.env.PIP_CERT ?? pip('cert');
  // A uv.toml outside the workspace: unlike UV_DEFAULT_INDEX, `uv add` does not copy it into pyproject.toml.
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-uv-config-'));
  fs.writeFileSync(path.join(configDir, 'uv.toml'), `[[index]]\nurl = ${JSON.stringify(index)}\ndefault = true\n`);
  return {
    bin,
    env: {
      PATH: `${toolsBin}${path.delimiter}${process.env.PATH}`,
      UV_CONFIG_FILE: path.join(configDir, 'uv.toml'),
      ...(cert ? { SSL_CERT_FILE: cert } : { UV_NATIVE_TLS: '1' }),
    },
    remove: () => fs.removeSync(configDir),
  };
}

interface RunningServer {
  port: number;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): void;
}

/** Starts the binary on a free 127.0.0.1 port from an empty temporary folder with only PATH and HOME set. */
async function startBinary(file: string): Promise<RunningServer> {
  const port = await freePort();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'stigmer-api-run-'));
  const child: ChildProcess = spawn(file, ['--port', String(port)], { cwd, env: { PATH: '/usr/bin:/bin', HOME: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = output.match(pattern);
      if (found) return found[0];
      if (child.exitCode !== null) throw new Error(`the binary exited ${child.exitCode} before printing ${pattern}:\n${output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms; the binary printed:\n${output.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const server: RunningServer = {
    port,
    output: () => output,
    waitFor,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      fs.removeSync(cwd);
    },
  };
  try {
    await waitFor(new RegExp(`Uvicorn running on http://127\\.0\\.0\\.1:${port}`), 60_000);
  } catch (error) {
    server.stop();
    throw error;
  }
  return server;
}

/** A real HTTP GET on 127.0.0.1; the body parsed as JSON. */
function get(port: number, urlPath: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          reject(new Error(`GET ${urlPath} answered ${response.statusCode} with no JSON: ${text.slice(0, 300)}`));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${urlPath} timed out`)));
    request.on('error', reject);
  });
}
