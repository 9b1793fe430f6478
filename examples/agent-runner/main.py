"""agent-runner entry point: `agent-runner [run <agent.yaml>] [--version]`."""
import sys

from agent_runner.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
