"""The ISBI 2012 EM segmentation challenge: the paper's first experiment (§4, Table 1).

Serial-section transmission electron microscopy of the Drosophila first instar
larva ventral nerve cord: 30 training slices of 512 x 512 px with membrane labels,
and 30 test slices whose labels were never published.

- :data:`ISBI2012_COMMIT`, :data:`ISBI2012_BASE_URL`, :data:`ISBI2012_SHA256`:
  where the PNG slices are downloaded from, and the SHA-256 of every file.
- :func:`fetch_isbi2012`: the checksummed download into ``<data dir>/isbi2012/``.
- :func:`load_isbi2012`: the 30 labelled slices as :class:`~unet_tutorial.data.Samples`,
  from the PNG slices or the challenge's TIFF stacks; :func:`load_isbi2012_test_images`:
  the 30 unlabelled test slices (images only).

If you use this data set, cite the challenge and the data's source:

- I. Arganda-Carreras et al., "Crowdsourcing the creation of image segmentation
  algorithms for connectomics", Frontiers in Neuroanatomy 9:142 (2015),
  https://doi.org/10.3389/fnana.2015.00142.
- A. Cardona et al., "An integrated micro- and macroarchitectural analysis of the
  Drosophila brain by computer-assisted serial section electron microscopy",
  PLoS Biology 8(10):e1000502 (2010), https://doi.org/10.1371/journal.pbio.1000502.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..cache import user_cache_dir
from ..image_io import read_pixels, read_stack, to_unit_float
from ._store import DATA_ENV_VAR, numeric_pngs, retrieve_verified, data_dir
from .samples import Samples

__all__ = ["ISBI2012_COMMIT", "ISBI2012_BASE_URL", "ISBI2012_SHA256", "fetch_isbi2012", "load_isbi2012",
           "load_isbi2012_test_images"]


#: Commit of the public GitHub repository ``zhixuhao/unet`` whose
#: ``data/membrane/`` holds byte-identical copies of the ISBI 2012 PNG slices.
ISBI2012_COMMIT = "b45af4d458437d8281cc218a07fd4380818ece4a"

#: Where :func:`fetch_isbi2012` downloads from (raw files at that exact commit).
ISBI2012_BASE_URL = (
    f"https://raw.githubusercontent.com/zhixuhao/unet/{ISBI2012_COMMIT}/data/membrane/"
)

# SHA-256 of every PNG slice, as listed by the data set's SHA256SUMS (the local copy
# was verified against them). Keys are paths under ``<data dir>/isbi2012/``.
_ISBI2012_SHA256SUMS = """
12c0ed6f42fc09f512abf6b354f217c950e4c8223b57a0315449b62a14556523  train/image/0.png
2cfc7ee635a6f85d5faf5c82a71d3a37bf5af4784b554964e3e07193e3ee2166  train/image/1.png
fe60d8d4f93102666a23a18d718b4b59fab8e616987d11c5072f4a87fac7301f  train/image/2.png
636d16cbb02f99dda4c9fb6db98dfba066142afa981ffdcfaf54453982e8250c  train/image/3.png
991fb3a8e4abc73da1d6159ca28fa4397f0a8351f30a8ba3669c86414d2ce239  train/image/4.png
7e9d9fb787664336d6f2cd68b23986f04527e7f8f494410983b4d70c6de1de3b  train/image/5.png
7c0a87933ffc72f4ff02f5996d9c3f69fe9a0b5277507415743ad8afb5e5d308  train/image/6.png
19f2c25716107d41008c83ba8a814ae47a090e00dea766dde38dce1f00899270  train/image/7.png
a8979e4abd1a10af9ca75e614d97875659adbd8ee3a68eba483bf556cfe3023d  train/image/8.png
730ebf435ab0f6e625d342552ad03736799fd660d0c6af744674c61a46aa082a  train/image/9.png
7c3717bcd48c4b7e5c878d7f0b809b8687a4e6fac471f3863de320a82ee72b8a  train/image/10.png
dd7857b25ca1417f87c282750e22c50947f75e81fa032d4e0c96b902c9dc9757  train/image/11.png
9f8eff9239bb764d51524a998387a7babcff9f62161804651b030b81aabd5ab8  train/image/12.png
377e5cdbcd7f0ac7336f482fc7ead7446887863f26769b3841fe98aadca77dad  train/image/13.png
f50d2d77acd2df564c5f0f40b1b24cd929f5944460aa4cd90c422cb5cef33a59  train/image/14.png
3e13fdea09accc14f46fb2f3ffa1e882cdd9c53b28a6842c4c10229692c7d1a4  train/image/15.png
ffc951c12450f94129582c16fd0d4b165c4a31469b0c42d966f07c183d3132e2  train/image/16.png
0f4f7e8e0619e4c7d517ac68d3789a3b6248253747717eac418bb7d32bef4de3  train/image/17.png
1bb1edd50595861743d14e1955dfa5d3c9395fb87563eca6dc81433bf9df49de  train/image/18.png
999b55633f8d7082add72082656e9532c5c3d97203b376eb317f09ba88a5a5b7  train/image/19.png
9153d14bfd15955fab576ea23281c4f23104b45dceed6e03e0b254607f50a1b2  train/image/20.png
9ad07cf4f67984f17a08aa63e6d92d395ce55f5132e6ff4fa6d95d6890ea7f97  train/image/21.png
6278609b4c42a7cb43212de0e2e2ceded758bafe0856fb56214ce658a61668e4  train/image/22.png
9ef4e9fbc838b9791af83a36918d729a0ea2e90ebc71c4a3c4554059f9379756  train/image/23.png
f0f917b9c3e9c96d16ea287aff9b05ecf4de88bc61d478e4aefcb64932fba70c  train/image/24.png
e0154737e76392e8bf94fb2c0dfa5ddad4b53aeec942a0a8cdd8ba63443e6072  train/image/25.png
d0ff11e09b0ee0c817334946e746a38ab621161d5f9c46af95c68b851f8d9a1a  train/image/26.png
eed8e8bee1db8fe7af39b5b43ecf14282c5c33eca0959726eea06f662027eacc  train/image/27.png
974df4b51e8905bdaabe61e80496cbf331f5c9aa9ddc2cb94113f58c2b7d2837  train/image/28.png
d9ae868509c610a69acbf3d69cde4f36a8e344cbbc444f93c917bf7b9f3e784f  train/image/29.png
13b67edd7607a1f284c09170c96a27d38422b0ffaf88024ea5b689acb5e1b4b0  train/label/0.png
cff60a00de2901e67165c91d7708d784e4c5bcc9d1c8c677922c905d63bbc3d1  train/label/1.png
a578af998c017f56763b81941c4dc612dde5731809b2cea0e8ebc37aecb84dbb  train/label/2.png
c8ae3b843fed02e09411a24c10850160922c331041b17c2674025f05a99b8834  train/label/3.png
a2f19c01b5d982a97923a0d29e64127a05e3f496731480ac9d9d302b5427f7ff  train/label/4.png
2dd5779118f6f4d87f88ec112f1cea20663b50acb8c748b0db1f23eda82b5118  train/label/5.png
2b0984e9f31fb41d4c5f4a754a3e080036b7321a0cbd9591a62010d20a574ce7  train/label/6.png
2ebc8c835999589bfd7d80d81f83d24e5c41138362b0faafef0f009e1ce82144  train/label/7.png
db979010ca4fbdb38c8b32d455aed0da90d598153f2a0046b63d02a6efa32b9e  train/label/8.png
8ee6c79adbb740595c4d61776e065e7164c00d52c7dd7562b5279041e7f3567b  train/label/9.png
b0156cc8186b0ee521927ac95645b406a42d27564607a6fea3a59c34add78f7c  train/label/10.png
e47b3aa0cfb3106476af1666e631d45bd16dbf2aff88260ee65d16e4134332db  train/label/11.png
85a7a899c0b72b81633ad122887ba5161d650385d7775a5b3074eb00131b3620  train/label/12.png
88549c22fd647312d6b37e17d33e90800d347d60ccb1156a8dde5e67394f9f3d  train/label/13.png
bcd775017eb4fdbdfe7ad6cc6420b2f16aa9d0576894d08370edcf564b46680a  train/label/14.png
59a854887b504ff00a5b4b93b2299bbc0bf0cbe54dea58d2b31969229b28b369  train/label/15.png
b34eb88cdc3313a6f4190f5753465df7f69d8f3c243a5c25427b1b99ecfe2499  train/label/16.png
4fa076cbeb744803d987dc46cf308dc3026408e7a5188838e30e25fe3ea67dbe  train/label/17.png
bd009dda57f204804732f592ed1d41ba18961d83c492413fe71548efa4a288d9  train/label/18.png
bf38407c55b6033c1677230228ecb100a11294aa74a7b92e5edfdc4abadcfef9  train/label/19.png
7af7296f2e892866669d4e4f9c0d4178987e6ec6e7d0751ec238d1bbe2da9c55  train/label/20.png
772c722acb2eac01769b53fa5037a3d62745e53102398bf9b2202df605cadda4  train/label/21.png
b19f5533ec24077a2395a085fe53af75dd350ef03798c4ff40ba9ebecb2ee0ad  train/label/22.png
2d8f1df5c9ee83e59eb2d709eb153b0570f12e726690f586154b01b0a88bb540  train/label/23.png
6ab02d922b5c937ecfe2a479be87a5d3e5ef950dc48da09d31f37b47d899ca9c  train/label/24.png
c5ea59aca7789dd507ac31c4a82bbd4c172f9e3544f8e040442c20d1dfa9e16d  train/label/25.png
b056fae9f358111b6c9e2494bdba645f206be581959b8d3763e97d62a65dd961  train/label/26.png
5be3823a57c82b632cead6eb09f438c6010a244dc0975f2a3e466f45d2c06840  train/label/27.png
c0b0e2a2b7aad46919d1afc980f7d5e39101fb07948ce65d9cac802d8b47682e  train/label/28.png
1e8839a97178914171defd6a97158f06fcac1fc3f0d45f2acdff9c49ab3fced9  train/label/29.png
3c67a0f520d6504eecffe20fc2799287cad05e3d8915466c4127ee8463db03b6  test/image/0.png
73b2d6c585dd130b9e04c06ce4f7dd2c21496bc760c6088b948933d7a3ff44d8  test/image/1.png
33d0ba0f00760a8223d33e0d00f1fbd8992783c216f9fc386a2c7d62a31a3263  test/image/2.png
0507ff479733fefcbc00c68dc1b848dd7c15546e49241414d5a05beaf2092fbf  test/image/3.png
c75debf18db3b7e4476712d28bb6925e1d3b99287fc8808a3f8611f1f1ac9e6c  test/image/4.png
e2756965f5f7162c9bee9f05d6a6856d0ca310c736644000234cae634883c8f6  test/image/5.png
832c23a05680902deec4efe639373892b2cdc83ecfcdd6bc7b90f6f1d474379c  test/image/6.png
e673e89ac632bc3f13ff6dcd9d0f733b39d6618f21f015ed4106e1f32b3518f1  test/image/7.png
8064a6d599edadb9ebd0d23b3fe1a61a0c165445e2dfc1289af4e16509424344  test/image/8.png
6fe32299f09cfbff582cb90a39d1bd9214614a675be99e6729686f3a4d9b5a5f  test/image/9.png
8f907e1cfc8593527fb48c7fe08ba80eb380e0bfc0cdfe5eec8da0044eec0309  test/image/10.png
27ae843bb0a63ceded00acb182469a20292d70d717dc16296e6e1ea3e760dc7f  test/image/11.png
eb9eacb4cd836e84a36655e59c67c6ffc9be860ade97e585d21b1caf721acb2b  test/image/12.png
f7d454b79c73789c644c56d38a1adc57614fd45bbdaaeab25ad84aa9f36188f1  test/image/13.png
5e68324d85e271a23fb96da4425d12fb182ccad885edf63b5a33a4929e9f3788  test/image/14.png
874d88be3e6fb24ff4cc70cae292ec27462365c418a332631cb2ab17bac1bb47  test/image/15.png
69e09074fd73e5e9458067e77ba1d42bb212c350413f01b64e5d7269a1130588  test/image/16.png
95468c5106091112bff1fe694f06ac7af5f1b052e700fcbbe4492bcdd8cf47bf  test/image/17.png
090accd8da157be1f739a2bde77335216209ec854351d18d7d328ea2d3065c6a  test/image/18.png
fe7e8dd86300e462c2574f1c409510bb8bcb8b3ceb3c2bb28583e7241ab22f05  test/image/19.png
260b6e3e43a1c63da9779992ca90e692cd04e854029ef2f964010daf58ff4daf  test/image/20.png
cd82df9e4f7aa44a8d1172d4bac6f50dd3bc6dd063c1b3ad65647c4bc7749042  test/image/21.png
242289a02a83161b98553606654c17868818bdea638bc25c1208298501b92bfa  test/image/22.png
496786c0636607b2e086528d517e00c4444270d40972940c70f7ca93cc0cc173  test/image/23.png
a1979d58bceac2cd352a4aeb7a047c0e92d94c52a3cbc60abac67bb7a68865a1  test/image/24.png
8a078743880a854f2127cc59425c5a47bbf348b31ac2524cf7621eb108748c5a  test/image/25.png
2643df636a202d53bdc870bd1239db761d1b586e048cb6ddeb83310c9b76f6f4  test/image/26.png
36c4983e85e127a622e395842642dd0762657831901e70ff94647f3f808e53fe  test/image/27.png
0c2d296e0cd652b69198e9399e91bf2693101e58a8c878c6fe5a902d2b9448c5  test/image/28.png
e417ddbdcfed6b08b1c97d5a7796ed5b167ccc4caaf1226dc41dbb69cd724e25  test/image/29.png
"""

#: ``{relative path: sha256}`` of the 90 ISBI 2012 PNG files (train/image, train/label,
#: test/image; 30 each).
ISBI2012_SHA256: dict[str, str] = {
    line.split()[1]: line.split()[0] for line in _ISBI2012_SHA256SUMS.strip().splitlines()
}

_ISBI_TIFFS = {"train": ("train-volume.tif", "train-labels.tif"), "test": ("test-volume.tif", None)}


def _isbi_remote_path(local: str) -> str:
    """Path in ``zhixuhao/unet/data/membrane/`` of a local ISBI file: ``test/image/i.png`` is ``test/i.png``."""
    return local.replace("test/image/", "test/", 1) if local.startswith("test/image/") else local


def _isbi_missing_message(folder: Path) -> str:
    return (
        f"ISBI 2012 data not found in {folder}. Provide it in one of these ways:\n"
        f"  - set the environment variable {DATA_ENV_VAR} to a folder that contains "
        "isbi2012/train/image/0.png ... (or pass root=...);\n"
        f"  - put the files into {folder} or the per-user cache folder "
        f"{user_cache_dir()}/isbi2012/ (PNG slices train/image/, train/label/, test/image/, or the "
        "challenge's train-volume.tif, train-labels.tif, test-volume.tif);\n"
        "  - download the PNG slices (about 13 MB, checksums verified) with "
        "unet_tutorial.data.fetch_isbi2012() or load_isbi2012(download=True)."
    )


def fetch_isbi2012(
    root: str | os.PathLike[str] | None = None,
    *,
    base_url: str = ISBI2012_BASE_URL,
    downloader=None,
    progressbar: bool = False,
) -> Path:
    """Download the 90 ISBI 2012 PNG slices into ``<data dir>/isbi2012/``, verifying SHA-256.

    The files come from the public GitHub repository ``zhixuhao/unet`` at commit
    :data:`ISBI2012_COMMIT` (``data/membrane/train/image/{i}.png``,
    ``train/label/{i}.png``, ``test/{i}.png``), whose files are byte-identical to the
    challenge's slices. Every file is checked against :data:`ISBI2012_SHA256`; files
    already present with the right checksum are not downloaded again, a present file
    with a wrong checksum is downloaded again.

    Args:
        root: the data directory, resolved by :func:`data_dir`.
        base_url: URL of the ``data/membrane/`` folder (a mirror may be given).
        downloader: a pooch downloader, e.g. ``pooch.HTTPDownloader(timeout=60)``;
            ``None`` lets pooch choose one from the URL.
        progressbar: show pooch's progress bar of every file.

    Returns:
        The ``isbi2012`` folder.

    Raises:
        ValueError: a downloaded file does not match its checksum (corrupted or
            changed source); the message names the file.
    """
    folder = data_dir(root) / "isbi2012"
    base = base_url if base_url.endswith("/") else base_url + "/"
    retrieve_verified(
        {rel: (base + _isbi_remote_path(rel), sha) for rel, sha in ISBI2012_SHA256.items()},
        folder,
        downloader=downloader,
        progressbar=progressbar,
    )
    return folder


def _load_isbi_png(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    image_dir = folder / split / "image"
    images_files = numeric_pngs(image_dir)
    if not images_files:
        raise FileNotFoundError(f"no <i>.png slices in {image_dir}\n" + _isbi_missing_message(folder))
    stems = [p.stem for p in images_files]
    if [int(s) for s in stems] != list(range(len(stems))):
        raise ValueError(f"{image_dir}: slices must be numbered 0..n-1 without gaps, got {stems}")
    images = to_unit_float(read_stack(images_files), str(image_dir))
    labels = None
    if split == "train":
        label_dir = folder / split / "label"
        label_files = numeric_pngs(label_dir)
        if [p.stem for p in label_files] != stems:
            missing = sorted(set(stems) - {p.stem for p in label_files}, key=int)
            raise FileNotFoundError(
                f"{label_dir} must hold one label per image slice 0..{len(stems) - 1}; "
                f"missing: {missing or 'none'}, extra: "
                f"{sorted({p.stem for p in label_files} - set(stems), key=int) or 'none'}"
            )
        labels = read_stack(label_files)
    return images, labels


def _load_isbi_tiff(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    image_name, label_name = _ISBI_TIFFS[split]
    images = read_pixels(folder / image_name)[0]
    labels = None
    if label_name is not None:
        label_path = folder / label_name
        if not label_path.is_file():
            raise FileNotFoundError(f"{label_path} is missing (found {folder / image_name})")
        labels = read_pixels(label_path)[0]
    images = to_unit_float(images, str(folder / image_name))
    return images, labels


def _isbi_read(root: str | os.PathLike[str] | None, split: str, download: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The images float32 ``(N, H, W)`` in [0, 1] of ``split`` and its raw labels (``None`` for ``"test"``),
    from the PNG slices or the TIFF stacks (downloading the PNG slices first when asked and none is found)."""
    folder = data_dir(root) / "isbi2012"
    has_png = (folder / split / "image").is_dir()
    has_tiff = (folder / _ISBI_TIFFS[split][0]).is_file()
    if not (has_png or has_tiff):
        if not download:
            raise FileNotFoundError(_isbi_missing_message(folder))
        fetch_isbi2012(root)
        has_png = True
    images, labels = (_load_isbi_png if has_png else _load_isbi_tiff)(folder, split)
    if images.ndim != 3:
        raise ValueError(f"ISBI images must be gray slices (N, H, W), got shape {images.shape}")
    return images, labels


