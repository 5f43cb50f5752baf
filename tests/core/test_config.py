from pathlib import Path

import pytest
import torch

from tasklight.config import default_file, flatten, load_config, read_toml, resolve_config, task_defaults
from tasklight.errors import UserError
from tasklight.plugins import get_platform

REPO = Path(__file__).resolve().parents[2]


def test_shipped_file_is_the_repository_root_file():
    assert default_file().resolve() == (REPO / "platform.toml").resolve()


@pytest.mark.parametrize("task_name", ["translation", "summarization", "qa", "intent", "generation"])
@pytest.mark.parametrize("demo", [True, False])
def test_shipped_config_validates_for_every_task(task_name, demo):
    platform = get_platform()
    if task_name not in platform.tasks:
        pytest.skip(f"task {task_name!r} is not registered yet")
    task = platform.tasks.get(task_name)
    config = load_config(task.name, task.settings, demo=demo, defaults=task_defaults(task, demo))
    model = config.model_fields()
    assert model["d_model"] % model["n_heads"] == 0
    assert config["trainer.lr"] > 0


def test_every_shipped_preset_is_complete():
    raw = read_toml(default_file())
    keys = {"d_model", "n_heads", "encoder_layers", "decoder_layers", "d_ff", "dropout", "attention_dropout", "max_positions"}
    for name, preset in raw["presets"].items():
        assert set(preset) == keys, name


def test_the_shipped_file_holds_core_defaults_only():
    # Task settings live in each task's own package (Task.settings, Task.demo_settings).
    assert "tasks" not in read_toml(default_file())


def test_resolve_config_applies_the_demo_settings_only_to_demo_data():
    task = get_platform().tasks.get("translation")
    demo, real = resolve_config(task, "demo"), resolve_config(task, "pairs.jsonl")
    assert (demo["model.preset"], demo["trainer.max_steps"]) == ("mini", 700)
    assert (real["model.preset"], real["trainer.max_steps"]) == ("small", -1)
    # --data demo with a split file of its own is real data: the demo's settings do not apply.
    config = resolve_config(task, "demo", overrides=["data.train=pairs.jsonl"])
    assert config["model.preset"] == "small" and config["data.train"] == "pairs.jsonl"


def test_a_task_default_of_a_model_field_applies():
    qa, summarization = get_platform().tasks.get("qa"), get_platform().tasks.get("summarization")
    assert qa.demo_settings["model.dropout"] == 0.0
    assert resolve_config(qa, "demo").model_fields()["dropout"] == 0.0
    assert resolve_config(qa, "squad.json").model_fields()["dropout"] == 0.1
    # In Task.settings, a model field applies on any data.
    task = type("Dry", (type(summarization),), {"settings": {**summarization.settings, "model.dropout": 0.0}})()
    assert resolve_config(task, "dialogsum.jsonl").model_fields()["dropout"] == 0.0


def test_a_typo_in_demo_settings_is_one_error_naming_it():
    task = type("Typo", (type(get_platform().tasks.get("translation")),), {"demo_settings": {"trainer.max_step": 5}})()
    with pytest.raises(UserError, match=r"^unknown config key 'trainer.max_step' in task 'translation' demo_settings; did you mean 'trainer.max_steps'\?$"):
        resolve_config(task, "demo")
    assert resolve_config(task, "pairs.jsonl")["trainer.max_steps"] == -1  # not read on real data


def test_a_local_task_table_overrides_the_task_defaults(tmp_path, monkeypatch):
    (tmp_path / "platform.toml").write_text('[tasks.translation.demo]\n"trainer.max_steps" = 5\n')
    monkeypatch.chdir(tmp_path)
    task = get_platform().tasks.get("translation")
    assert resolve_config(task, "demo")["trainer.max_steps"] == 5
    assert resolve_config(task, "pairs.jsonl")["trainer.max_steps"] == -1


def test_typed_settings_come_after_set_texts_and_before_the_command_line():
    task = get_platform().tasks.get("translation")
    config = resolve_config(task, "demo", overrides=["trainer.lr=0.1", "trainer.max_steps=3"],
                            settings={"trainer.lr": 0.2, "trainer.betas": [0.8, 0.9]}, cli={"trainer.max_steps": 7})
    assert (config["trainer.lr"], config["trainer.betas"], config["trainer.max_steps"]) == (0.2, [0.8, 0.9], 7)
    with pytest.raises(UserError, match=r"^config key 'trainer.lr' in set= expects float, got 'fast'$"):
        resolve_config(task, "demo", settings={"trainer.lr": "fast"})


def test_set_overrides_are_typed():
    config = load_config("x", {}, demo=False, overrides=["trainer.lr=3e-4", "trainer.max_steps=7", "model.d_model=96", "trainer.progress=false"])
    assert config["trainer.lr"] == 3e-4 and config["trainer.max_steps"] == 7 and config["trainer.progress"] is False
    assert config.model_fields()["d_model"] == 96


def test_task_settings_extend_the_schema():
    config = load_config("x", {"data.src": "en"}, demo=False, overrides=["data.src=fr"])
    assert config["data.src"] == "fr"


