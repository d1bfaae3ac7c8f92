"""The DSB 2018 download: the shipped manifest, file-by-file verification, and fetch on a fake archive."""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from unet_tutorial.data import DSB2018_COMMIT, DSB2018_MANIFEST_SHA256, fetch_dsb2018, verify_dsb2018
from unet_tutorial.data import dsb2018 as dsb

REAL = os.environ.get("UNET_TUTORIAL_DATA")
SHARED = Path(REAL) / "dsb2018" if REAL else None
needs_real_dsb = pytest.mark.skipif(not (SHARED and (SHARED / "stage1_train").is_dir()),
                                    reason="UNET_TUTORIAL_DATA with dsb2018/ not set")


def test_the_manifest_is_the_whole_source_set_and_matches_its_digest():
    text = lzma.decompress(dsb._MANIFEST_FILE.read_bytes())
    assert hashlib.sha256(text).hexdigest() == DSB2018_MANIFEST_SHA256
    manifest = dsb._manifest()
    assert len(manifest) == 29650
    assert len({p.split("/", 1)[0] for p in manifest}) == 664
    assert list(manifest) == sorted(manifest)


@needs_real_dsb
def test_the_manifest_equals_the_checksum_list_of_the_data_readme():
    listed = dict(reversed(line.split("  ", 1)) for line in (SHARED / "SHA256SUMS.source").read_text().splitlines())
    assert listed == dsb._manifest()


@needs_real_dsb
def test_the_shared_copy_verifies_as_a_partial_copy_only():
    n = verify_dsb2018(SHARED / "stage1_train", complete=False)
    assert n == sum(1 for _ in (SHARED / "stage1_train").glob("*/*/*.png"))
    with pytest.raises(ValueError, match=r"file\(s\) missing"):
        verify_dsb2018(SHARED / "stage1_train")


def _one_image(tmp_path: Path) -> tuple[Path, str]:
    """A copy of the first real image with its masks, in ``tmp_path/stage1_train``."""
    image_id = sorted(p.name for p in (SHARED / "stage1_train").iterdir())[0]
    dest = tmp_path / "stage1_train" / image_id
    shutil.copytree(SHARED / "stage1_train" / image_id, dest)
    return tmp_path / "stage1_train", image_id


@needs_real_dsb
def test_verification_names_changed_and_foreign_files(tmp_path):
    folder, image_id = _one_image(tmp_path)
    assert verify_dsb2018(folder, complete=False) >= 2
    mask = sorted((folder / image_id / "masks").glob("*.png"))[0]
    mask.write_bytes(mask.read_bytes() + b"\0")
    with pytest.raises(ValueError, match=r"1 file\(s\) with other bytes.*" + mask.name):
        verify_dsb2018(folder, complete=False)
    mask.unlink()
    with pytest.raises(ValueError, match=r"1 file\(s\) missing"):
        verify_dsb2018(folder, complete=False)
    (folder / image_id / "masks" / "stray.png").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"not in the commit.*stray.png"):
        verify_dsb2018(folder, complete=False)


@needs_real_dsb
def test_fetch_unpacks_verifies_and_keeps_nothing_when_a_file_is_wrong(tmp_path, monkeypatch):
    src, image_id = _one_image(tmp_path / "src")
    manifest = {k: v for k, v in dsb._manifest().items() if k.startswith(image_id + "/")}
    monkeypatch.setattr(dsb, "_manifest", lambda: manifest)  # a "commit" of this one image

    def archive(name: str, tamper: bool) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(f"repo-{DSB2018_COMMIT}/README.md", "fixes")
            for f in sorted(src.glob("*/*/*.png")):
                data = f.read_bytes() + (b"\0" if tamper and "masks" in f.parts else b"")
                z.writestr(f"repo-{DSB2018_COMMIT}/stage1_train/{f.relative_to(src).as_posix()}", data)
        return path

    calls = []
    import pooch

    monkeypatch.setattr(pooch, "retrieve", lambda url, **kw: calls.append(url) or str(archive("bad.zip", True)))
    with pytest.raises(ValueError, match="other bytes"):
        fetch_dsb2018(tmp_path / "data")
    assert not (tmp_path / "data" / "dsb2018" / "stage1_train").exists()  # nothing half-written
    monkeypatch.setattr(pooch, "retrieve", lambda url, **kw: calls.append(url) or str(archive("good.zip", False)))
    target = fetch_dsb2018(tmp_path / "data")
    assert target == tmp_path / "data" / "dsb2018" / "stage1_train"
    assert verify_dsb2018(target) == len(manifest)
    assert calls[-1].endswith(f"/archive/{DSB2018_COMMIT}.zip")
    n = len(calls)
    fetch_dsb2018(tmp_path / "data")  # a complete verified copy: no download
    assert len(calls) == n
    (target / image_id / "images" / f"{image_id}.png").write_bytes(b"changed")
    with pytest.raises(FileExistsError, match="move it away"):
        fetch_dsb2018(tmp_path / "data")
