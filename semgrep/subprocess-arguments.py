# Examples for `semgrep --test`: each `ruleid` line must be found, each `ok` line must not.
import os
import shlex
import subprocess

FFPROBE = "ffprobe"


def probe(path):
    # ok: subprocess-untrusted-arguments
    return subprocess.run([FFPROBE, "-v", "error", "--", str(path)], check=True)


def probe_built(command):
    # ok: subprocess-untrusted-arguments
    return subprocess.Popen(command)


def nginx(directory):
    # ok: subprocess-untrusted-arguments
    return subprocess.Popen(["nginx", "-p", f"{directory}/"])


def kept_in_a_variable(path):
    command = f"ffprobe {path}"
    # ruleid: subprocess-untrusted-arguments
    return subprocess.run(command, check=True)


def through_a_shell(path):
    # ruleid: subprocess-untrusted-arguments
    return subprocess.run(f"ffprobe {path}", shell=True, check=True)


def from_a_string(path):
    # ruleid: subprocess-untrusted-arguments
    return subprocess.run(f"ffprobe {path}".split(), check=True)


def concatenated(path):
    # ruleid: subprocess-untrusted-arguments
    return subprocess.check_output("ffprobe " + path)


def split_by_shlex(line):
    # ruleid: subprocess-untrusted-arguments
    return subprocess.call(shlex.split(line))


def system(path):
    # ruleid: subprocess-untrusted-arguments
    return os.system("ffprobe " + path)
