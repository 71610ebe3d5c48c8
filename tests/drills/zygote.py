"""A process that has imported `garment` once and forks a fresh process per command.

Run as `python -m tests.drills.zygote`. Importing the application takes seconds of CPU (its models,
schemas and services), which every `garment ...` the drills type would pay again; a fork of a
process that has only imported it (no settings read, no event loop, no thread, no connection)
starts in milliseconds. Each command is still a process of its own, with its own environment,
argv, stdout, stderr and exit status, so the drill sees exactly what an operator's shell sees.

Protocol, one JSON object per line: in `{"args", "env", "stdout", "stderr"}` (the last two are
file paths), out `{"code"}` once the command has exited.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import garment.cli


def run_child(job: dict[str, object]) -> int:
    """In the forked child: become the command and run it."""
    env = job["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
        target = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    args = job["args"]
    assert isinstance(args, list)
    sys.argv = ["garment", *(str(a) for a in args)]
    code = 0
    try:
        garment.cli.main()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def serve() -> None:
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while line := requests.readline():
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(run_child(job))
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
        answers.flush()


if __name__ == "__main__":
    serve()
