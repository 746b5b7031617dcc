"""Datasets: built-in sets, importers (CSV, NPZ/NPY, IDX, image folders) and preparation.

Pure Python + numpy. The image-folder importer needs Qt, so it lives in app/image_folder.py
and is imported only when a spec asks for format "images".

    ds = load_dataset({"name": "digits"})
    ds = load_dataset({"path": "data/my.csv", "label": "species"}, base_dir=graph_dir)
"""
from .builtin import BUILTINS, Builtin, assets_dir
from .core import Dataset, DatasetError, one_hot
from .loader import load_dataset
from .options import FORMAT_OPTIONS
from .prepare import apply_scaling, fit_scaling, split_indices
from .spec import PATH_KEYS, infer_format, make_spec_relative, resolve_spec_paths, validate_spec, with_defaults

__all__ = [
    "BUILTINS", "Builtin", "Dataset", "DatasetError", "FORMAT_OPTIONS", "PATH_KEYS", "apply_scaling", "assets_dir",
    "fit_scaling", "infer_format", "load_dataset", "make_spec_relative", "one_hot", "resolve_spec_paths",
    "split_indices", "validate_spec", "with_defaults",
]
