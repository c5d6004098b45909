"""Work-order photos: checked by content (Pillow must decode them), size-limited, re-encoded as JPEG without any
metadata (EXIF GPS location included), and stored under the company's own folder.

Files are written before the transaction commits; a failed commit leaves an orphan file nobody can reach (the
only way to a photo is its database row), which is harmless and cheaper than a two-phase dance.
"""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from saas.errors import ServiceError
from saas.i18n import _l
from saas.tenancy import new_id

MAX_PHOTOS = 6
MAX_BYTES = 8 * 1024 * 1024  # a phone's full-size photo
MAX_PIXELS = 50_000_000
LONG_SIDE = 1600  # enough to see a leak; keeps a photo around 200–400 KB


class PhotoError(ServiceError):
    """A photo we refuse (empty, too large, not an image). Its message belongs under the photos field."""

    def __init__(self, message, field: str | None = "photos"):
        super().__init__(message, field)


@dataclass(frozen=True)
class PreparedPhoto:
    data: bytes
    width: int
    height: int


def uploads(files) -> list:
    """The non-empty file parts of a multipart field (browsers send one empty part when nothing is chosen)."""
    return [f for f in (files or []) if f and getattr(f, "filename", "")]


def prepare_all(files) -> list[PreparedPhoto]:
    """Check every upload before anything is saved: one bad photo refuses the whole form, nothing half-done."""
    files = uploads(files)
    if len(files) > MAX_PHOTOS:
        raise PhotoError(_l("Attach at most %(n)d photos.", n=MAX_PHOTOS))
    return [prepare(f) for f in files]


def prepare(upload, *, long_side: int = LONG_SIDE) -> PreparedPhoto:
    """``long_side``: a scanned document (disclosures) keeps more pixels than a photo of a leak, to stay legible."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = getattr(upload, "filename", "") or ""
    data = upload.read(MAX_BYTES + 1)
    if not data:
        raise PhotoError(_l("The photo “%(name)s” is empty.", name=name))
    if len(data) > MAX_BYTES:
        raise PhotoError(_l("The photo “%(name)s” is larger than 8 MB.", name=name))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in {"JPEG", "PNG", "WEBP", "HEIF", "MPO"}:
                raise PhotoError(_l("“%(name)s” is not a JPEG, PNG or WebP photo.", name=name))
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(_l("The photo “%(name)s” has too many pixels.", name=name))
            image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant, then drop EXIF
            image = image.convert("RGB")
            image.thumbnail((long_side, long_side))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=82)  # no exif=: none of the original metadata survives
            width, height = image.size
    except PhotoError:
        raise
    # SyntaxError: what Pillow raises for some broken PNG chunks.
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PhotoError(_l("“%(name)s” is not an image we can read.", name=name)) from exc
    return PreparedPhoto(out.getvalue(), width, height)


def relative_path(company_id: uuid.UUID, work_order_id: uuid.UUID, photo_id: uuid.UUID) -> str:
    return f"{company_id}/work_orders/{work_order_id}/{photo_id}.jpg"


def absolute_path(relative: str) -> Path:
    root = Path(current_app.config["UPLOAD_FOLDER"]).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:  # the path comes from our own rows, but never trust a join of strings
        raise ValueError("photo path escapes the upload folder")
    return path


def write(company_id: uuid.UUID, work_order_id: uuid.UUID, photo: PreparedPhoto) -> tuple[uuid.UUID, str]:
    photo_id = new_id()
    relative = relative_path(company_id, work_order_id, photo_id)
    path = absolute_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(photo.data)
    os.replace(tmp, path)  # readers never see half a file
    return photo_id, relative
