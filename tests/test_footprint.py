"""What a server's worker loads: the application, not the command line's migration tools
(Alembic and its templates cost each worker about 10 MB); the command line still has them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import base_config

from service import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_a_worker_never_loads_alembic_and_the_command_line_does(tmp_path: Path) -> None:
    script = (
        "import sys, json\n"
        "from service import create_app\n"
        f"create_app({base_config(tmp_path)!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('alembic', 'flask_migrate', 'mako'))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"

    listed = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "service", "db", "--help"],
        cwd=ROOT,
        env={**env, "PARLEY_INSTANCE_PATH": str(tmp_path / "cli")},
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert "upgrade" in listed.stdout


def test_migrations_run_from_code_load_flask_migrate_on_first_use(tmp_path: Path) -> None:
    from flask_migrate import current

    app = create_app(base_config(tmp_path))
    with app.app_context():
        current()  # reads app.extensions["migrate"]: Flask-Migrate is attached on first use
        assert type(app.extensions["migrate"]).__module__ == "flask_migrate"


def loaded(tmp_path: Path, prelude: str, packages: tuple[str, ...], **config: str) -> list[str]:
    """The modules of ``packages`` a fresh process holds after ``prelude`` and create_app."""
    script = (
        "import sys, json\n"
        f"{prelude}\n"
        "from service import create_app\n"
        f"create_app({base_config(tmp_path, **config)!r})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_metrics_off_never_import_prometheus_client_and_on_do(tmp_path: Path) -> None:
    assert loaded(tmp_path / "off", "", ("prometheus_client",)) == []
    token = "metrics-" + "0123456789abcdef" * 2
    on = loaded(tmp_path / "on", "", ("prometheus_client",), PARLEY_METRICS_TOKEN=token)
    assert "prometheus_client" in on


def test_neither_the_application_nor_gunicorns_configuration_loads_waitress(
    tmp_path: Path,
) -> None:
    # gunicorn's master imports the configuration, and every worker is forked from it.
    prelude = "import service.cli.gunicorn_config"
    assert loaded(tmp_path, prelude, ("waitress",)) == []
    from service.cli import waitress_server  # what `flask --app service serve` imports

    assert waitress_server.Server.__mro__[1].__module__ == "waitress.server"
