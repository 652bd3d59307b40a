from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from newsletter.config import load_settings
from newsletter.errors import ConfigError

pytestmark = pytest.mark.sqlite_only  # reads config files; opens no database


def test_example_config_documents_every_key_and_loads() -> None:
    settings = load_settings(ROOT / "newsletter.example.toml")
    assert settings.delivery.transport == "maildir"
    text = (ROOT / "newsletter.example.toml").read_text()
    for section in (
        "newsletter",
        "sender",
        "theme",
        "issue",
        "subscribers",
        "delivery",
        "schedule",
        "web",
        "images",
    ):
        model = getattr(settings, section)
        for name, info in type(model).model_fields.items():
            if info.deprecated:  # read for old configs, no longer documented
                continue
            assert f"\n{info.alias or name} = " in text, f"[{section}] {name} is not documented"


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[delivery]\ntransprot = "smtp"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert str(config) in info.value.message and "delivery.transprot" in info.value.message
    assert "newsletter.example.toml" in (info.value.hint or "")


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[delivery]\nport = "twenty-five"\n[[sources]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "delivery.port" in info.value.message
    assert "sources[1]" in info.value.message


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "sub" / "newsletter.toml"
    config.parent.mkdir()
    config.write_text('[newsletter]\ndatabase = "data/n.db"\n')
    assert load_settings(config).database_url == f"sqlite:///{tmp_path / 'sub' / 'data' / 'n.db'}"


def test_the_database_can_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[newsletter]\ndatabase = "n.db"\n')
    monkeypatch.setenv("NEWSLETTER_DATABASE", "postgresql://news@db.example:5433/news")
    assert load_settings(config).database_url == "postgresql+psycopg://news@db.example:5433/news"
    monkeypatch.setenv("NEWSLETTER_DATABASE", "sqlite:////srv/news.db")
    assert load_settings(config).database_url == "sqlite:////srv/news.db"
    monkeypatch.delenv("NEWSLETTER_DATABASE")
    assert load_settings(config).database_url == f"sqlite:///{tmp_path / 'n.db'}"


def test_missing_config_from_the_cli_says_run_init(tmp_path: Path) -> None:
    result = run_cli("--config", str(tmp_path / "nope.toml"), "send", cwd=tmp_path)
    assert result.returncode == 1
    assert "no such config file" in result.stderr and "newsletter init" in result.stderr


def test_invalid_toml_exit_code_one(tmp_path: Path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text("[newsletter\nname = 1")
    result = run_cli("--config", str(config), "collect")
    assert result.returncode == 1 and "not valid TOML" in result.stderr


def test_sender_from_must_hold_an_address(tmp_path: Path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[sender]\nfrom = "not an address"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "sender.from" in info.value.message and "needs an email address" in info.value.message


def test_init_uses_the_templates_it_copies(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path / "mine")).returncode == 0
    assert load_settings(tmp_path / "mine" / "newsletter.toml").newsletter.templates == "templates"
