"""Every Python code block of README.md and docs/ runs as written.

The ```python blocks of README.md and docs/*.md and the
``.. code-block:: python`` blocks (and ``>>>`` doctest lines) of docs/*.rst
are run top to bottom, file by file: the blocks of one file share one fresh
namespace, in order, in a temporary working directory, with matplotlib's Agg
backend. A block that cannot run here (a shell command, a CUDA-only line)
is written under another fence language (``bash``, ``text``); there is no
skip list. A fence without a language is an error, so that no Python hides
under a bare fence.
"""

import re
import sys
import textwrap
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *(p for p in sorted((ROOT / "docs").glob("*.rst"))
               if p.name != "sg_execution_times.rst")]  # written by the gallery

_MD_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_RST_BLOCK = re.compile(r"^(\s*)\.\. (?:code-block|code|sourcecode)::\s*(\w+)?\s*$")


def markdown_blocks(text):
    """``(first line, language, code)`` of each fenced block of a Markdown text."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = _MD_FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, lang = match.groups()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append((start + 1, lang.lower(), "\n".join(body) + "\n"))
        i += 1
    return blocks


def rst_blocks(text):
    """``(first line, language, code)`` of each code block and doctest of an rst text."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = _RST_BLOCK.match(lines[i])
        if match:
            indent = len(match.group(1))
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith(":")):
                i += 1  # the blank line and options such as :caption:
            start, body = i, []
            while i < len(lines) and (not lines[i].strip()
                                      or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, (match.group(2) or "").lower(),
                           textwrap.dedent("\n".join(body)).strip("\n") + "\n"))
        elif lines[i].lstrip().startswith(">>>"):
            start, body = i, []
            while i < len(lines) and lines[i].lstrip().startswith((">>>", "...")):
                body.append(lines[i].lstrip()[4:])
                i += 1
            blocks.append((start + 1, "python", "\n".join(body) + "\n"))
        else:
            i += 1
    return blocks


def code_blocks(path):
    text = path.read_text(encoding="utf-8")
    return rst_blocks(text) if path.suffix == ".rst" else markdown_blocks(text)


def python_blocks(path):
    return [(line, code) for line, lang, code in code_blocks(path)
            if lang in ("python", "py", "python3")]


def test_blocks_found():
    # the parsers see the blocks we know of (a parser that finds nothing runs nothing)
    readme = python_blocks(ROOT / "README.md")
    assert len(readme) >= 1 and "MetricLearner" in readme[0][1]
    assert sum(len(python_blocks(p)) for p in DOC_FILES) >= 20
    assert rst_blocks(".. code-block:: python\n\n   a = 1\n   b = 2\n\ntext\n") == [
        (3, "python", "a = 1\nb = 2\n")]
    assert rst_blocks(">>> x = 1\n>>> print(x)\n1\n") == [(1, "python", "x = 1\nprint(x)\n")]
    assert markdown_blocks("a\n```python\nx = 1\n```\n```text\nout\n```\n") == [
        (3, "python", "x = 1\n"), (6, "text", "out\n")]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fences_name_a_language(path):
    bare = [line for line, lang, _ in code_blocks(path) if not lang]
    assert not bare, (f"{path.relative_to(ROOT)}: code blocks at lines {bare} name no language; "
                      "write ```python (it runs), ```bash or ```text (it does not)")


def _reset_process_state():
    """Forget the process-wide state a snippet may set up (Accelerate's singleton)."""
    import matplotlib.pyplot as plt

    plt.close("all")
    if "accelerate" in sys.modules:
        # what accelerate's own AccelerateTestCase does between tests
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(reset_partial_state=True)


def run_file(path):
    """Run the python blocks of ``path`` in order in one fresh namespace.

    Returns None when all ran, else a message naming the file, the block and
    its traceback.
    """
    blocks = python_blocks(path)
    name = path.relative_to(ROOT)
    namespace = {"__name__": "__main__"}
    for number, (line, code) in enumerate(blocks, start=1):
        try:
            exec(compile(code, f"{name}, block {number} (line {line})", "exec"), namespace)
        except Exception as exc:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
            return f"{name}: python block {number} of {len(blocks)} (line {line}) failed:\n{tb}"
    return None


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(path, tmp_path, monkeypatch):
    if not python_blocks(path):
        pytest.skip(f"{path.name} has no python block")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # figures a snippet saves land here
    _reset_process_state()
    try:
        error = run_file(path)
    finally:
        _reset_process_state()
    if error:
        pytest.fail(error, pytrace=False)
