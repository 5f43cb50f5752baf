import pytest

from tasklight.errors import UserError
from tasklight.registry import Registry, RegistryClash


def test_unknown_name_suggests_the_closest():
    registry: Registry[int] = Registry("task")
    registry.add("translation", 1, "a")
    registry.add("summarization", 2, "b")
    with pytest.raises(UserError) as err:
        registry.get("translaton")
    assert str(err.value) == "unknown task 'translaton'; did you mean 'translation'? (known: summarization, translation)"


def test_unknown_name_without_close_match_lists_known():
    registry: Registry[int] = Registry("metric")
    registry.add("bleu", 1, "a")
    with pytest.raises(UserError, match=r"^unknown metric 'xyz' \(known: bleu\)$"):
        registry.get("xyz")


def test_clash_names_both_plugins_and_keeps_the_first():
    registry: Registry[int] = Registry("task")
    registry.add("qa", 1, "first")
    with pytest.raises(RegistryClash, match="'qa' from plugin 'second' clashes with the one from plugin 'first'"):
        registry.add("qa", 2, "second")
    assert registry.get("qa") == 1 and registry.owner("qa") == "first"


def test_remove_owner_drops_only_its_items():
    registry: Registry[int] = Registry("task")
    registry.add("a", 1, "p")
    registry.add("b", 2, "q")
    registry.remove_owner("p")
    assert list(registry) == ["b"]
