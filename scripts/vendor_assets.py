"""Copy the front-end files the console uses from node_modules/ (installed by `npm ci`) into linli/static/vendor/.

Run by the Makefile's setup after `npm ci --no-audit --no-fund`. The vendor folder is git-ignored: no third-party
code is committed, and nothing is loaded from a CDN at run time. Exits non-zero, naming the missing file, when
node_modules/ lacks something (run `npm ci` first).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "linli" / "static" / "vendor"

# package -> (files or folders inside the package, copied to vendor/<package>/ under their base name)
ASSETS: dict[str, tuple[str, ...]] = {
    "htmx.org": ("dist/htmx.min.js", "LICENSE"),
    "leaflet": ("dist/leaflet.js", "dist/leaflet.css", "dist/images", "LICENSE"),
    # Apache ECharts (the KPI charts): the full build, its licence and the NOTICE the Apache licence asks to keep.
    "echarts": ("dist/echarts.min.js", "LICENSE", "NOTICE"),
    # ZRender, ECharts' renderer, is bundled inside echarts.min.js: its BSD licence travels with it.
    "zrender": ("LICENSE",),
}


def package_version(package: str) -> str:
    return json.loads((NODE_MODULES / package / "package.json").read_text())["version"]


def copy_assets(node_modules: Path, vendor: Path) -> list[Path]:
    missing = [node_modules / pkg / rel for pkg, rels in ASSETS.items() for rel in rels
               if not (node_modules / pkg / rel).exists()]
    if missing:
        raise FileNotFoundError(", ".join(str(m) for m in missing))
    copied: list[Path] = []
    for package, rels in ASSETS.items():
        target_dir = vendor / package
        shutil.rmtree(target_dir, ignore_errors=True)  # no stale files from an older version
        target_dir.mkdir(parents=True)
        for rel in rels:
            source = node_modules / package / rel
            target = target_dir / source.name
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
            copied.append(target)
    return copied


def main() -> int:
    try:
        copied = copy_assets(NODE_MODULES, VENDOR)
    except FileNotFoundError as exc:
        print(f"vendor_assets: missing {exc}; run `npm ci --no-audit --no-fund` first", file=sys.stderr)
        return 1
    versions = ", ".join(f"{pkg} {package_version(pkg)}" for pkg in ASSETS)
    print(f"vendor_assets: {len(copied)} files into {VENDOR.relative_to(ROOT)} ({versions})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
