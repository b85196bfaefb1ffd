"""WTForms: shape only. Business rules are checked by the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms import SelectField as _SelectField
from wtforms.validators import DataRequired, Length, Optional

from ..services.filing import BODY_MAX, TITLE_MAX

REQUIRED = _l("This field is required.")


class _Select(widgets.Select):
    """WTForms' select with a plain option written directly: building each option's
    attributes through html_params cost more than the rest of a ticket page's assignee list."""

    @classmethod
    def render_option(cls, choice, **kwargs):  # type: ignore[override]  # the stubs' signature predates 3.x's choice
        if kwargs or choice.render_kw or not isinstance(choice.value, str):
            return super().render_option(choice, **kwargs)
        selected = " selected" if choice.selected else ""
        return Markup(
            f'<option value="{escape(choice.value)}"{selected}>{escape(choice.label or choice.value)}</option>'
        )


class SelectField(_SelectField):
    widget = _Select()


class LocalDateField(DateField):
    """A date field whose parse error is in the user's language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a valid date (YYYY-MM-DD)."))


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(REQUIRED), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=256)])
    next = HiddenField()


class ConsultationForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(_l("Enter a title.")),
            Length(max=TITLE_MAX, message=_l("The title can be at most %(max)d characters.", max=TITLE_MAX)),
        ],
    )
    body = TextAreaField(
        _l("Details"),
        validators=[
            DataRequired(_l("Enter the details.")),
            Length(max=BODY_MAX, message=_l("The text can be at most %(max)d characters.", max=BODY_MAX)),
        ],
    )
    theme = SelectField(_l("Theme"), choices=[], validate_choice=False)
    initiatives = SelectMultipleField(_l("Related initiatives"), choices=[], validate_choice=False)
    priority = SelectField(_l("Urgency"), choices=[], default="normal", validate_choice=False)
    due_date = LocalDateField(_l("Answer needed by"), validators=[Optional()])
    attachments = MultipleFileField(_l("Files"))
    submission_token = HiddenField()


class ReplyForm(FlaskForm):
    body = TextAreaField(
        _l("Reply"),
        validators=[Length(max=BODY_MAX, message=_l("The text can be at most %(max)d characters.", max=BODY_MAX))],
    )
    attachments = MultipleFileField(_l("Files"))


class NoteForm(ReplyForm):
    """Shown on the same page as the reply form, so it is used with prefix="note"
    (unique field ids); the app-wide CSRF check covers it."""

    class Meta:
        csrf = False

    body = TextAreaField(
        _l("Internal note"),
        validators=[Length(max=BODY_MAX, message=_l("The text can be at most %(max)d characters.", max=BODY_MAX))],
    )


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[], validate_choice=False)


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[], validate_choice=False)
    next = HiddenField()


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(REQUIRED), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=256)])
    role = SelectField(_l("Role"), choices=[], validate_choice=False)
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    themes = SelectMultipleField(_l("Themes (skills)"), choices=[], validate_choice=False)
    active = BooleanField(_l("Active"), default=True)


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[DataRequired(_l("Choose a CSV file."))])
