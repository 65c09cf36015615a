"""Uploaded article files -> the library: the one path shared by the chat's Library tab and
``POST /api/articles``.

Type, count and size are checked before anything is written (an ``InputError`` or
``TooLargeError`` names the file and the limit). Accepted files are kept under
``<home>/uploads/<content hash>/<name>`` while their job runs (a job stopped or killed resumes
from them), and deleted when it ends: no upload file outlives its job. The article keeps its text
in the store and names its origin by that path (the same bytes uploaded twice are the same
article, and two different files that share a name are two origins).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.articles import SUPPORTED_SUFFIXES, Article, load_file
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
    # Gradio keeps an upload as <cache>/<hash>/<name as the user gave it>; read once, it is removed
    try:
        return Upload.from_path(real, max_bytes=max_bytes, name=real.name)
    finally:
        real.unlink(missing_ok=True)
        if real.parent != root:
            with contextlib.suppress(OSError):
                real.parent.rmdir()


def too_large(name: str, size: int, max_bytes: int) -> TooLargeError:
    return TooLargeError(f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit per file "
                         "(raise NEWSRAG_MAX_FILE_MB to allow it)")


def safe_name(name: str) -> str:
    """The file name without any directory part, usable on disk."""
    base = Path(name.replace("\\", "/")).name.strip()
    base = "".join(c if c.isprintable() and c not in '<>:"|?*' else "_" for c in base)
    return base.lstrip(".") or "upload.txt"


MAX_NAME_BYTES = 200  # a kept file is <name>.part first: under the 255 bytes a file system allows a name


def check(uploads: Sequence[Upload], *, max_files: int, max_bytes: int) -> None:
    if not uploads:
        raise InputError("No files to ingest: choose one or more "
                         f"{', '.join(SUPPORTED_SUFFIXES)} files.")
    if len(uploads) > max_files:
        raise InputError(f"{len(uploads)} files in one upload; the limit is {max_files} "
                         "(upload them in parts, or raise NEWSRAG_MAX_UPLOAD_FILES).")
    for upload in uploads:
        name = safe_name(upload.name)
        if len(name.encode()) > MAX_NAME_BYTES:
            raise InputError(f"{name[:40]}…{name[-10:]}: the file name is {len(name.encode())} bytes long; "
                             f"rename the file to at most {MAX_NAME_BYTES} bytes and upload it again.")
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise InputError(f"{upload.name}: unsupported file type '{suffix or '(none)'}' "
                             f"(upload {', '.join(SUPPORTED_SUFFIXES)})")
        if len(upload.data) > max_bytes:
            raise too_large(upload.name, len(upload.data), max_bytes)


@dataclass(frozen=True)
class Kept:
    """An accepted upload on disk: the name the user gave it and where we keep it."""

    name: str
    path: Path


def uploads_root(library: Library) -> Path:
    return library.settings.home / "uploads"


def keep(library: Library, uploads: Sequence[Upload]) -> list[Kept]:
    """Write accepted uploads under ``<home>/uploads/<content hash>/<name>`` (atomically)."""
    kept = []
    for upload in uploads:
        digest = hashlib.sha256(upload.data).hexdigest()[:16]
        path = uploads_root(library) / digest / safe_name(upload.name)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            partial.write_bytes(upload.data)
            partial.replace(path)
        kept.append(Kept(upload.name, path))
    return kept


def ingest(library: Library, uploads: Sequence[Upload], *, max_files: int,
           progress: Callable[[Progress], None] | None = None) -> IngestReport:
    """Check, keep and ingest uploaded files; bad contents are reported per file, never fatal."""
    check(uploads, max_files=max_files, max_bytes=library.settings.max_file_bytes)
    kept = keep(library, uploads)
    try:
        report, _ = ingest_kept(library, kept, progress=progress)
    finally:
        delete_kept(library, [k.path for k in kept])
    return report


def ingest_kept(library: Library, kept: Sequence[Kept], *, progress: Callable[[Progress], None] | None = None
                ) -> tuple[IngestReport, list[dict]]:
    """Ingest kept uploads; the report and one result per file (``{file, status, articles,
    failures}``)."""
    report = library.ingest([k.path for k in kept], progress=progress)
    labels: dict[str, str] = {}
    for item in kept:
        labels[str(item.path.resolve())] = item.name
        labels[str(item.path)] = item.name
    # Failures name the file as the user knows it, not where we keep it.
    for i, failure in enumerate(report.failures):
        for stored, name in sorted(labels.items(), key=lambda kv: -len(kv[0])):
            if failure.startswith(stored):
                report.failures[i] = name + failure[len(stored):]
                break
    by_id = {a["id"]: a for a in report.articles}
    # a text kept as an earlier version: its key is held by the article that supersedes it
    by_id.update({a["superseded_by"]: a for a in report.articles if a["status"] == "earlier"} | by_id)
    results = []
    for item in kept:
        ids = _article_ids(library, item.path)
        failures = [f for f in report.failures if f.startswith(item.name + ":") or f.startswith(item.name + "#")]
        articles = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
        status = "failed" if failures and not articles else "partial" if failures else "ok"
        results.append({"file": item.name, "status": status, "articles": articles, "failures": failures})
    return report, results


def _article_ids(library: Library, path: Path) -> list[str]:
    """The ids of the articles stored from a file, in its order (found by their keys: a stored
    text may differ from the file's once its boilerplate is removed)."""
    if not path.is_file():
        return []
    owner = {key: r.id for r in library.catalog().articles.values() for key in r.keys}
    keys = [a.key for a in load_file(path, max_bytes=library.settings.max_file_bytes,
                                     max_articles=library.settings.max_articles_per_file)
            if isinstance(a, Article)]
    return [owner[k] for k in dict.fromkeys(keys) if k in owner]


def discard_unreferenced(library: Library, paths: Iterable[Path], *, busy: Iterable[Path] = ()) -> list[Path]:
    """Delete kept uploads that no indexed article comes from (failed files, removed articles),
    except ``busy`` ones (waiting in a job); returns what was deleted."""
    root = uploads_root(library).resolve()
    referenced = {o.get("path") for r in library.store.list_articles() for o in r.origins}
    keep_paths = {str(Path(p).resolve()) for p in busy}
    gone = []
    for path in paths:
        real = Path(path).resolve()
        if (not real.is_relative_to(root) or str(real) in referenced or str(real) in keep_paths
                or not real.is_file()):
            continue
        real.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            real.parent.rmdir()
        gone.append(real)
    return gone


def delete_kept(library: Library, paths: Iterable[Path], *, busy: Iterable[Path] = ()) -> list[Path]:
    """Delete kept uploads (their job ended), except ``busy`` ones (waiting in another job)."""
    root = uploads_root(library).resolve()
    keep_paths = {str(Path(p).resolve()) for p in busy}
    gone = []
    for path in paths:
        real = Path(path).resolve()
        if not real.is_relative_to(root) or str(real) in keep_paths or not real.is_file():
            continue
        real.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            real.parent.rmdir()
        gone.append(real)
    return gone


def sweep(library: Library, *, busy: Iterable[Path] = ()) -> list[Path]:
    """Delete every kept upload no unfinished job needs (left by a crash or an older version)."""
    root = uploads_root(library)
    if not root.is_dir():
        return []
    return delete_kept(library, [p for p in root.glob("*/*") if p.is_file()], busy=busy)


def origin_paths(library: Library, record) -> list[Path]:
    """The kept uploads an article came from."""
    root = uploads_root(library).resolve()
    return [Path(o["path"]) for o in record.origins
            if o.get("path") and Path(o["path"]).resolve().is_relative_to(root)]
