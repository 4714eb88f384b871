import pytest

from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import Call
from lrtui.spec.parse import parse_call, parse_run


def test_parses_keywords_as_literals():
    call = parse_call("StepLR(step_size=3, gamma=0.5)")
    assert call == Call("StepLR", (("step_size", 3), ("gamma", 0.5)))
    assert str(call) == "StepLR(step_size=3, gamma=0.5)"


def test_bare_name_lists_and_nested_calls():
    assert parse_call("ExponentialLR") == Call("ExponentialLR")
    call = parse_call(
        "SequentialLR(schedulers=[LinearLR(total_iters=2), StepLR(step_size=1)], milestones=[2])"
    )
    inner = call.get("schedulers")
    assert isinstance(inner, tuple) and [c.name for c in inner] == ["LinearLR", "StepLR"]
    assert call.get("milestones") == (2,)


def test_interval_suffix():
    assert parse_run("CyclicLR(base_lr=0.1, max_lr=1.0)@batch")[1] == "batch"
    assert parse_run("StepLR(step_size=1)")[1] is None
    with pytest.raises(SpecError, match="unknown step interval"):
        parse_run("StepLR(step_size=1)@hourly")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("StepLR(3)", "keyword arguments only"),
        ("__import__('os').system('true')", "plain name"),
        ("StepLR(step_size=1+1)", "must be a literal"),
        ("StepLR(**{'a': 1})", r"\*\* arguments"),
        ("StepLR(step_size=1, step_size=2)", "given twice"),
        ("42", "is not a call"),
        ("StepLR(", "not valid syntax"),
        ("", "empty"),
    ],
)
def test_rejects_what_is_not_a_plain_call(text, message):
    with pytest.raises(SpecError, match=message):
        parse_call(text)
