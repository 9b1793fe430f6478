"""Command line of the agent runner: loads an agent definition and runs its steps."""
import json

import jwt
import yaml

import graphton
from agent_runner import __version__

DEFAULT_AGENT = """
name: hello-agent
steps:
  - plugin: echo
    input: hello from agent-runner
  - plugin: upper
    input: graph ready
"""


def run_agent(definition: str) -> dict:
    agent = yaml.safe_load(definition)
    graph = graphton.Graph(agent["name"])
    for step in agent["steps"]:
        graph.add_step(step["plugin"], step["input"])
    outputs = graph.run()
    # A signed receipt, as the control plane expects from every run.
    receipt = jwt.encode({"agent": agent["name"], "steps": len(outputs)}, "example-signing-key-of-agent-runner-32b", algorithm="HS256")
    return {"agent": agent["name"], "outputs": outputs, "receipt": receipt}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print(f"agent-runner {__version__}")
        return 0
    if argv[:1] == ["run"] and len(argv) == 2:
        with open(argv[1], encoding="utf-8") as handle:
            definition = handle.read()
    elif not argv:
        definition = DEFAULT_AGENT
    else:
        print("usage: agent-runner [run <agent.yaml>] [--version]")
        return 2
    print(json.dumps(run_agent(definition)))
    return 0