def load_isbi2012(root: str | os.PathLike[str] | None = None, *, download: bool = False) -> Samples:
    """The labelled ISBI 2012 EM slices (paper §4, Table 1) as :class:`~unet_tutorial.data.Samples`.

    Serial-section TEM of the Drosophila first instar larva ventral nerve cord: the 30
    training slices with membrane labels. (The 30 test slices have no published labels:
    :func:`load_isbi2012_test_images` gives them, as images only.) Two layouts of
    ``<data dir>/isbi2012/`` are read (PNG first when both exist):

    - PNG slices: ``train/image/0.png`` ..., ``train/label/0.png`` ...,
      ``test/image/0.png`` ... (slices sorted numerically);
    - the challenge's TIFF stacks: ``train-volume.tif``, ``train-labels.tif``,
      ``test-volume.tif``.

    Args:
        root: the data directory (the folder containing ``isbi2012/``), resolved by
            :func:`data_dir`.
        download: when no data is found, download the PNG slices first with
            :func:`fetch_isbi2012` (checksums verified).

    Returns:
        :class:`~unet_tutorial.data.Samples` named ``"isbi2012"``: ``images`` float32
        ``(H, W)`` in ``[0, 1]`` (8-bit gray value / 255; 30 slices of 512 x 512 px for
        the real data), ``masks`` uint8 ``(H, W)`` with 1 = cell (white, 255 in the
        files) and 0 = membrane (black), ``instances`` ``None``, ``ids`` the slice
        numbers ``0 .. N − 1``. The slices are views of one ``(N, H, W)`` stack:
        ``np.stack(samples.images)`` gives it back.

    Raises:
        FileNotFoundError: no data (the message says how to provide it), or a
            label slice missing.
        ValueError: label values other than 0 and 255, images and labels of different
            shapes, or slices of different sizes.
    """
    images, labels = _isbi_read(root, "train", download)
    if labels.shape != images.shape:
        raise ValueError(
            f"ISBI labels have shape {labels.shape}, images {images.shape}: they must match"
        )
    values = np.unique(labels)
    if not set(values.tolist()) <= {0, 255}:
        raise ValueError(
            f"ISBI labels must be 0 (membrane) or 255 (cell) only, found values {values[:10].tolist()}"
        )
    masks = (labels == 255).astype(np.uint8)
    return Samples(tuple(images), tuple(masks), None, tuple(range(len(images))), "isbi2012")


def load_isbi2012_test_images(root: str | os.PathLike[str] | None = None, *, download: bool = False) -> np.ndarray:
    """The 30 ISBI 2012 test slices, whose labels were never published: images only.

    A separate function (not a :class:`~unet_tutorial.data.Samples`, which always has
    masks) so that :func:`load_isbi2012` returns one type. The layouts are those of
    :func:`load_isbi2012` (``test/image/<i>.png`` or ``test-volume.tif``).

    Args:
        root: the data directory, resolved by :func:`data_dir`.
        download: when no data is found, download the PNG slices first (:func:`fetch_isbi2012`).

    Returns:
        float32 ``(N, H, W)`` in ``[0, 1]`` (8-bit gray value / 255; 30 x 512 x 512 for the real data).

    Raises:
        FileNotFoundError: no data (the message says how to provide it).
        ValueError: slices of different sizes.
    """
    return _isbi_read(root, "test", download)[0]
