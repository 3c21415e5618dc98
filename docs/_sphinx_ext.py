"""Helpers of the docs build (imported by name from conf.py, so they pickle)."""

import os
import re

# "(n_samples, embedding_size_)" in a numpydoc type: a trailing underscore
# would make docutils read the name as a link target.
_SHAPE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?=\s*[,)])")
_TYPED_LINE = re.compile(r"^(\s*\w+\s+:\s+)(.*)$")
# "|Y|" (a cardinality) would be read as an rst substitution reference.
_BARS = re.compile(r"(?<![`\\|])\|(\w+)\|(?![`_|])")


def example_argv(gallery_conf, script_vars):
    """Command-line arguments of an example run by the gallery.

    Examples that save a picture next to their own file (``__file__`` is
    not defined under sphinx-gallery) get an output path in the working
    directory instead.
    """
    name = os.path.basename(script_vars["src_file"])
    if name == "plot_anyloss_imbalanced.py":
        return ["anyloss_imbalanced.png"]
    return []


def quote_shape_names(app, what, name, obj, options, lines):
    """Make plain-text docstrings valid reStructuredText before numpydoc reads them.

    Quotes names ending in ``_`` inside ``name : type`` lines and escapes
    ``|Y|``-style bars.
    """
    for i, line in enumerate(lines):
        line = lines[i] = _BARS.sub(r"\\|\1\\|", line)
        match = _TYPED_LINE.match(line)
        if match and "(" in match.group(2):
            lines[i] = match.group(1) + _SHAPE.sub(r"``\1``", match.group(2))
