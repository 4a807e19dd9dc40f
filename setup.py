"""Map the top-level folders into the ``mhpcheck`` import namespace.

The design card fixes the folders (model/, checker/, properties/, cli/) at the top of
the repository; setuptools' package discovery cannot map them, so we list them here.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
FOLDERS = {"mhpcheck": "_mhpcheck", "mhpcheck.model": "model", "mhpcheck.checker": "checker",
           "mhpcheck.properties": "properties", "mhpcheck.cli": "cli"}


def _packages() -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for name, folder in FOLDERS.items():
        package_dir[name] = folder
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT / folder)
            packages.append(".".join([name, *rel.parts]))
    return packages, package_dir


PACKAGES, PACKAGE_DIR = _packages()
setup(packages=PACKAGES, package_dir=PACKAGE_DIR,
      package_data={"": ["*.md", "*.toml", "*.json", "*.html", "*.js", "*.css"]})
