"""Headless Chromium for the browser test of the built book (``tests/book``).

The browser test opens every page of ``_build/html`` in headless Chromium through
Selenium. It needs two programs: the browser (``chromium``, ``chromium-browser`` or
``google-chrome`` on the PATH, or ``$CHROME_BIN``) and its driver (``chromedriver``, or
``$CHROMEDRIVER``). On Debian they are the packages ``chromium`` and ``chromium-driver``.

``python tools/chromium.py install`` (``make test-book`` runs it): when either program
is missing and this process runs as root on a system with ``apt-get``, installs the two
packages non-interactively; otherwise it installs nothing and says why. It never fails:
without Chromium the browser test is skipped, not failed.

``python tools/chromium.py status`` (the last line of ``make test``): one line, whether
the browser test could run, and if not, why and how to enable it.

``tests/book/test_site.py`` finds the programs with :func:`find_browser`, so the test and
these lines agree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

#: The Debian packages of the browser and its driver.
PACKAGES = ("chromium", "chromium-driver")

#: Seconds each apt-get command may take (a machine without network must not hang ``make test``).
APT_TIMEOUT_S = 900

#: How a reader enables the browser test by hand.
HOW_TO_ENABLE = (f"apt-get install {' '.join(PACKAGES)} as root (Debian/Ubuntu), or set CHROME_BIN and "
                 "CHROMEDRIVER to a Chromium or Chrome and its chromedriver; then run make test-book")


def _which(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_browser() -> tuple[str | None, str | None]:
    """``(browser, driver)``: the paths the browser test uses, ``None`` for each one missing."""
    browser = os.environ.get("CHROME_BIN") or _which("chromium", "chromium-browser", "google-chrome")
    driver = os.environ.get("CHROMEDRIVER") or _which("chromedriver")
    return browser, driver


def missing() -> list[str]:
    """What the browser test lacks: ``[]``, or the names of the missing programs."""
    browser, driver = find_browser()
    return [name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path]


def why_not_installed() -> str | None:
    """Why ``install`` cannot install the packages here (``None``: it can)."""
    if os.environ.get("INSTALL_CHROMIUM", "yes").lower() in ("no", "0", "false"):
        return "INSTALL_CHROMIUM=no"
    if not shutil.which("apt-get"):
        return "no apt-get here: the automatic install is for Debian/Ubuntu"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root: make test installs system packages only as root"
    return None


def install() -> int:
    """Install the packages with apt-get when they are missing and this is allowed; always 0."""
    lacking = missing()
    if not lacking:
        return 0
    reason = why_not_installed()
    if reason:
        print(f"{' and '.join(lacking)} not found and not installed ({reason})")
        return 0
    print(f"{' and '.join(lacking)} not found: apt-get install {' '.join(PACKAGES)} (non-interactive)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        try:
            code = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                  timeout=APT_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            code = f"timed out after {APT_TIMEOUT_S} s"
        if code != 0:
            print(f"{' '.join(cmd)} failed ({code if isinstance(code, str) else f'exit {code}'}): "
                  "the browser test will be skipped")
            return 0
    if missing():
        print(f"apt-get installed {' '.join(PACKAGES)}, but {' and '.join(missing())} still cannot be found "
              "on the PATH")
    return 0


def status() -> str:
    """One line: whether the browser test could run, and if not, why and how to enable it."""
    lacking = missing()
    if not lacking:
        browser, driver = find_browser()
        return f"browser test: run in headless Chromium ({browser}, driver {driver})"
    reason = why_not_installed()
    why = (f"not installed ({reason})" if reason
           else f"apt-get install {' '.join(PACKAGES)} did not make {'them' if len(lacking) > 1 else 'it'} "
                "available (see its output above)")
    return f"browser test SKIPPED: {' and '.join(lacking)} not found, {why}. To enable it: {HOW_TO_ENABLE}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("install", "status"))
    args = parser.parse_args(argv)
    if args.command == "install":
        return install()
    print(status())
    return 0


if __name__ == "__main__":
    sys.exit(main())
