"""Uploaded article files -> the library: the one path shared by the chat's Library tab and
``POST /api/articles``.

Type, count and size are checked before anything is written (an ``InputError`` or
``TooLargeError`` names the file and the limit). Accepted files are kept under
``<home>/uploads/<content hash>/<name>``: the article's origin stays valid after the request, the
same bytes uploaded twice are the same article (a no-op), and two different files that happen to
share a name never replace each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.articles import SUPPORTED_SUFFIXES
from index.errors import InputError, TooLargeError
from index.library import IngestReport, Library, Progress


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name the user gave it and its bytes."""

    name: str
    data: bytes

    @classmethod
    def from_path(cls, path: str | Path, *, max_bytes: int, name: str | None = None) -> Upload:
        path = Path(path)
        label = name or path.name
        size = path.stat().st_size
        if size > max_bytes:
            raise too_large(label, size, max_bytes)
        return cls(label, path.read_bytes())


def from_upload_cache(path: str | Path, *, cache: Path, max_bytes: int) -> Upload:
    """A file the chat's upload widget received, read only when it lies inside Gradio's upload
    cache: the upload function is callable through Gradio's own API with any ``FileData`` path,
    and a path outside the cache ("/etc/passwd", a symlink out of it) must never be read."""
    given = Path(path)
    try:
        real, root = given.resolve(strict=True), cache.resolve()
    except (OSError, RuntimeError):
        raise InputError(f"{given.name}: not an uploaded file (upload it again).") from None
    if given.is_symlink() or not real.is_relative_to(root) or real == root or not real.is_file():
        raise InputError(f"{given.name}: not an uploaded file; only files sent through the upload "
                         "box are ingested.")
    # Gradio keeps an upload as <cache>/<hash>/<name as the user gave it>
    return Upload.from_path(real, max_bytes=max_bytes, name=real.name)


def too_large(name: str, size: int, max_bytes: int) -> TooLargeError:
    return TooLargeError(f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit per file "
                         "(raise NEWSRAG_MAX_FILE_MB to allow it)")


def safe_name(name: str) -> str:
    """The file name without any directory part, usable on disk."""
    base = Path(name.replace("\\", "/")).name.strip()
    base = "".join(c if c.isprintable() and c not in '<>:"|?*' else "_" for c in base)
    return base.lstrip(".") or "upload.txt"


def check(uploads: Sequence[Upload], *, max_files: int, max_bytes: int) -> None:
    if not uploads:
        raise InputError("No files to ingest: choose one or more "
                         f"{', '.join(SUPPORTED_SUFFIXES)} files.")
    if len(uploads) > max_files:
        raise InputError(f"{len(uploads)} files in one upload; the limit is {max_files} "
                         "(upload them in parts, or raise NEWSRAG_MAX_UPLOAD_FILES).")
    for upload in uploads:
        suffix = Path(safe_name(upload.name)).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise InputError(f"{upload.name}: unsupported file type '{suffix or '(none)'}' "
                             f"(upload {', '.join(SUPPORTED_SUFFIXES)})")
        if len(upload.data) > max_bytes:
            raise too_large(upload.name, len(upload.data), max_bytes)


def stored_path(library: Library, upload: Upload) -> Path:
    """Where an upload is kept: ``<home>/uploads/<content hash>/<name>``."""
    digest = hashlib.sha256(upload.data).hexdigest()[:16]
    return library.settings.home / "uploads" / digest / safe_name(upload.name)


def ingest(library: Library, uploads: Sequence[Upload], *, max_files: int,
           progress: Callable[[Progress], None] | None = None) -> IngestReport:
    """Check, keep and ingest uploaded files; bad contents are reported per file, never fatal."""
    max_bytes = library.settings.max_file_bytes
    check(uploads, max_files=max_files, max_bytes=max_bytes)
    paths: list[Path] = []
    labels: dict[str, str] = {}
    for upload in uploads:
        path = stored_path(library, upload)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            partial.write_bytes(upload.data)
            partial.replace(path)
        paths.append(path)
        labels[str(path.resolve())] = upload.name
        labels[str(path)] = upload.name
    report = library.ingest(paths, progress=progress)
    # Failures name the file as the user knows it, not where we keep it.
    for i, failure in enumerate(report.failures):
        for stored, name in sorted(labels.items(), key=lambda kv: -len(kv[0])):
            if failure.startswith(stored):
                report.failures[i] = name + failure[len(stored):]
                break
    return report


def _where(rest: str) -> str:
    """":7: reason" -> "line 7: reason", "#3: reason" -> "record 3: reason", ": reason" -> "reason"."""
    head, _, reason = rest.partition(": ")
    if head.startswith(":") and head[1:].isdigit():
        return f"line {head[1:]}: {reason}"
    if head.startswith("#") and head[1:].isdigit():
        return f"record {head[1:]}: {reason}"
    return rest.lstrip(": ")


def file_results(library: Library, uploads: Sequence[Upload], report: IngestReport) -> list[dict]:
    """What became of each uploaded file: ``{name, status, articles, detail}``; status is
    "failed" (detail: the reasons), "empty" (no article in it), or that of its articles ("added",
    "updated", "unchanged", "duplicate"; "mixed" when they differ; detail: its bad records)."""
    by_path: dict[str, list] = {}
    for record in library.catalog(fresh=True).articles.values():
        for origin in record.origins:
            by_path.setdefault(str(Path(origin["path"]).resolve()), []).append(record)
    statuses = {a["id"]: a["status"] for a in report.articles}
    results = []
    for upload in uploads:
        failures = [_where(f[len(upload.name):]) for f in report.failures
                    if f.startswith((upload.name + ":", upload.name + "#"))]
        records = by_path.get(str(stored_path(library, upload).resolve()), [])
        found = sorted({statuses.get(r.id, "unchanged") for r in records})
        if not records:
            status = "failed" if failures else "empty"
        else:
            status = found[0] if len(found) == 1 else "mixed"
        results.append({"name": upload.name, "status": status, "articles": len(records),
                        "chunks": sum(r.n_chunks for r in records), "detail": failures})
    return results
