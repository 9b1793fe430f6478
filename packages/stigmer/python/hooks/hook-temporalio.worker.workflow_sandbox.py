# The sandbox runner (_runner.py) execs "from temporalio.worker.workflow_sandbox._in_sandbox import InSandbox"
# when it creates a workflow instance: an import PyInstaller cannot see in a string.
hiddenimports = ["temporalio.worker.workflow_sandbox._in_sandbox"]
