"""The package's file formats: atomic writes with the umask's modes, model files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

from unet_tutorial import checkpoint as K
from unet_tutorial.model import UNet


@pytest.fixture
def umask():
    """Set a umask for the test and restore the previous one."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600), (0o027, 0o640)])
def test_written_files_get_the_mode_of_the_umask(tmp_path, umask, mask, mode):
    """Models, checkpoints, histories and predict outputs are readable by whoever the umask allows
    (a temporary file's 0600 would lock others of a shared folder out)."""
    umask(mask)
    path = tmp_path / "out.bin"
    K.write_atomic(path, lambda tmp: Path(tmp).write_bytes(b"x"))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    K.save_model(UNet(base_channels=2, depth=2), tmp_path / "model.pt")
    assert stat.S_IMODE((tmp_path / "model.pt").stat().st_mode) == mode


def test_the_folder_is_flushed_after_the_rename(tmp_path, monkeypatch):
    flushed = []
    monkeypatch.setattr(K, "_fsync_dir", lambda folder: flushed.append(Path(folder)))
    K.write_atomic(tmp_path / "sub" / "f.txt", lambda tmp: Path(tmp).write_text("hi"))
    assert flushed == [tmp_path / "sub"]
    assert (tmp_path / "sub" / "f.txt").read_text() == "hi"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")

    def fail(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        K.write_atomic(path, fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_float16_model_files_load_as_float32(tmp_path):
    net = UNet(base_channels=2, depth=2)
    K.save_model(net.half(), tmp_path / "half.pt")
    back = K.load_model(tmp_path / "half.pt")
    assert all(p.dtype == torch.float32 for p in back.parameters())
    assert (tmp_path / "half.pt").stat().st_size < 0.6 * sum(p.numel() * 4 for p in net.parameters()) + 20000


def test_load_pretrained_says_how_to_get_a_missing_model(tmp_path, monkeypatch):
    monkeypatch.setenv("UNET_TUTORIAL_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"save_pretrained\(model, 'nothing'"):
        K.load_pretrained("nothing")
