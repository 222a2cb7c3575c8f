"""Every command of the ``ticketing`` command line is registered with its own handler (no
dispatch chain), every group's ``--help`` lists its commands, and the contract's commands are
all there."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from ticketing.entrypoints.cli import main, parser

CONTRACT = {("db", "upgrade"), ("serve",), ("worker",), ("users", "create"),
            ("tokens", "create"), ("ingest", "jsonl"), ("ingest", "transcript"),
            ("export", "messages"), ("export", "tickets"), ("report", "sla"), ("sla", "tick"),
            ("inbox", "requeue")}


def _leaves(p: argparse.ArgumentParser, path: tuple[str, ...] = ()
            ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, p
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))


def test_each_command_has_its_own_handler() -> None:
    leaves = dict(_leaves(parser()))
    assert CONTRACT <= set(leaves)
    for path, leaf in leaves.items():
        handler = leaf.get_default("handler")
        assert callable(handler), path
    handlers = [leaf.get_default("handler") for leaf in leaves.values()]
    # One handler per command (export's two commands share one that reads which).
    assert len(set(handlers)) >= len(handlers) - 1


@pytest.mark.parametrize("group", ["db", "users", "agents", "ingest", "inbox", "sla", "report",
                                   "export"])
def test_group_help_lists_its_commands(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([group, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    leaves = [path[1] for path, _ in _leaves(parser()) if path[0] == group]
    assert leaves and all(name in out for name in leaves)


def test_a_missing_sub_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["db"])
    assert exit_info.value.code == 2
    assert "required" in capsys.readouterr().err
