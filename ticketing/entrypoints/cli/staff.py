"""``ticketing users create``, ``agents set|show``, ``tokens create`` and ``routing tick``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ticketing.app import App
from ticketing.entrypoints.cli.command import Group, command, group, split
from ticketing.services import accounts


def register(sub: Group) -> None:
    users = group(sub, "users", help="staff accounts")
    uc = command(users, "create", _create_user, help="create a user")
    uc.add_argument("--email", required=True)
    uc.add_argument("--name", required=True)
    uc.add_argument("--role", required=True, choices=[r.value for r in accounts.Role])
    uc.add_argument("--password", required=True)
    uc.add_argument("--skills", default="", help="comma-separated topics, e.g. otp,akun")
    uc.add_argument("--languages", default="id", help="comma-separated, e.g. id,en")
    _agent_flags(uc)
    uu = command(users, "unlock", _unlock, help="lift an account's sign-in lock (after failed "
                                                "sign-ins) and clear its failures")
    uu.add_argument("--email", required=True)

    agents = group(sub, "agents", help="agents' routing profiles")
    aset = command(agents, "set", _set, help="change an agent's teams, capacity, skills, "
                                             "languages or status")
    aset.add_argument("--email", required=True)
    aset.add_argument("--skills", help="comma-separated topics, e.g. otp,akun ('' for every "
                                       "topic)")
    aset.add_argument("--languages", help="comma-separated, e.g. id,en")
    _agent_flags(aset)
    ashow = command(agents, "show", _show, help="an agent's routing profile, load and status")
    ashow.add_argument("--email", required=True)

    routing = group(sub, "routing", help="the shared queue")
    command(routing, "tick", _routing_tick,
            help="offline returns, heartbeat expiry and auto-assignment now (what the worker "
                 "does continuously)")

    tokens = group(sub, "tokens", help="API tokens")
    tc = command(tokens, "create", _token, help="print a new API token for a user")
    tc.add_argument("--email", required=True)


def _unlock(app: App, args: argparse.Namespace) -> int:
    from ticketing.services.logins import unlock
    done = app.write(unlock, args.email, by=None, now=app.clock.now())
    print(f"unlocked <{done['email']}>" if done["was_locked"]
          else f"<{done['email']}> was not locked; its failed sign-ins are cleared")
    return 0


def _agent_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teams", help="comma-separated team names from config/routing.toml "
                                   "('' for every team)")
    p.add_argument("--capacity", help="tickets at once per channel, e.g. webchat=5,email=25 "
                                      "(default: routing.toml [defaults])")
    p.add_argument("--status", choices=["online", "away", "offline"])


def _set_agent(app: App, args: argparse.Namespace, *, account: bool) -> dict[str, Any] | None:
    from ticketing.services.presence import parse_capacity, set_agent
    if account and args.teams is None and args.capacity is None and args.status is None:
        return None
    with app.engine.begin() as conn:
        return set_agent(conn, email=args.email, config=app.routing, by="cli",
                         teams=split(args.teams),
                         capacity=parse_capacity(args.capacity) if args.capacity else None,
                         skills=None if account else split(args.skills),
                         languages=None if account else split(args.languages),
                         status=args.status, now=app.clock.now())


def _create_user(app: App, args: argparse.Namespace) -> int:
    with app.engine.begin() as conn:
        uid = accounts.create_user(
            conn, email=args.email, name=args.name, role=args.role, password=args.password,
            skills=args.skills.split(","), languages=args.languages.split(","),
            clock=app.clock)
    print(f"created user {uid} <{args.email.lower()}> ({args.role})")
    _set_agent(app, args, account=True)
    return 0


def _set(app: App, args: argparse.Namespace) -> int:
    print(json.dumps(_set_agent(app, args, account=False)))
    return 0


def _show(app: App, args: argparse.Namespace) -> int:
    from ticketing.services.presence import agent_by_email
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        print(json.dumps(agent_by_email(conn, args.email, app.routing)))
    return 0


def _routing_tick(app: App, args: argparse.Namespace) -> int:
    from ticketing.entrypoints.jobs import routing_tick
    print(json.dumps(routing_tick(app)))
    return 0


def _token(app: App, args: argparse.Namespace) -> int:
    with app.engine.begin() as conn:
        print(accounts.create_token(conn, email=args.email, clock=app.clock))
    return 0
