from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from saas.i18n import _l
from saas.validators import CleanText, FloorArea, MainlandMobile
from tenants.roster.models import OCCUPANCY_LABELS


class CommunityForm(FlaskForm):
    name = StringField(_l("Community name"), validators=[CleanText(), DataRequired(_l("Enter a name.")),
                                                         Length(max=64)])
    address = StringField(_l("Address"), validators=[CleanText(), Optional(), Length(max=200)])


class BuildingForm(FlaskForm):
    name = StringField(_l("Building"), validators=[CleanText(), DataRequired(_l("Enter a name, e.g. 3号楼.")),
                                                   Length(max=32)])


class HouseholdForm(FlaskForm):
    building_id = SelectField(_l("Building"), validators=[InputRequired(_l("Choose a building."))],
                              validate_choice=True)
    unit = StringField(_l("Unit"), validators=[CleanText(), Optional(), Length(max=16)])
    room = StringField(_l("Room"), validators=[CleanText(), DataRequired(_l("Enter the room number.")),
                                               Length(max=16)])
    floor_area = StringField(_l("Floor area (m²)"), validators=[FloorArea()])
    occupancy = SelectField(_l("Occupancy"), choices=[(k.value, v) for k, v in OCCUPANCY_LABELS.items()],
                            default="occupied")
    owner_name = StringField(_l("Owner name"), validators=[CleanText(), Optional(), Length(max=32)])
    owner_phone = StringField(_l("Owner phone"), validators=[MainlandMobile(optional=True)])

    def set_building_choices(self, buildings) -> None:
        # An empty first choice: without one the select silently picks the first building for whoever skips it.
        self.building_id.choices = [("", _l("Choose…"))] + [
            (str(b.id), f"{b.community.name} {b.name}") for b in buildings]
