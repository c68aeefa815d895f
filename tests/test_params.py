"""Parameter sets: the shipped ones validate; misspelled keys and wrong types name the key and file."""

from __future__ import annotations

import pytest

from flarelib.compendium.params import Params, ParamsError, load_params, parse_override, to_plain


@pytest.mark.parametrize("name", ["demo", "smoke", "paper"])
def test_shipped_parameter_sets_validate(name):
    params, path = load_params(name)
    assert path.name == f"{name}.yaml"
    assert isinstance(params, Params)


def test_paper_set_holds_the_studys_settings():
    paper, _ = load_params("paper")
    assert paper.source == "jsoc"
    assert (paper.image_size, paper.max_epochs, paper.n_experiments) == (128, 20, 10)
    assert (paper.lstm_patience, paper.cnn_patience, paper.batch_size, paper.learning_rate) == (5, 10, 64, 1e-3)
    assert (paper.test_fraction, paper.val_fraction, paper.cadence_minutes) == (0.2, 0.2, 96.0)
    assert paper.datasets == ("SHARP_ONLY", "FUSED_SHARP", "SMARP_ONLY", "FUSED_SMARP")


def test_demo_and_smoke_run_offline_and_smoke_is_smaller():
    demo, _ = load_params("demo")
    smoke, _ = load_params("smoke")
    assert demo.source == smoke.source == "synthetic"
    assert smoke.image_size <= demo.image_size and smoke.max_epochs <= demo.max_epochs
    assert smoke.n_experiments == 2


def test_unknown_key_names_the_key_the_file_and_a_close_match(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("seed: 1\nlstm_patiance: 3\n")
    with pytest.raises(ParamsError) as caught:
        load_params(path)
    assert str(path) in str(caught.value)
    assert "unknown key 'lstm_patiance'" in str(caught.value)
    assert "did you mean 'lstm_patience'" in str(caught.value)


@pytest.mark.parametrize(
    "text, key",
    [("seed: '3'", "seed"), ("image_size: 12.5", "image_size"), ("source: sdo", "source"),
     ("models: [LSTM, GRU]", "models.1"), ("max_epochs: true", "max_epochs"), ("test_fraction: 1.5", "test_fraction")],
)
def test_wrong_types_and_values_name_the_key_and_the_file(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ParamsError, match=rf"{path}: key '{key}'"):
        load_params(path)


def test_overrides_are_read_as_yaml_and_validated():
    params, _ = load_params("demo", ["seed=7", "models=[LSTM]", "learning_rate=1e-4", "scheduler_address=tcp://h:8786"])
    assert params.seed == 7 and params.models == ("LSTM",)
    assert params.learning_rate == pytest.approx(1e-4)
    assert params.scheduler_address == "tcp://h:8786"
    with pytest.raises(ParamsError, match=r"demo.yaml with overrides .*unknown key 'sede'"):
        load_params("demo", ["sede=7"])
    with pytest.raises(ParamsError, match="not of the form key=value"):
        parse_override("seed")


def test_integers_are_accepted_for_floats_but_floats_not_for_integers():
    assert load_params("demo", ["prediction_hours=12"])[0].prediction_hours == 12.0
    with pytest.raises(ParamsError, match="key 'seed'"):
        load_params("demo", ["seed=1.5"])


def test_unknown_parameter_set_lists_the_known_ones():
    with pytest.raises(ParamsError, match="no parameter set named 'nope' .*demo, paper, smoke"):
        load_params("nope")


def test_plain_values_round_trip():
    params, _ = load_params("demo")
    plain = to_plain(params)
    assert plain["datasets"] == ["SHARP_ONLY", "FUSED_SHARP", "SMARP_ONLY", "FUSED_SMARP"]
    assert Params(**{k: tuple(v) if isinstance(v, list) else v for k, v in plain.items()}) == params


def test_the_true_factor_parameter_defaults_to_the_worlds():
    from flarelib.world.settings import WorldSettings

    params, _ = load_params("demo", ["mdi_gain=1.4"])
    assert load_params("demo")[0].mdi_gain == WorldSettings().mdi_gain and params.mdi_gain == 1.4
