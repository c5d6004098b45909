from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from saas.i18n import _l


class ImportUploadForm(FlaskForm):
    file = FileField(_l("Roster file (.xlsx or .csv)"), validators=[FileRequired(_l("Choose a file to upload."))])


class ConfirmForm(FlaskForm):
    """A button that changes state: only the CSRF token."""
