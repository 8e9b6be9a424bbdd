"""The one thing pyproject.toml cannot say: ``search_spaces/`` stays at the top of the repository (users read and
copy it there) and ships inside the package as ``kwsauto/search_spaces``, where ``kwsauto.search`` finds it."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["kwsauto", "kwsauto.*"], exclude=["*.__pycache__"]), "kwsauto.search_spaces", "kwsauto.search_spaces.seeds"],
    package_dir={"kwsauto.search_spaces": "search_spaces", "kwsauto.search_spaces.seeds": "search_spaces/seeds"},
)
