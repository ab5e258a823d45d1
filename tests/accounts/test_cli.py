"""``puhui banks``, ``users``, ``clients`` as an operator types them: one clear line on error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "puhui.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", **env},
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("accounts-cli")
    assert run(home, "db", "upgrade").returncode == 0
    assert run(home, "banks", "create", "--code", "ZJRCB", "--name", "浙江农商银行").returncode == 0
    return home


def test_banks_users_and_clients(home: Path) -> None:
    banks = run(home, "banks", "list")
    assert "ZJRCB" in banks.stdout
    assert "浙江农商银行" in banks.stdout
    made = run(
        home,
        *("users", "create", "--username", "officer1", "--role", "bank_officer"),
        *("--bank", "ZJRCB", "--password", "secret-pass-1"),
    )
    assert made.returncode == 0, made.stderr
    assert "officer1" in made.stdout
    # The password from the environment: it need not be in the shell's history.
    shop = run(
        home,
        *("users", "create", "--username", "shop1", "--role", "enterprise"),
        *("--uscc", "91110000600037341L"),
        PUHUI_USER_PASSWORD="secret-pass-2",
    )
    assert shop.returncode == 0, shop.stderr
    users = run(home, "users", "list")
    assert "officer1" in users.stdout
    assert "shop1" in users.stdout
    assert "secret-pass" not in users.stdout
    assert "argon2" not in users.stdout
    client = run(home, "clients", "create", "--bank", "ZJRCB", "--name", "信贷系统")
    assert client.returncode == 0, client.stderr
    lines = dict(line.split(":", 1) for line in client.stdout.splitlines() if ":" in line)
    client_id, secret = lines["client_id"].strip(), lines["client_secret"].strip()
    assert client_id.startswith("zjrcb-")
    assert len(secret) >= 40
    listed = run(home, "clients", "list")
    assert client_id in listed.stdout
    assert secret not in listed.stdout


def test_password_can_be_typed_at_a_prompt(home: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "puhui.cli",
            "--home",
            str(home),
            "users",
            "create",
            "--username",
            "gov1",
            "--role",
            "government",
        ],
        input="secret-pass-3\nsecret-pass-3\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "secret-pass-3" not in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("users", "create", "--username", "u1x", "--role", "king"), "role 'king' is invalid"),
        (("users", "create", "--username", "u2x", "--role", "bank_admin"), "needs a bank"),
        (
            ("users", "create", "--username", "u3x", "--role", "government", "--bank", "ZJRCB"),
            "belongs to no bank",
        ),
        (("users", "create", "--username", "u4x", "--role", "enterprise"), "needs a --uscc"),
        (
            ("users", "create", "--username", "u5x", "--role", "enterprise", "--uscc", "123"),
            "not a valid unified social credit code",
        ),
        (
            ("users", "create", "--username", "u6x", "--role", "bank_officer", "--bank", "NO"),
            "no bank with code NO",
        ),
        (("users", "create", "--username", "u7x", "--role", "operator"), "a password is needed"),
        (("banks", "create", "--code", "ZJRCB", "--name", "again"), "exists already"),
        (("banks", "create", "--code", "a b", "--name", "x"), "bank code"),
        (("clients", "create", "--bank", "NOPE", "--name", "x"), "no bank with code NOPE"),
        (("serve", "--port", "0"), "--port"),
    ],
)
def test_bad_arguments_get_one_clear_line(home: Path, args: tuple[str, ...], expected: str) -> None:
    password = {} if "password is needed" in expected else {"PUHUI_USER_PASSWORD": "secret-pass-9"}
    done = run(home, *args, **password) if password else _no_password(home, *args)
    assert done.returncode != 0
    assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    if done.returncode == 2 and "错误" in done.stderr:
        assert len(done.stderr.strip().splitlines()) == 1


def _no_password(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PUHUI_USER_PASSWORD"}
    return subprocess.run(
        [sys.executable, "-m", "puhui.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_commands_before_the_database_exists_say_what_to_do(tmp_path: Path) -> None:
    done = run(tmp_path, "users", "list")
    assert done.returncode == 2
    assert "puhui db upgrade" in done.stderr
    assert "Traceback" not in done.stderr
    served = run(tmp_path, "serve")
    assert served.returncode == 2
    assert "puhui db upgrade" in served.stderr
