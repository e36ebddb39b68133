import pytest

from engine.errors import InvalidInput
from engine.values import parse_items


def test_typed_values():
    assert parse_items(["a=true", "b=false", "c=42", "d=-3.5", 'e={"x": [1, 2]}', "f=[1,2]", "g=张三",
                        "h=null", "i=007x", "j=", "k=a=b"]) == {
        "a": True, "b": False, "c": 42, "d": -3.5, "e": {"x": [1, 2]}, "f": [1, 2], "g": "张三",
        "h": None, "i": "007x", "j": "", "k": "a=b"}


@pytest.mark.parametrize("item, message", [
    ("novalue", "expected KEY=VALUE"),
    ("=1", "bad --data key ''"),
    ("_x=1", "bad --data key '_x'"),
    ("a b=1", "bad --data key 'a b'"),
    ('j={"x": }', "bad JSON value"),
    ("n=1e999", "number out of range"),
])
def test_bad_values(item, message):
    with pytest.raises(InvalidInput, match=message):
        parse_items([item])
