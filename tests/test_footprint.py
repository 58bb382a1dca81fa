"""What a server's worker loads: the application, not the command line's migration tools
(Alembic and its templates cost each worker about 10 MB); the command line still has them."""

from __future__ import annotations

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
