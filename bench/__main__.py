"""Runs the benchmarks: `python -m bench [name ...] [flags]` (scripts/bench sets up PostgreSQL and Redis).

Each benchmark is a module `bench/<name>.py` with a `main(argv: list[str]) -> None` that prints its
own table, including the ratio to a baseline measured in the same run. Each runs in its own
process against its own database (`<DATABASE_URL's db>_<name>`, created if missing and migrated),
so benchmarks never see each other's data.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(BENCH_DIR)]) if not m.name.startswith("_"))


def database_url_for(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/bench")
    parts = urlparse(base)
    return urlunparse(parts._replace(path=f"{parts.path.rstrip('/') or '/bench'}_{name}"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        name = parts.path.lstrip("/")
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


def run_one(name: str, argv: list[str]) -> None:
    """In this process: point Django at the benchmark's database, migrate, run it."""
    url = database_url_for(name)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    print(f"\n=== bench {name} ({url}) ===", flush=True)
    importlib.import_module(f"bench.{name}").main(argv)


def usage() -> str:
    lines = [
        "usage: python -m bench [-h] [name ...] [flags ...]   (scripts/bench takes the same arguments)",
        "",
        "Runs the named benchmarks (all of them when none is named), each in its own process and its own",
        "database (<DATABASE_URL's database>_<name>, created and migrated when missing). The flags after the",
        "names go to every named benchmark; `python -m bench <name> --help` lists one benchmark's flags.",
        "",
        "benchmarks:",
    ]
    for name in available():
        spec = importlib.util.find_spec(f"bench.{name}")
        doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text())) or ""
        lines.append(f"  {name:12} {doc.splitlines()[0] if doc else ''}")
    return "\n".join(lines)


def split_arguments(args: list[str]) -> tuple[list[str], list[str]]:
    """(names, flags): the leading benchmark names, then everything else (flags and their values)."""
    names = []
    for position, arg in enumerate(args):
        if arg.startswith("-"):
            return names, args[position:]
        names.append(arg)
    return names, []


def wants_help(argv: list[str]) -> bool:
    return "-h" in argv or "--help" in argv


def show_help(name: str, argv: list[str]) -> None:
    """The benchmark's own --help, without creating or touching its database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    importlib.import_module(f"bench.{name}").main(argv)


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--one":
        (show_help if wants_help(args[2:]) else run_one)(args[1], args[2:])
        return
    names, flags = split_arguments(args)
    if not names and wants_help(flags):
        print(usage())
        return
    names = names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}\n\n{usage()}")
    failed = []
    for name in names:
        code = subprocess.call([sys.executable, "-m", "bench", "--one", name, *flags])
        if code:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
