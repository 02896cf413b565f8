"""libyaml and PyYAML's own loader must agree on every value and position of a spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from specrules.spec import yaml_source

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))


def _read(loader, text: str, name: str):
    return yaml_source._load(loader, text, name)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_fast_and_pure_python_loaders_agree(spec: Path) -> None:
    assert yaml.__with_libyaml__, "PyYAML was built without libyaml: specs load slowly"
    text = spec.read_text(encoding="utf-8")
    fast_value, fast_map = _read(yaml.CSafeLoader, text, spec.name)
    slow_value, slow_map = _read(yaml.SafeLoader, text, spec.name)
    assert fast_value == slow_value
    assert fast_map.values == slow_map.values
    assert fast_map.keys == slow_map.keys


def test_a_plain_scalar_has_no_style_on_either_loader() -> None:
    # `x >> 1` starts at column 4 (1-based) and is plain: no quote to skip
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        _, source = _read(loader, "a: x >> 1\n", "t.yaml")
        assert source.values[("a",)].style is None
        assert source.expression_position(("a",), 2) == (1, 6)


def test_an_error_keeps_pyyaml_wording() -> None:
    with pytest.raises(yaml_source.SpecError) as caught:
        yaml_source.load_yaml("a: 1\n b: 2\n", "t.yaml")
    assert "mapping values are not allowed here" in str(caught.value)


def test_a_control_character_in_a_key_is_shown_escaped(tmp_path) -> None:
    # a quoted key holding NUL passes the check for raw control characters (it is written
    # as \u0000); the unknown-key message shows it escaped, not as an invisible character
    from specrules.cli import main

    path = tmp_path / "spec.yaml"
    path.write_text('specrules: 1\n"a\\u0000b": 1\n', encoding="utf-8")
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as out:
        main(["validate", str(path)])
    shown = err.getvalue() + out.getvalue()
    assert "unknown key `a\\u0000b`" in shown
    assert "\x00" not in shown
