"""Administration: users, roles, departments, skills, and staff import from CSV."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..domain.errors import DomainError
from ..domain.permissions import ROLES
from ..extensions import db
from ..models import Department, Theme, User
from ..services import accounts
from .common import error_text, form_error, now, roles_required, settings
from .forms import ImportForm, UserForm
from .i18n import ROLE_LABELS, localized

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 50


def _choices(form: UserForm) -> None:
    form.role.choices = [(r, str(ROLE_LABELS[r])) for r in ROLES]
    deps = db.session.scalars(select(Department).where(Department.active).order_by(Department.sort_order)).all()
    form.department.choices = [("", _("None"))] + [(d.id, localized(d)) for d in deps]
    themes = db.session.scalars(select(Theme).where(Theme.active).order_by(Theme.sort_order)).all()
    form.themes.choices = [(t.id, localized(t)) for t in themes]


@bp.get("/users")
@roles_required("admin")
def users():
    q = request.args.get("q", "").strip()[:64]
    try:
        page = max(1, min(int(request.args.get("page", 1)), 1_000_000))  # an offset the database can read
    except ValueError:
        page = 1
    stmt = select(User).options(selectinload(User.department), selectinload(User.themes))
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(User.username).like(like) | func.lower(User.display_name).like(like))
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(User.id).subquery()))
    rows = db.session.scalars(stmt.order_by(User.username).limit(PAGE).offset((page - 1) * PAGE)).all()
    return render_template("admin/users.html", users=rows, q=q, page=page, pages=max(1, -(-total // PAGE)), total=total)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def new_user():
    form = UserForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                db.session,
                now(),
                username=form.username.data,
                password=form.password.data or "",
                role=form.role.data,
                display_name=form.display_name.data,
                department_id=form.department.data or None,
                theme_ids=form.themes.data or [],
                email=form.email.data or "",
                hash_method=settings()["password_hash_method"],
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form_error(form, exc)
        else:
            flash(_("The user %(name)s was created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), 400 if request.method == "POST" else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id):
    user = db.session.scalar(select(User).where(User.id == user_id).options(selectinload(User.themes)))
    if user is None:
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
        try:
            accounts.update_user(
                db.session,
                now(),
                user,
                role=form.role.data,
                display_name=form.display_name.data,
                department_id=form.department.data or None,
                theme_ids=form.themes.data or [],
                active=form.active.data,
                email=form.email.data or "",
            )
            if form.password.data:
                accounts.set_password(db.session, user, form.password.data, settings()["password_hash_method"])
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form_error(form, exc)
        else:
            flash(_("The user %(name)s was saved.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user), 400 if request.method == "POST" else 200


@bp.route("/users/import", methods=["GET", "POST"])
@roles_required("admin")
def import_users():
    form = ImportForm()
    created = None
    if form.validate_on_submit():
        data = form.file.data.read(5 * 1024 * 1024 + 1)
        if len(data) > 5 * 1024 * 1024:
            form.file.errors = [_("The CSV file can be at most 5 MB.")]
        else:
            try:
                result = accounts.import_staff_csv(db.session, now(), data, settings()["password_hash_method"])
                created = [(u.username, u.display_name, u.department_id, pw) for u, pw in result.created]
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                form.file.errors = [error_text(exc)]
        if created is not None:
            flash(_("%(n)d staff accounts were imported.", n=len(created)), "success")
    code = 400 if request.method == "POST" and created is None else 200
    return render_template("admin/import.html", form=form, created=created), code
