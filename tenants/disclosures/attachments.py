"""Scanned attachments on a statement: PDFs and images, checked by their content (never the file name).

Images go through the work-order photo pipeline (Pillow must decode them; re-encoded as JPEG, EXIF and every other
metadata dropped). PDFs are recognised as the invoice upload does (``tenants.fees.invoices.is_pdf``) and kept as
uploaded, but only ever served as a download with ``nosniff`` (never rendered inline from our origin).
Files live under UPLOAD_FOLDER/<company_id>/disclosures/<publication_id>/<attachment_id>.(pdf|jpg) and are never
rewritten: a correction's copied rows point at the same files."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

from sqlalchemy import func, select

from saas import audit
from saas.clock import utcnow
from saas.extensions import db
from saas.i18n import _l
from saas.tenancy import new_id
from tenants.disclosures.models import Attachment, Kind, Publication
from tenants.fees.invoices import MAX_PDF_BYTES, is_pdf
from tenants.work_orders import photos

MAX_ATTACHMENTS = 5
SCAN_LONG_SIDE = 2400  # a scanned A4 page stays legible


@dataclass(frozen=True)
class Prepared:
    filename: str
    content_type: str
    data: bytes


def _error(message):
    from tenants.disclosures.services import DisclosureError

    return DisclosureError(message, "files")


def _clean_name(name: str, extension: str) -> str:
    """What the download is called: the uploaded name without any path, odd characters or its old extension."""
    stem = os.path.splitext(os.path.basename(name.replace("\\", "/")))[0]
    stem = re.sub(r"[^\w\u4e00-\u9fff\- ]+", "", stem).strip()[:80] or "attachment"
    return f"{stem}.{extension}"


def prepare(upload) -> Prepared:
    name = getattr(upload, "filename", "") or ""
    data = upload.read(MAX_PDF_BYTES + 1)
    if not data:
        raise _error(_l("The file “%(name)s” is empty.", name=name))
    if len(data) > MAX_PDF_BYTES:
        raise _error(_l("The file “%(name)s” is larger than 10 MB.", name=name))
    if is_pdf(data):
        return Prepared(_clean_name(name, "pdf"), "application/pdf", data)
    try:
        photo = photos.prepare(_Named(data, name), long_side=SCAN_LONG_SIDE)
    except photos.PhotoError as exc:
        if _looks_like_image(data):
            raise _error(exc.message) from None
        raise _error(_l("“%(name)s” is not a PDF, JPEG, PNG or WebP file.", name=name)) from None
    return Prepared(_clean_name(name, "jpg"), "image/jpeg", photo.data)


def _looks_like_image(data: bytes) -> bool:
    # Which message fits: a broken or oversized image ("not an image we can read") or not an image at all.
    return data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or (data[:4] == b"RIFF"
                                                                                and data[8:12] == b"WEBP")


class _Named(io.BytesIO):
    def __init__(self, data: bytes, filename: str):
        super().__init__(data)
        self.filename = filename


def prepare_all(files) -> list[Prepared]:
    """Every upload checked before anything is stored: one bad file refuses the whole form."""
    files = photos.uploads(files)
    if not files:
        raise _error(_l("Choose a PDF or an image to attach."))
    if len(files) > MAX_ATTACHMENTS:
        raise _error(_l("Attach at most %(n)d files to a disclosure.", n=MAX_ATTACHMENTS))
    return [prepare(f) for f in files]


def attachments_of(pub_id) -> list[Attachment]:
    return list(db.session.execute(select(Attachment).where(Attachment.publication_id == pub_id,
                                                            Attachment.removed_at.is_(None))
                                   .order_by(Attachment.position, Attachment.id)).scalars())


def _write(company_id, pub_id, att_id, prepared: Prepared) -> str:
    relative = f"{company_id}/disclosures/{pub_id}/{att_id}.{'pdf' if prepared.content_type.endswith('pdf') else 'jpg'}"
    path = photos.absolute_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(prepared.data)
    os.replace(tmp, path)  # readers never see half a file
    return relative


def add(pub: Publication, files, *, actor) -> list[Attachment]:
    from tenants.disclosures.services import DisclosureError, _require_draft

    _require_draft(pub)
    if pub.kind == Kind.BOARD:
        raise DisclosureError(_l("The price board is generated from the fee items; it takes no attachments."))
    prepared = prepare_all(files)
    existing = attachments_of(pub.id)
    if len(existing) + len(prepared) > MAX_ATTACHMENTS:
        raise _error(_l("Attach at most %(n)d files to a disclosure.", n=MAX_ATTACHMENTS))
    position = db.session.execute(select(func.count()).select_from(Attachment)
                                  .where(Attachment.publication_id == pub.id)).scalar_one()
    added = []
    for n, item in enumerate(prepared, start=1):
        att_id = new_id()
        att = Attachment(id=att_id, publication_id=pub.id, position=position + n, filename=item.filename,
                         content_type=item.content_type, size=len(item.data),
                         file_path=_write(pub.company_id, pub.id, att_id, item))
        db.session.add(att)
        added.append(att)
    audit.record("disclosure.attach", actor=actor, object_type="disclosure", object_id=pub.id,
                 object_label=pub.title, changes={"files": [None, ", ".join(a.filename for a in added)]})
    db.session.commit()
    return added


def remove(pub: Publication, att: Attachment, *, actor) -> None:
    """Only from a draft (a correction's copy included: the published version keeps its own row and file)."""
    from tenants.disclosures.services import DisclosureError, _require_draft

    _require_draft(pub)
    if att.publication_id != pub.id or att.removed_at is not None:
        raise DisclosureError(_l("That file is not on this draft."))
    att.removed_at = utcnow()
    audit.record("disclosure.detach", actor=actor, object_type="disclosure", object_id=pub.id,
                 object_label=pub.title, changes={"files": [att.filename, None]})
    db.session.commit()


def copy_to(old: Publication, new: Publication) -> None:
    """A correction starts with the attachments of the version it corrects (same files); the admin may remove
    any of them from the draft before publishing."""
    for att in attachments_of(old.id):
        db.session.add(Attachment(publication_id=new.id, position=att.position, filename=att.filename,
                                  content_type=att.content_type, size=att.size, file_path=att.file_path))


def file_of(att: Attachment):
    path = photos.absolute_path(att.file_path)
    return path if path.is_file() else None
