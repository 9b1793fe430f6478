from agent_runner.cli import run_agent, DEFAULT_AGENT


def test_default_agent_runs_every_step():
    result = run_agent(DEFAULT_AGENT)
    assert result["outputs"] == ["hello from agent-runner", "GRAPH READY"]
