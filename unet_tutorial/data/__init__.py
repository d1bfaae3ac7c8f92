"""Data sets of the paper's experiments (§4), synthetic stand-ins, and training tiles.

One module per data set (as torch-em does), each with its download constants and
citation; every public name is exported here, so chapters write
``from unet_tutorial.data import ...``:

- :mod:`.samples`: the one contract of every data set: :class:`Samples` (images,
  class masks, instances, ids) and :class:`Split` (train / validation / held out).
- :mod:`.registry`: every data set by name (:data:`DATASETS`), its loader
  (:func:`load_samples`) and split (:func:`make_split`), used by ``train --data``,
  :func:`prepare_data` and the recorded experiments alike.
- :mod:`._store`: the data directory (:func:`data_dir`, :data:`DATA_ENV_VAR`),
  image-file reading and checksummed downloads shared by the data sets.
- :mod:`.isbi2012`: the ISBI 2012 EM segmentation challenge (§4, Table 1):
  :func:`fetch_isbi2012`, :func:`load_isbi2012` (the 30 labelled slices),
  :func:`load_isbi2012_test_images` (the 30 test slices, which have no labels).
- :mod:`.dsb2018`: the Data Science Bowl 2018 nuclei, real touching instances
  (§3, Eq. 2): :func:`dsb2018_ids`, :func:`load_dsb2018`, :func:`fetch_dsb2018` (verified
  download), :func:`verify_dsb2018`, :func:`dsb2018_split`,
  :func:`dsb2018_modality`, :func:`dsb2018_gray`.
- :mod:`.ctc`: the Cell Tracking Challenge layout, the data sets of Table 2 (§4):
  :func:`load_ctc` (gold or silver truth; ids: frame numbers), :func:`fetch_ctc`
  (checksummed download of the pinned public copies).
- :mod:`.synthetic`: *synthetic* images for tests and illustrations, never real data:
  :func:`synthetic_voronoi_instances`, :func:`synthetic_em`, :func:`synthetic_nuclei`.
- :mod:`.tiles`: random training tiles for the unpadded network, mirrored beyond
  the image edge (§2, §3, Fig. 2): :class:`TileDataset`, :func:`reflect_indices`.
- :mod:`.training`: a data set made ready for training (§3): :class:`TrainData`
  (the split, checked when built), :func:`prepare_data`, :func:`weight_maps` (Eq. 2),
  :func:`make_tile_dataset`.
- :mod:`.folder`: your own images, ``DIR/images`` + ``DIR/masks``: :func:`load_folder`, :func:`folder_train_data`.

Every ``load_<name>`` returns :class:`Samples` (images, class masks, instances or
``None``, ids), whatever the data set's files look like.
"""

from __future__ import annotations

from ._store import DATA_ENV_VAR, data_dir
from .ctc import CTC_PERCENTILES, CTC_TABLE2_DATASETS, CTC_WEBSITE, fetch_ctc, load_ctc
from .dsb2018 import (DSB2018_ARCHIVE_URL, DSB2018_COMMIT, DSB2018_MANIFEST_SHA256, DSB2018_PARTS,
                      DSB2018_REPOSITORY, dsb2018_gray, dsb2018_ids, dsb2018_modality, dsb2018_split,
                      fetch_dsb2018, load_dsb2018, verify_dsb2018)
from .folder import folder_train_data, load_folder
from .isbi2012 import (ISBI2012_BASE_URL, ISBI2012_COMMIT, ISBI2012_SHA256, fetch_isbi2012, load_isbi2012,
                       load_isbi2012_test_images)
from .synthetic import synthetic_em, synthetic_nuclei, synthetic_voronoi_instances
from .registry import DATASETS, DataSet, get_dataset, load_samples, make_split, prepare_data
from .samples import Samples, Split
from .tiles import TileDataset, reflect_indices
from .training import TrainData, annotated_region, make_tile_dataset, weight_maps

__all__ = [
    "Samples",
    "Split",
    "DataSet",
    "DATASETS",
    "get_dataset",
    "load_samples",
    "make_split",
    "DATA_ENV_VAR",
    "data_dir",
    "synthetic_voronoi_instances",
    "synthetic_em",
    "synthetic_nuclei",
    "ISBI2012_COMMIT",
    "ISBI2012_BASE_URL",
    "ISBI2012_SHA256",
    "fetch_isbi2012",
    "load_isbi2012",
    "load_isbi2012_test_images",
    "DSB2018_REPOSITORY",
    "DSB2018_COMMIT",
    "DSB2018_ARCHIVE_URL",
    "DSB2018_MANIFEST_SHA256",
    "fetch_dsb2018",
    "verify_dsb2018",
    "dsb2018_ids",
    "load_dsb2018",
    "dsb2018_split",
    "dsb2018_modality",
    "dsb2018_gray",
    "DSB2018_PARTS",
    "reflect_indices",
    "TileDataset",
    "CTC_WEBSITE",
    "CTC_TABLE2_DATASETS",
    "CTC_PERCENTILES",
    "fetch_ctc",
    "load_ctc",
    "TrainData",
    "prepare_data",
    "weight_maps",
    "annotated_region",
    "make_tile_dataset",
    "load_folder",
    "folder_train_data",
]
