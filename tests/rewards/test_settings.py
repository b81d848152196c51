import pytest

from rewards.settings import load_settings


def test_layers_flags_over_env_over_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("server: {workers: 3, timeout_s: 5, port: 9000}\ngraders: {g: {type: math}}\n"
                    "get_reward: {grader: g}\n")
    monkeypatch.setenv("RLVR_TIMEOUT_S", "4")
    monkeypatch.setenv("RLVR_SANDBOX_URLS", "http://a:1, http://b:2")
    settings = load_settings(path, port=9100, workers=None)
    assert settings.workers == 3 and settings.timeout_s == 4 and settings.port == 9100
    assert settings.sandbox_urls == ["http://a:1", "http://b:2"]
    assert settings.get_reward_grader == "g" and settings.graders == {"g": {"type": "math"}}


@pytest.mark.parametrize("text, message", [
    ("server: {wrokers: 2}\n", "wrokers"),
    ("servers: {}\n", "unknown top-level keys"),
    ("- 1\n", "mapping"),
    ("server: {timeout_s: -1}\n", "timeout_s"),
])
def test_bad_config_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_settings(path)