@pytest.mark.parametrize(
    "override, message",
    [
        ("trainer.lrr=1", "unknown config key 'trainer.lrr' in --set; did you mean 'trainer.lr'?"),
        ("trainer.max_steps=abc", "config key 'trainer.max_steps' in --set expects int, got 'abc'"),
        ("trainer.max_steps=-5", "trainer.max_steps must be positive (or -1 for no limit), got -5"),
        ("data.max_tokens=0", "config key 'data.max_tokens' must be positive, got 0"),
        ("model.preset=huge", "unknown model preset 'huge'; known: base, mini, small, tiny"),
        ("decoding.strategy=topk", "config key 'decoding.strategy' must be one of greedy, sample, beam, got 'topk'"),
        ("novalue", "--set expects key=value, got 'novalue'"),
        ("model.n_heads=3", "model.d_model (256) must be divisible by model.n_heads (3)"),
        ("model.word_dropout=1", "model.word_dropout must be in [0, 1), got 1.0"),
        ("model.attention_dropout=-0.1", "model.attention_dropout must be in [0, 1), got -0.1"),
    ],
)
def test_bad_overrides_are_one_clear_line(override, message):
    with pytest.raises(UserError) as err:
        load_config("x", {}, demo=False, overrides=[override])
    assert str(err.value) == message


def test_to_toml_round_trips(tmp_path):
    config = load_config("x", {"data.src": "en"}, demo=False, overrides=["trainer.lr=0.5", "model.d_model=64", "model.n_heads=2"])
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml())
    again = read_toml(path)
    presets = again.pop("presets")
    assert flatten(again) == config.as_dict()
    assert presets[config["model.preset"]] == config.presets[config["model.preset"]]


def test_the_layer_layout_of_a_model_from_scratch_is_settable() -> None:
    from tasklight.model import Transformer, TransformerConfig
    from tasklight.training import MODEL_FIELDS

    task = get_platform().tasks.get("translation")
    default = resolve_config(task, "demo").model_fields()
    assert (default["norm_position"], default["embed_norm"], default["final_norm"]) == ("pre", False, True)
    fields = resolve_config(task, "demo", overrides=["model.norm_position=post", "model.embed_norm=true",
                                                     "model.final_norm=false"]).model_fields()
    model = Transformer(TransformerConfig(vocab_size=50, **{k: v for k, v in fields.items() if k in MODEL_FIELDS}))
    assert not model.encoder.blocks[0].pre_norm and isinstance(model.encoder.ln_f, torch.nn.Identity)
    assert not isinstance(model.encoder.ln_embed, torch.nn.Identity)
    with pytest.raises(UserError, match=r"^config key 'model.norm_position' must be one of pre, post, got 'mid'$"):
        resolve_config(task, "demo", overrides=["model.norm_position=mid"])


def test_a_run_from_scratch_builds_the_layout_and_dropouts_it_was_given(tmp_path: Path) -> None:
    import tasklight

    settings = {"model.preset": "tiny", "tokenizer.vocab_size": 300, "model.norm_position": "post",
                "model.embed_norm": True, "model.final_norm": False, "model.attention_dropout": 0.1,
                "trainer.val_check_interval": 1, "trainer.checkpoint_every_n_steps": 1, "data.limit_test": 8}
    record = tasklight.run("intent", out=tmp_path / "run", max_steps=1, quiet=True, set=settings)
    model = record["model"]
    assert (model["norm_position"], model["embed_norm"], model["final_norm"], model["attention_dropout"]) == (
        "post", True, False, 0.1)


def _with_budgets(name: str, budgets: dict) -> object:
    base = get_platform().tasks.get(name)
    return type("Budgeted", (type(base),), {"budget_settings": budgets})()


def test_the_budget_settings_entry_that_the_max_time_fits_under_applies_on_real_data_only():
    task = _with_budgets("generation", {
        "00:00:05:00": {"model.preset": "mini", "trainer.lr": 0.003},
        "00:01:00:00": {"trainer.lr": 0.0015},
    })
    def resolved(data="input.txt", **kwargs):
        config = resolve_config(task, data, **kwargs)
        return config["model.preset"], config["trainer.lr"]

    assert resolved(cli={"trainer.max_time": "00:00:02:10"}) == ("mini", 0.003)
    assert resolved(cli={"trainer.max_time": "00:00:05:00"}) == ("mini", 0.003)  # the limit itself fits
    assert resolved(cli={"trainer.max_time": "00:00:20:00"}) == ("small", 0.0015)
    assert resolved(cli={"trainer.max_time": "00:02:00:00"})[1] == resolved()[1] != 0.0015  # over every limit
    assert resolved(overrides=["trainer.max_time=00:00:01:00"]) == ("mini", 0.003)  # the budget however it is set
    # Anything the user sets wins over the entry; the demo keeps its own settings.
    assert resolved(cli={"trainer.max_time": "00:00:02:00"}, overrides=["trainer.lr=0.01"]) == ("mini", 0.01)
    demo = resolve_config(task, "demo")
    assert resolved("demo", cli={"trainer.max_time": "00:00:02:00"}) == (demo["model.preset"], demo["trainer.lr"])


def test_budget_settings_do_not_apply_when_the_backbone_starts_from_a_checkpoint():
    task = _with_budgets("intent", {"00:00:05:00": {"data.max_tokens": 512}})
    plain = resolve_config(task, "x.jsonl", cli={"trainer.max_time": "00:00:02:00"})
    init = resolve_config(task, "x.jsonl", cli={"trainer.max_time": "00:00:02:00"}, overrides=["model.init=/some/dir"])
    assert plain["data.max_tokens"] == 512 and init["data.max_tokens"] != 512
