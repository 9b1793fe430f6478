// The Python services the bench rows build, set up the same way by every script that measures them.
const path = require('node:path');
const fs = require('fs-extra');
const { REPO_ROOT } = require('../scripts/test-workspace');

const EXAMPLE = 'services/agent-runner';
const AGENT_STACK = 'services/agent-stack';

/** The example agent-runner with the plugin set up and its spec generated, committed. */
function addExample(ws) {
  ws.addExamplePythonService();
  ws.mustNx(['g', 'stigmer:init']);
  ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-runner']);
  ws.commit('example');
  return EXAMPLE;
}

/** The e2e agent stack and its local gRPC library, its spec generated, committed. */
function addAgentStack(ws) {
  const fixtures = path.join(REPO_ROOT, 'e2e', 'fixtures', 'python-stack');
  fs.copySync(path.join(fixtures, 'agent-stack'), ws.path(AGENT_STACK));
  fs.copySync(path.join(fixtures, 'libs', 'agent-rpc'), ws.path('services/libs/agent-rpc'));
  fs.writeJsonSync(ws.path(AGENT_STACK, 'project.json'), { name: 'agent-stack', root: AGENT_STACK });
  fs.writeJsonSync(ws.path('services/libs/agent-rpc/project.json'), { name: 'agent-rpc', root: 'services/libs/agent-rpc' });
  ws.mustNx(['g', 'stigmer:binary-spec', '--project', 'agent-stack']);
  ws.commit('agent-stack');
  return AGENT_STACK;
}

/**
 * A clean PyInstaller run by hand on the example's generated spec, in its managed environment: the plugin's
 * overhead is measured against it. A stigmer spec imports the plugin's stigmer_spec.py, as its first line
 * tells a user who runs PyInstaller by hand. Returns the milliseconds it took.
 */
function pyinstallerByHand(ws) {
  const python = ws.path('.stigmer', 'venvs', 'agent-runner', 'bin', 'python');
  const args = ['-m', 'PyInstaller', '--noconfirm', '--clean', '--distpath', ws.path('bench-dist'), '--workpath', ws.path('bench-build'), ws.path(EXAMPLE, 'agent-runner.spec')];
  return ws.mustRun(python, args, { PYTHONPATH: ws.path('node_modules', 'stigmer', 'python') }).ms;
}

module.exports = { addExample, addAgentStack, pyinstallerByHand };
