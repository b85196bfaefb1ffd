"""Administration: users, roles, departments, skills, and staff import from CSV."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import transaction
from ..domain import permissions
from ..domain.errors import NotFound
from ..domain.permissions import ROLES
from ..services import accounts, catalog
from .common import attempt, error_text, form_error, now, requires, settings
from .forms import ImportForm, UserForm
from .i18n import ROLE_LABELS, localized

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 50
IMPORT_MAX_BYTES = 5 * 1024 * 1024


def _choices(form: UserForm) -> None:
    session = transaction.session()
    form.role.choices = [(r, str(ROLE_LABELS[r])) for r in ROLES]
    form.department.choices = [("", _("None"))] + [(d.id, localized(d)) for d in catalog.active_departments(session)]
    form.themes.choices = [(t.id, localized(t)) for t in catalog.active_themes(session)]


@bp.get("/users")
@requires(permissions.can_admin)
def users():
    q = request.args.get("q", "").strip()[:64]
    try:
        page = max(1, min(int(request.args.get("page", 1)), 1_000_000))  # an offset the database can read
    except ValueError:
        page = 1
    found = accounts.list_users(transaction.session(), q, page, PAGE)
    return render_template(
        "admin/users.html", users=found.users, q=q, page=found.page, pages=found.pages, total=found.total
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(permissions.can_admin)
def new_user():
    form = UserForm()
    _choices(form)
    if form.validate_on_submit():
        user, error = attempt(
            accounts.create_user,
            transaction.session(),
            now(),
            username=form.username.data,
            password=form.password.data or "",
            role=form.role.data,
            display_name=form.display_name.data,
            department_id=form.department.data or None,
            theme_ids=form.themes.data or [],
            email=form.email.data or "",
            hash_method=settings()["password_hash_method"],
            actor=current_user,
            source=request.remote_addr or "",
        )
        if error is not None:
            form_error(form, error)
        elif user is not None:
            flash(_("The user %(name)s was created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), 400 if request.method == "POST" else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(permissions.can_admin)
def edit_user(user_id):
    try:
        user = accounts.get_user(transaction.session(), user_id)
    except NotFound:
        abort(404)
    form = UserForm(obj=None)
    _choices(form)
    if request.method == "GET":
        form.username.data = user.username
        form.display_name.data = user.display_name
        form.email.data = user.email
        form.role.data = user.role
        form.department.data = user.department_id or ""
        form.themes.data = [t.id for t in user.themes]
        form.active.data = user.active
    form.username.data = user.username  # the user name is not editable
    if form.validate_on_submit():
        _done, error = attempt(
            accounts.update_user,
            transaction.session(),
            now(),
            user,
            role=form.role.data,
            display_name=form.display_name.data,
            department_id=form.department.data or None,
            theme_ids=form.themes.data or [],
            active=form.active.data,
            email=form.email.data or "",
            password=form.password.data or "",
            hash_method=settings()["password_hash_method"],
            actor=current_user,
            source=request.remote_addr or "",
        )
        if error is not None:
            form_error(form, error)
        else:
            flash(_("The user %(name)s was saved.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user), 400 if request.method == "POST" else 200


def _import(data: bytes) -> list[tuple[str, str, str | None, str]]:
    """Import the CSV and list what the page shows, read before the commit ends the transaction."""
    result = accounts.import_staff_csv(
        transaction.session(),
        now(),
        data,
        settings()["password_hash_method"],
        actor=current_user,
        source=request.remote_addr or "",
    )
    return [(u.username, u.display_name, u.department_id, pw) for u, pw in result.created]


@bp.route("/users/import", methods=["GET", "POST"])
@requires(permissions.can_admin)
def import_users():
    form = ImportForm()
    created = None
    if form.validate_on_submit():
        data = form.file.data.read(IMPORT_MAX_BYTES + 1)
        if len(data) > IMPORT_MAX_BYTES:
            form.file.errors = [_("The CSV file can be at most 5 MB.")]
        else:
            created, error = attempt(_import, data)
            if error is not None:
                form.file.errors = [error_text(error)]
        if created is not None:
            flash(_("%(n)d staff accounts were imported.", n=len(created)), "success")
    code = 400 if request.method == "POST" and created is None else 200
    return render_template("admin/import.html", form=form, created=created), code
