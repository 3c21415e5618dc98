"""Sphinx configuration of the skmetric documentation (built offline by ``make docs``)."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("."))
os.environ.setdefault("MPLBACKEND", "Agg")

import skmetric  # noqa: E402
from numpydoc.xref import DEFAULT_LINKS  # noqa: E402

project = "skmetric"
author = "the skmetric developers"
copyright = "the skmetric developers, BSD-3-Clause"
release = skmetric.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]

# -- autodoc / autosummary / numpydoc ------------------------------------------
autosummary_generate = True
autosummary_imported_members = True  # public classes live in private submodules
autosummary_ignore_module_all = False  # document exactly each module's __all__
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Parameter types become cross-references where they name a class (so that
# "n_features_in_" in a type is not read as an rst link target).  Offline there
# is no intersphinx, so numpydoc's default :term:/:ref: links to the Python and
# NumPy docs (which always warn when unresolved) become plain class references.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
def _offline_link(link):
    """numpydoc's default link without the intersphinx prefix ("python:str" -> "str")."""
    if link.startswith((":ref:", ":term:")):  # these warn when unresolved: plain text
        link = link.split("`")[1].split(" <")[0]
    return link.replace("python:", "").replace("numpy:", "")


numpydoc_xref_aliases = {key: _offline_link(link) for key, link in DEFAULT_LINKS.items()}
numpydoc_xref_aliases.update({"array-like": "array-like", "array_like": "array-like"})

# -- MyST (the user-guide pages are Markdown) ----------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = [
    "myst.header",  # some guide pages start at "##" inside a section
    "ref.citation",  # numpydoc References entries need not be cited in the text
]

# -- sphinx-gallery ------------------------------------------------------------


sphinx_gallery_conf = {
    "reset_argv": "_sphinx_ext.example_argv",
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # run every plot_*.py; demo.py (the `make demo` script, minutes long) is left out
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(^|/)(demo|__init__)\.py$",
    "download_all_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "reset_modules": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML ----------------------------------------------------------------------
html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"skmetric {release}"
html_theme_options = {
    "description": "Deep metric learning as scikit-learn estimators",
    "page_width": "1100px",
    "sidebar_width": "230px",
    "fixed_sidebar": True,
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}

# Matplotlib and torch chatter during example runs is not a docs problem.
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")


def setup(app):
    from _sphinx_ext import quote_shape_names

    # before numpydoc (priority 500) parses the docstring
    app.connect("autodoc-process-docstring", quote_shape_names, priority=100)
