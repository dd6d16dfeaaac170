"""CLI commands of the records service: serve, users, audit, register. Registered by
``register``.

The command line runs on the server with direct access to the database, so it acts as a
trusted operator; every change it makes is audited as ``cli:<operating-system user>``.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vru.interfaces.cli.common import (
    DatabaseUrlOption,
    DataDirOption,
    console,
    err_console,
    records_session,
)
from vru.interfaces.cli.common import open_records as _open
from vru.interfaces.cli.common import refusal as _fail
from vru.services import register as reg
from vru.services.records import (
    NewUser,
    ServiceError,
    command_line,
    create_user,
    list_users,
    reset_password,
    set_disabled,
    verify_audit,
)
from vru.services.register_seed import load_mps_homicides
from vru.services.security.passwords import PasswordPolicy
from vru.services.security.roles import ROLE_LABELS, TOTP_REQUIRED, Role
from vru.services.settings import resolve_data_dir

PasswordStdinOption = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (one line) "
                                          "instead of asking for it."),
]




def _read_password(from_stdin: bool, prompt: str = "Password") -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    minimum = PasswordPolicy().min_length
    return str(typer.prompt(f"{prompt} (at least {minimum} characters; three or four random "
                            "words work well)", hide_input=True, confirmation_prompt=True))


def _show_totp(new: NewUser) -> None:
    if new.totp_uri is None:
        return
    console.print("\n[bold]One-time codes:[/] this role must give a code from an "
                  "authenticator app at sign-in. Give the user this, once, securely:")
    console.print(f"  setup key: {new.totp_secret}", markup=False, highlight=False)
    console.print(f"  or URI:    {new.totp_uri}", markup=False, highlight=False)


def _spreadsheet(file: Path) -> None:
    """The register's files are CSV or Excel: refuse any other name before any work."""
    if file.suffix.lower() not in (".csv", ".xlsx"):
        err_console.print(f"{file}: give a file name ending .csv or .xlsx.")
        raise typer.Exit(2)


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add ``serve`` and the ``users``, ``audit`` and ``register`` groups to ``vru``."""
    del data_app  # these commands are not about the evidence store
    users_app = typer.Typer(help="Users of the records service and their roles.",
                            no_args_is_help=True)
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    register_app = typer.Typer(help="The register of homicides and serious case reviews "
                                    "(restricted).", no_args_is_help=True)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(register_app, name="register")

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")]
        = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Start the records service (migrating its database first)."""
        import uvicorn

        from vru.interfaces.api.app import create_app

        svc = _open(data_dir, database_url)
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            err_console.print("[yellow]Listening beyond this machine:[/] put the service "
                              "behind HTTPS (a reverse proxy); session cookies are sent "
                              "only over HTTPS.")
        console.print(f"Records service ({svc.records.dialect}) on http://{host}:{port}/api/"
                      " - API description at /api/docs", highlight=False)
        app = create_app(svc, data_dir=resolve_data_dir(data_dir))
        uvicorn.run(app, host=host, port=port, proxy_headers=False, server_header=False,
                    log_level="info")

    @users_app.command("create")
    def users_create(
        username: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
        role: Annotated[str, typer.Option("--role", help="One of: " + ", ".join(
            r.value for r in Role))],
        borough: Annotated[str | None, typer.Option(
            "--borough", help="The borough a borough officer sees.")] = None,
        name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
        password_stdin: PasswordStdinOption = False,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Add a user. Restricted roles are given a one-time-code key to set up."""
        svc = _open(data_dir, database_url)
        try:
            new = create_user(svc, command_line(), username, _read_password(password_stdin),
                              role, borough=borough, display_name=name)
        except (ServiceError, ValueError) as exc:
            raise _fail(exc) from None
        finally:
            svc.close()
        console.print(f"Added {new.user.username} ({ROLE_LABELS[Role(new.user.role)]}).",
                      highlight=False)
        _show_totp(new)

    @users_app.command("list")
    def users_list(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Every user with their role, borough and status."""
        svc = _open(data_dir, database_url)
        try:
            users = list_users(svc, command_line())
        finally:
            svc.close()
        if as_json:
            typer.echo(json.dumps([u.__dict__ for u in users], default=str, indent=2))
            return
        table = Table(title="Users")
        for col in ("username", "role", "borough", "status", "one-time codes", "last sign-in"):
            table.add_column(col)
        for u in users:
            table.add_row(u.username, u.role, u.borough or "",
                          "disabled" if u.disabled else "active",
                          "yes" if u.has_totp else
                          ("MISSING" if Role(u.role) in TOTP_REQUIRED else "no"),
                          u.last_login_at.isoformat(timespec="minutes")
                          if u.last_login_at else "never")
        console.print(table)

    @users_app.command("disable")
    def users_disable(
        username: str,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Disable a user and end all their sessions."""
        with records_session(data_dir, database_url) as svc:
            set_disabled(svc, command_line(), username, True)
        console.print(f"{username} is disabled and signed out everywhere.", highlight=False)

    @users_app.command("enable")
    def users_enable(
        username: str,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Enable a disabled user."""
        with records_session(data_dir, database_url) as svc:
            set_disabled(svc, command_line(), username, False)
        console.print(f"{username} is enabled.", highlight=False)

    @users_app.command("reset-password")
    def users_reset_password(
        username: str,
        new_totp: Annotated[bool, typer.Option(
            "--new-totp", help="Also issue a new one-time-code key (lost phone).")] = False,
        password_stdin: PasswordStdinOption = False,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Set a new password for a user (ending their sessions)."""
        with records_session(data_dir, database_url) as svc:
            new = reset_password(svc, command_line(), username,
                                 _read_password(password_stdin, "New password"),
                                 new_totp=new_totp)
        console.print(f"Password reset for {new.user.username}; their sessions have ended.",
                      highlight=False)
        _show_totp(new)

    @audit_app.command("verify")
    def audit_verify(
        anchor: Annotated[str | None, typer.Option(
            "--anchor", help="SEQ:HASH noted from an earlier run; checks that entry is "
                             "unchanged too.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Check every entry of the audit log against its hash and the one before it.
        Exit status 1 if the chain is broken."""
        svc = _open(data_dir, database_url)
        try:
            report = verify_audit(svc, anchor)
        finally:
            svc.close()
        if as_json:
            typer.echo(json.dumps({"ok": report.ok, "entries": report.entries,
                                   "anchor": report.anchor, "problem": report.problem,
                                   "bad_seq": report.bad_seq}, indent=2))
        elif report.ok:
            console.print(f"Audit log intact: {report.entries:,} entries, every hash and "
                          "link checked.", highlight=False)
            console.print(f"Anchor (note it somewhere outside this system): {report.anchor}",
                          highlight=False, markup=False)
        else:
            err_console.print(f"[bold red]Audit log broken:[/] {report.problem}",
                              highlight=False)
        if not report.ok:
            raise typer.Exit(1)

    @register_app.command("import")
    def register_import(
        file: Annotated[Path, typer.Argument(help="CSV or .xlsx made from the template.")],
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Import cases and codings. Every row is checked; the file is imported whole or
        not at all."""
        with records_session(data_dir, database_url) as svc:
            result = reg.import_cases(svc, command_line(), file)
        console.print(f"{result.file}: imported {result.cases:,} cases and "
                      f"{result.codings:,} codings.", highlight=False)

    @register_app.command("export")
    def register_export(
        file: Annotated[Path, typer.Argument(help="Where to write (.csv or .xlsx).")],
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Export every case with its codings, in the template's layout (RESTRICTED)."""
        _spreadsheet(file)
        with records_session(data_dir, database_url) as svc:
            rows = reg.export_cases(svc, command_line(), file)
        console.print(f"Wrote {rows:,} rows to {file} (RESTRICTED: keep it secure).",
                      highlight=False)

    @register_app.command("template")
    def register_template(
        file: Annotated[Path, typer.Argument(help="Where to write (.csv or .xlsx).")]
        = Path("register-template.xlsx"),
    ) -> None:
        """Write an empty import template (Excel: with the allowed codes and notes)."""
        _spreadsheet(file)
        reg.write_template(file)
        console.print(f"Wrote the template to {file}.", highlight=False)

    @register_app.command("synthetic")
    def register_synthetic(
        cases: Annotated[int, typer.Option("--cases", min=1, max=100_000,
                                           help="How many made-up cases.")] = 200,
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")]
        = 20240607,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Add a clearly labelled SYNTHETIC set of coded cases (for training and testing)."""
        with records_session(data_dir, database_url) as svc:
            result = reg.load_synthetic(svc, command_line(), cases, seed)
        console.print(f"Added {result.cases:,} SYNTHETIC cases with {result.codings:,} "
                      "codings (references SYN-...).", highlight=False)

    @register_app.command("load-mps-homicides")
    def register_load_mps_homicides(
        file: Annotated[Path, typer.Argument(help="The MPS homicide victim file (CSV).")],
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Add the MPS homicide victims (2003-2023, year and borough) as register cases.
        The file is loaded whole or not at all; loading it again changes nothing."""
        with records_session(data_dir, database_url) as svc:
            result = load_mps_homicides(svc, command_line(), file)
        console.print(f"{result.file}: {result.cases:,} victims; added {result.added:,} "
                      f"cases, {result.unchanged:,} already on the register.",
                      highlight=False)

    @register_app.command("summary")
    def register_summary(
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """The published (disclosure-controlled) figures, as JSON."""
        svc = _open(data_dir, database_url)
        try:
            summary = reg.published_summary(svc, command_line())
        finally:
            svc.close()
        typer.echo(json.dumps(summary, indent=2, default=str))
